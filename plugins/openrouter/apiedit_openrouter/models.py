"""OpenRouter's image models: a curated table with known limits, and the live-list reader.

Sources: `providers.md` §3 and OpenRouter's image-generation guide (aspect ratios, `image_size`
tiers per model); Google's limits page for Gemini input counts (§4.4); providers-2026-12.md
for Google's December 2026 lifecycle (preview shutdowns 2026-06-25, GA ids, Nano Banana 2.1). Limits marked
UNCONFIRMED are reasonable readings, not documented per model by OpenRouter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
from apiedit.modeltable import Family, ModelTable
from apiedit.types import Capability, ModelInfo

__all__ = [
    "CURATED",
    "FAMILIES",
    "STANDARD_RATIOS",
    "TABLE",
    "modalities_for",
    "model_from_listing",
    "supports_conversation",
]

C = Capability
STANDARD_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
EXTENDED_RATIOS = STANDARD_RATIOS + ("1:4", "4:1", "1:8", "8:1")  # gemini-3.1-flash-image only
GEMINI_PIXELS = 2048 * 2048  # inputs beyond this add upload time, not detail; keeps requests small
MAX_N = 8  # chat has no `n`: apiedit makes n parallel calls, each billed once
LIVE_MAX_INPUTS = 4  # UNCONFIRMED: /models does not say how many images a model takes

_CHAT_MODEL = C.GENERATE | C.EDIT | C.MULTI_IMAGE | C.CONVERSATION
_TEXT_AND_IMAGE = {"output_modalities": ["image", "text"]}

_GOOGLE_SHUTDOWN = "2026-06-25"  # Google's deprecations page: the -preview image models
# Families first (a new version of a known family inherits its limits); the Gemini image
# family is the recommended one: its newest current member is the default.
_G3 = ModelInfo("", "", _CHAT_MODEL, max_input_images=14, aspect_ratios=STANDARD_RATIOS,
                resolutions=("1K", "2K", "4K"), max_n=MAX_N, max_input_pixels=GEMINI_PIXELS,
                extra=_TEXT_AND_IMAGE)
_G3_WIDE = attrs.evolve(_G3, aspect_ratios=EXTENDED_RATIOS, resolutions=("0.5K", "1K", "2K", "4K"))
FAMILIES: tuple[Family, ...] = (
    Family("google-nano-banana", r"^google/gemini-nano-banana-\d", _G3_WIDE, recommended=True),
    Family("google-gemini-3.1-flash-image", r"^google/gemini-3\.\d+-flash(-lite)?-image", _G3_WIDE),
    Family("google-gemini-3-image", r"^google/(gemini-3[\w.-]*-image|nano-banana-pro)", _G3),
    Family("google-gemini-2.5-flash-image", r"^google/gemini-2\.\d+-flash-image",
           attrs.evolve(_G3, max_input_images=4, resolutions=(),
                        extra={**_TEXT_AND_IMAGE, "recommended_max_input_images": 3})),
)


def _guess(model: ModelInfo) -> ModelInfo:
    """A slug that mirrors Google's GA id but that no source confirms on OpenRouter (UNVERIFIED,
    providers-2026-12.md): listed, never the default until the live list shows it."""
    return attrs.evolve(model, extra={**model.extra, "unconfirmed_id": True})


CURATED: list[ModelInfo] = [
    _guess(attrs.evolve(_G3_WIDE, id="google/gemini-nano-banana-2.1", label="Nano Banana 2.1",
                        released_on="2026-10-06")),
    _guess(attrs.evolve(_G3, id="google/gemini-3-pro-image", label="Gemini 3 Pro Image (Nano Banana Pro)",
                        released_on="2026-05-28")),
    _guess(attrs.evolve(_G3_WIDE, id="google/gemini-3.1-flash-image",
                        label="Gemini 3.1 Flash Image (Nano Banana 2)", released_on="2026-05-28",
                        deprecated_on="2026-10-06", replacement="google/gemini-nano-banana-2.1")),
    # UNCONFIRMED: input count (OpenAI's Images API takes 16) and which aspect ratios OpenRouter
    # maps onto GPT image sizes (1024x1024, 1024x1536, 1536x1024).
    ModelInfo(
        "openai/gpt-5-image", "GPT-5 Image", _CHAT_MODEL, max_input_images=16,
        aspect_ratios=("1:1", "2:3", "3:2"), max_n=MAX_N, extra=_TEXT_AND_IMAGE,
    ),
    ModelInfo(
        "openai/gpt-5-image-mini", "GPT-5 Image Mini", _CHAT_MODEL, max_input_images=16,
        aspect_ratios=("1:1", "2:3", "3:2"), max_n=MAX_N, extra=_TEXT_AND_IMAGE,
    ),
    # Image-only output: `modalities: ["image"]`. UNCONFIRMED: 8 references (BFL's limit) and
    # whether history reaches the model, so no CONVERSATION flag.
    ModelInfo(
        "black-forest-labs/flux.2-pro", "FLUX.2 [pro]", C.GENERATE | C.EDIT | C.MULTI_IMAGE,
        max_input_images=8, aspect_ratios=STANDARD_RATIOS, max_n=MAX_N,
        extra={"output_modalities": ["image"]},
    ),
    # Google's scheduled shutdown 2026-10-02 (deprecations page; whether OpenRouter still routes
    # it is UNVERIFIED: the live list's expiration_date wins when it gives one).
    attrs.evolve(_G3, id="google/gemini-2.5-flash-image", label="Gemini 2.5 Flash Image (Nano Banana)",
                 max_input_images=4, resolutions=(), shutdown_on="2026-10-02",
                 replacement="google/gemini-nano-banana-2.1",
                 extra={**_TEXT_AND_IMAGE, "recommended_max_input_images": 3}),
    attrs.evolve(_G3, id="google/gemini-3-pro-image-preview", label="Gemini 3 Pro Image Preview (shut down)",
                 shutdown_on=_GOOGLE_SHUTDOWN, replacement="google/gemini-3-pro-image"),
    attrs.evolve(_G3_WIDE, id="google/gemini-3.1-flash-image-preview",
                 label="Gemini 3.1 Flash Image Preview (shut down)", shutdown_on=_GOOGLE_SHUTDOWN,
                 replacement="google/gemini-3.1-flash-image"),
    # Retired upstream on 2026-01-15 (providers.md §7); kept so saved workflows get a clear error.
    ModelInfo(
        "google/gemini-2.5-flash-image-preview", "Gemini 2.5 Flash Image Preview (retired)",
        _CHAT_MODEL, max_input_images=4, aspect_ratios=STANDARD_RATIOS, retired=True,
        replacement="google/gemini-nano-banana-2.1", extra=_TEXT_AND_IMAGE,
    ),
    ModelInfo(
        "google/gemini-2.5-flash-image-preview:free", "Gemini 2.5 Flash Image Preview, free (retired)",
        _CHAT_MODEL, max_input_images=4, aspect_ratios=STANDARD_RATIOS, retired=True,
        replacement="google/gemini-nano-banana-2.1", extra=_TEXT_AND_IMAGE,
    ),
]


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def model_from_listing(entry: Mapping[str, Any]) -> ModelInfo | None:
    """A `/models` entry as ModelInfo, or None when the model cannot output images.

    Capabilities follow `architecture`: image input means it can edit; text output means it is
    a chat model that keeps a conversation; `seed` in `supported_parameters` means it takes one.
    """
    model_id = entry.get("id")
    arch: dict[str, Any] = entry["architecture"] if isinstance(entry.get("architecture"), dict) else {}
    outputs = _strings(arch.get("output_modalities"))
    if not isinstance(model_id, str) or "image" not in outputs:
        return None
    inputs = _strings(arch.get("input_modalities")) or ["text"]
    caps = C.GENERATE
    if "image" in inputs:
        caps |= C.EDIT | C.MULTI_IMAGE
    if "text" in outputs:
        caps |= C.CONVERSATION
    if "seed" in _strings(entry.get("supported_parameters")):
        caps |= C.SEED
    expiration = entry.get("expiration_date")
    extra = {"output_modalities": outputs, "input_modalities": inputs}
    if expiration:
        extra["expiration_date"] = expiration
    name = entry.get("name") if isinstance(entry.get("name"), str) else model_id
    return ModelInfo(
        model_id, name, caps,
        max_input_images=LIVE_MAX_INPUTS if "image" in inputs else 0,
        aspect_ratios=STANDARD_RATIOS, max_n=MAX_N, extra=extra, verified=False,
        shutdown_on=str(expiration)[:10] if expiration else None,
    )


TABLE = ModelTable(CURATED, families=FAMILIES)


def supports_conversation(model_id: str) -> bool:
    return TABLE.supports(model_id, C.CONVERSATION)


def modalities_for(model: ModelInfo | None) -> list[str]:
    """`["image"]` for image-only models (FLUX, Sourceful...), else `["image", "text"]`."""
    outputs = model.extra.get("output_modalities") if model is not None else None
    if isinstance(outputs, (list, tuple)) and "text" not in outputs:
        return ["image"]
    return ["image", "text"]
