"""The Gemini image models: a curated capability table, and how a live list entry maps to it.

Sources: reference/providers.md §4 (limits page: "maximum of three images" for 2.5 Flash Image,
"maximum of 14" for Gemini 3 Pro Image; imageSize 1K/2K/4K for Gemini 3) and §7 (retirements).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from apiedit import Capability, ModelInfo

__all__ = [
    "CURATED",
    "aspect_ratio_and_resolution",
    "curated_model",
    "is_image_model",
    "live_model_info",
    "output_size",
]

IMAGE_CAPS = (
    Capability.GENERATE
    | Capability.EDIT
    | Capability.MULTI_IMAGE
    | Capability.CONVERSATION
    | Capability.SEED
)

# SDK docstring lists the first eight; Vertex and OpenRouter add 4:5 and 5:4 (providers.md §4.3).
ASPECT_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
RESOLUTIONS = ("1K", "2K", "4K")  # imageSize; must be uppercase

# gemini-2.5-flash-image answers at one size per aspect ratio (providers.md §4.3).
_FLASH_25_SIZES = {
    "1:1": (1024, 1024), "2:3": (832, 1248), "3:2": (1248, 832), "3:4": (864, 1184),
    "4:3": (1184, 864), "4:5": (896, 1152), "5:4": (1152, 896), "9:16": (768, 1344),
    "16:9": (1344, 768), "21:9": (1536, 672),
}
# Gemini 3 image models at imageSize 1K; 2K and 4K double and quadruple each side.
# UNCONFIRMED: from Google's image-generation page as recalled, not in providers.md.
_GEMINI_3_SIZES_1K = {
    "1:1": (1024, 1024), "2:3": (848, 1264), "3:2": (1264, 848), "3:4": (896, 1200),
    "4:3": (1200, 896), "4:5": (928, 1152), "5:4": (1152, 928), "9:16": (768, 1376),
    "16:9": (1376, 768), "21:9": (1584, 672),
}
_SCALE = {"1K": 1, "2K": 2, "4K": 4}


def _gemini_3_table() -> dict[str, tuple[str, str]]:
    table = {}
    for resolution, factor in _SCALE.items():
        for ratio, (w, h) in _GEMINI_3_SIZES_1K.items():
            table[f"{w * factor}x{h * factor}"] = (ratio, resolution)
    return table


_SIZE_TABLES: dict[str, dict[str, tuple[str, str | None]]] = {
    "flash-2.5": {f"{w}x{h}": (ratio, None) for ratio, (w, h) in _FLASH_25_SIZES.items()},
    "gemini-3": _gemini_3_table(),  # type: ignore[dict-item]
}


def _sizes(family: str) -> tuple[str, ...]:
    return ("auto", *_SIZE_TABLES[family])


def _model(
    id: str, label: str, family: str, *, max_input_images: int, max_input_pixels: int,
    retired: bool = False, replacement: str | None = None, aspect_ratios: Iterable[str] = ASPECT_RATIOS,
) -> ModelInfo:
    gemini_3 = family == "gemini-3"
    return ModelInfo(
        id=id,
        label=label,
        capabilities=IMAGE_CAPS,
        max_input_images=max_input_images,
        sizes=_sizes(family) if aspect_ratios else (),
        aspect_ratios=tuple(aspect_ratios),
        resolutions=RESOLUTIONS if gemini_3 else (),
        max_n=1,  # no `n`; candidateCount > 1 is refused by the image models (providers.md §4.3)
        max_input_pixels=max_input_pixels,
        retired=retired,
        replacement=replacement,
        extra={"family": family, "thought_signatures_required": gemini_3},
    )


# Input pixel budgets are ours, not Google's: Gemini downsizes large inputs itself, and the
# whole request must stay under about 20 MB of inline data.
CURATED: list[ModelInfo] = [
    _model("gemini-2.5-flash-image", "Gemini 2.5 Flash Image (Nano Banana)", "flash-2.5",
           max_input_images=3, max_input_pixels=1536 * 1536),
    _model("gemini-3-pro-image-preview", "Gemini 3 Pro Image (Nano Banana Pro)", "gemini-3",
           max_input_images=14, max_input_pixels=2048 * 2048),
    # UNCONFIRMED: the input cap of 3.1 Flash Image is taken to be the Gemini 3 family's 14.
    _model("gemini-3.1-flash-image-preview", "Gemini 3.1 Flash Image (Nano Banana 2)", "gemini-3",
           max_input_images=14, max_input_pixels=2048 * 2048),
    _model("gemini-2.5-flash-image-preview", "Gemini 2.5 Flash Image Preview (retired)", "flash-2.5",
           max_input_images=3, max_input_pixels=1536 * 1536, retired=True,
           replacement="gemini-2.5-flash-image"),
    _model("gemini-2.0-flash-preview-image-generation", "Gemini 2.0 Flash image generation (retired)",
           "flash-2.5", max_input_images=3, max_input_pixels=1536 * 1536, retired=True,
           replacement="gemini-2.5-flash-image", aspect_ratios=()),
    _model("gemini-2.0-flash-exp-image-generation", "Gemini 2.0 Flash Exp image generation (retired)",
           "flash-2.5", max_input_images=3, max_input_pixels=1536 * 1536, retired=True,
           replacement="gemini-2.5-flash-image", aspect_ratios=()),
]
_BY_ID = {m.id: m for m in CURATED}


def curated_model(model_id: str) -> ModelInfo | None:
    return _BY_ID.get(_bare(model_id))


def _bare(model_id: str) -> str:
    return model_id.removeprefix("models/")


def family_of(model_id: str) -> str | None:
    """'gemini-3', 'flash-2.5' or None for an id no table knows."""
    known = curated_model(model_id)
    if known is not None:
        return str(known.extra["family"])
    bare = _bare(model_id)
    if bare.startswith("gemini-3") and "image" in bare:
        return "gemini-3"
    return None


def is_image_model(entry: dict[str, Any]) -> bool:
    """Heuristic from providers.md §4.2: an id containing `image` that serves generateContent."""
    model_id = _bare(str(entry.get("name", "")))
    methods = entry.get("supportedGenerationMethods", entry.get("supported_generation_methods"))
    if methods is not None and "generateContent" not in methods:
        return False
    return "image" in model_id and not model_id.startswith("imagen")


def live_model_info(entry: dict[str, Any]) -> ModelInfo:
    """A live list entry as ModelInfo; unknown models get conservative limits."""
    model_id = _bare(str(entry["name"]))
    known = _BY_ID.get(model_id)
    if known is not None:
        return known
    gemini_3 = family_of(model_id) == "gemini-3"
    return ModelInfo(
        id=model_id,
        label=str(entry.get("displayName") or model_id),
        capabilities=IMAGE_CAPS,
        max_input_images=14 if gemini_3 else 3,
        sizes=_sizes("gemini-3") if gemini_3 else ("auto",),
        aspect_ratios=ASPECT_RATIOS,
        resolutions=RESOLUTIONS if gemini_3 else (),
        max_n=1,
        max_input_pixels=2048 * 2048 if gemini_3 else 1536 * 1536,
        extra={"family": "gemini-3" if gemini_3 else "unknown", "thought_signatures_required": gemini_3,
               "description": str(entry.get("description") or "")[:300]},
    )


def aspect_ratio_and_resolution(model_id: str, size: str) -> tuple[str, str | None] | None:
    """The (aspectRatio, imageSize) a pixel size stands for on this model, or None."""
    family = family_of(model_id)
    tables = [_SIZE_TABLES[family]] if family else list(_SIZE_TABLES.values())
    for table in tables:
        if size in table:
            return table[size]
    return None


def output_size(model_id: str, aspect_ratio: str | None, resolution: str | None) -> tuple[int, int]:
    """The pixel size the model answers with (used by the emulator)."""
    ratio = aspect_ratio if aspect_ratio in ASPECT_RATIOS else "1:1"
    if family_of(model_id) == "gemini-3":
        w, h = _GEMINI_3_SIZES_1K[ratio]
        factor = _SCALE.get(resolution or "1K", 1)
        return w * factor, h * factor
    return _FLASH_25_SIZES[ratio]
