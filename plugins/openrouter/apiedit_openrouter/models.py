"""OpenRouter's image models: a curated table with known limits, and the live-list reader.

Sources: `providers.md` §3 and OpenRouter's image-generation guide (aspect ratios, `image_size`
tiers per model); Google's limits page for Gemini input counts (§4.4). Limits marked
UNCONFIRMED are reasonable readings, not documented per model by OpenRouter.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
from apiedit.modeltable import ModelTable
from apiedit.types import Capability, ModelInfo

__all__ = [
    "CURATED",
    "STANDARD_RATIOS",
    "TABLE",
    "combine",
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

CURATED: list[ModelInfo] = [
    ModelInfo(
        "google/gemini-2.5-flash-image", "Gemini 2.5 Flash Image (Nano Banana)", _CHAT_MODEL,
        # Google: "best results with up to three images"; four are accepted (providers.md §4.4).
        max_input_images=4, aspect_ratios=STANDARD_RATIOS, max_n=MAX_N,
        max_input_pixels=GEMINI_PIXELS,
        extra={**_TEXT_AND_IMAGE, "recommended_max_input_images": 3},
    ),
    ModelInfo(
        "google/gemini-3-pro-image-preview", "Gemini 3 Pro Image (Nano Banana Pro)", _CHAT_MODEL,
        max_input_images=14, aspect_ratios=STANDARD_RATIOS, resolutions=("1K", "2K", "4K"),
        max_n=MAX_N, max_input_pixels=GEMINI_PIXELS, extra=_TEXT_AND_IMAGE,
    ),
    ModelInfo(
        "google/gemini-3.1-flash-image-preview", "Gemini 3.1 Flash Image (Nano Banana 2)",
        _CHAT_MODEL, max_input_images=14, aspect_ratios=EXTENDED_RATIOS,
        resolutions=("0.5K", "1K", "2K", "4K"), max_n=MAX_N, max_input_pixels=GEMINI_PIXELS,
        extra=_TEXT_AND_IMAGE,
    ),
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
    # Retired upstream on 2026-01-15 (providers.md §7); kept so saved workflows get a clear error.
    ModelInfo(
        "google/gemini-2.5-flash-image-preview", "Gemini 2.5 Flash Image Preview (retired)",
        _CHAT_MODEL, max_input_images=4, aspect_ratios=STANDARD_RATIOS, retired=True,
        replacement="google/gemini-2.5-flash-image", extra=_TEXT_AND_IMAGE,
    ),
    ModelInfo(
        "google/gemini-2.5-flash-image-preview:free", "Gemini 2.5 Flash Image Preview, free (retired)",
        _CHAT_MODEL, max_input_images=4, aspect_ratios=STANDARD_RATIOS, retired=True,
        replacement="google/gemini-2.5-flash-image", extra=_TEXT_AND_IMAGE,
    ),
]


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _expired(date: Any, today: datetime.date | None = None) -> bool:
    if not isinstance(date, str) or not date:
        return False
    try:
        when = datetime.date.fromisoformat(date[:10])
    except ValueError:
        return False
    return when <= (today or datetime.date.today())


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
        aspect_ratios=STANDARD_RATIOS, max_n=MAX_N, retired=_expired(expiration), extra=extra,
    )


def combine(curated: Iterable[ModelInfo], live: Iterable[ModelInfo]) -> list[ModelInfo]:
    """Curated models first (their limits are known), updated with the live expiration date;
    then models only the live list knows, in its order."""
    live_by_id = {m.id: m for m in live}
    merged: list[ModelInfo] = []
    for model in curated:
        seen = live_by_id.pop(model.id, None)
        if seen is not None and seen.extra.get("expiration_date"):
            model = attrs.evolve(
                model, retired=model.retired or seen.retired,
                extra={**model.extra, "expiration_date": seen.extra["expiration_date"]},
            )
        merged.append(model)
    merged.extend(live_by_id.values())
    return merged


TABLE = ModelTable(CURATED, merge=combine)


def supports_conversation(model_id: str) -> bool:
    return TABLE.supports(model_id, C.CONVERSATION)


def modalities_for(model: ModelInfo | None) -> list[str]:
    """`["image"]` for image-only models (FLUX, Sourceful...), else `["image", "text"]`."""
    outputs = model.extra.get("output_modalities") if model is not None else None
    if isinstance(outputs, (list, tuple)) and "text" not in outputs:
        return ["image"]
    return ["image", "text"]
