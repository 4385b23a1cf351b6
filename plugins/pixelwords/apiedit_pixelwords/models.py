"""PixelWords' image models: the curated reseller ids and the live-list filter.

UNCONFIRMED throughout: PixelWords publishes no documentation (`providers.md` §6). The ids are
the ones the original project hard-coded that really make images (`original.md` §2.3); their
limits are the original's (up to 4 input images) unless the upstream model is known.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apiedit.modeltable import Family, ModelTable
from apiedit.types import Capability, ModelInfo

__all__ = ["CURATED", "FAMILIES", "TABLE", "model_from_listing", "supports_conversation"]

C = Capability
MAX_N = 8  # chat has no `n`: apiedit makes n parallel calls, each billed once
INPUTS = 4  # what the original project sent; the relay's real limit is unknown
GEMINI_PIXELS = 2048 * 2048  # Gemini gains no detail beyond this; smaller uploads through the relay
_GEMINI = C.GENERATE | C.EDIT | C.MULTI_IMAGE | C.CONVERSATION
_COMPOSER = C.GENERATE | C.EDIT | C.MULTI_IMAGE

CURATED: list[ModelInfo] = [
    ModelInfo("gemini-2.5-flash-image", "Gemini 2.5 Flash Image", _GEMINI,
              max_input_images=INPUTS, max_n=MAX_N, max_input_pixels=GEMINI_PIXELS),
    # Third-party code calls the relay with this id (providers-2026-12.md, UNVERIFIED).
    ModelInfo("gemini-2.5-flash-image-vip", "Gemini 2.5 Flash Image VIP", _GEMINI,
              max_input_images=INPUTS, max_n=MAX_N, max_input_pixels=GEMINI_PIXELS),
    # Not a Google id: resellers' "HD" tier of the same model (providers.md §6.2).
    ModelInfo("gemini-2.5-flash-image-hd", "Gemini 2.5 Flash Image HD", _GEMINI,
              max_input_images=INPUTS, max_n=MAX_N, max_input_pixels=GEMINI_PIXELS),
    ModelInfo("gpt-4o-image", "GPT-4o Image", _COMPOSER, max_input_images=INPUTS, max_n=MAX_N),
    ModelInfo("gpt-4o-image-vip", "GPT-4o Image VIP", _COMPOSER, max_input_images=INPUTS, max_n=MAX_N),
    ModelInfo("flux-kontext-max", "FLUX.1 Kontext [max]", C.GENERATE | C.EDIT,
              max_input_images=1, max_n=MAX_N),
    ModelInfo("flux-kontext-dev", "FLUX.1 Kontext [dev]", C.GENERATE | C.EDIT,
              max_input_images=1, max_n=MAX_N),
    ModelInfo("seededit", "SeedEdit", C.EDIT, max_input_images=1, max_n=MAX_N),
    ModelInfo("recraft-v3", "Recraft V3", C.GENERATE, max_n=MAX_N),
    ModelInfo("hidream-i1", "HiDream-I1", C.GENERATE, max_n=MAX_N),
    ModelInfo("grok-3-imageGen", "Grok 3 image generation", C.GENERATE, max_n=MAX_N),
    # Google retired the upstream model on 2026-01-15 (providers.md §7).
    ModelInfo("gemini-2.5-flash-image-preview", "Gemini 2.5 Flash Image Preview (retired)",
              _GEMINI, max_input_images=INPUTS, retired=True,
              replacement="gemini-2.5-flash-image"),
]

# Substrings of ids that make images (the original project's list, minus the vision models
# that only read images) and of ids that certainly do not.
_IMAGE_HINTS = (
    "image", "flux", "dall-e", "dalle", "mj-", "midjourney", "seededit", "seedream", "recraft",
    "hidream", "ideogram", "kling_image", "sd3", "stable-diffusion", "imagen", "kontext",
    "playground", "nano-banana",
)
_NOT_IMAGE = ("vision", "embedding", "glm-4v", "llava", "-vl", "tts", "whisper", "audio", "video",
              "understanding")


def model_from_listing(entry: Mapping[str, Any]) -> ModelInfo | None:
    """An OpenAI-style `/models` entry as ModelInfo, or None when the id is not an image model.

    The list has no capability field, so the id decides; unknown models get the original
    project's limits (text-to-image and up to 4 input images, no native conversation).
    """
    model_id = entry.get("id")
    if not isinstance(model_id, str) or not model_id:
        return None
    lowered = model_id.lower()
    if not any(h in lowered for h in _IMAGE_HINTS) or any(n in lowered for n in _NOT_IMAGE):
        return None
    caps = _GEMINI if lowered.startswith("gemini") else _COMPOSER
    owner = entry.get("owned_by") if isinstance(entry.get("owned_by"), str) else None
    return ModelInfo(model_id, model_id, caps, max_input_images=INPUTS, max_n=MAX_N,
                     extra={"owned_by": owner} if owner else {}, verified=False)


# Relay ids name the upstream model but the relay decides what it serves: Google's shutdown of
# gemini-2.5-flash-image (2026-10-02) is not applied here; the relay's live list is the truth.
# The Gemini image family is recommended: after a refresh its newest listed member (e.g. a
# relay's gemini-3-pro-image) becomes the default.
FAMILIES: tuple[Family, ...] = (
    Family("gemini-image", r"^(gemini-[\w.-]*image|gemini-nano-banana|nano-banana)",
           ModelInfo("", "", _GEMINI, max_input_images=INPUTS, max_n=MAX_N,
                     max_input_pixels=GEMINI_PIXELS), recommended=True),
)
TABLE = ModelTable(CURATED, families=FAMILIES)


def supports_conversation(model_id: str) -> bool:
    return TABLE.supports(model_id, C.CONVERSATION)
