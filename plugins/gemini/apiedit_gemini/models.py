"""The Gemini image models: families matched by id, dated entries, and live-list recognition.

Sources: reference/providers-2026-12.md (December 2026; it wins over providers.md): Google's
deprecations page (ai.google.dev/gemini-api/docs/deprecations), its changelog
(ai.google.dev/gemini-api/docs/changelog), google-genai 3.6.1's model enum and the Vertex model
pages (input caps 3 / 14). providers.md §4 for the older size tables.

The live list decides which ids exist; these tables only describe them. An image model is
recognised by what the entry says (`supportedGenerationMethods`, output modalities where given)
and by family, never by "image" in its id alone (`gemini-nano-banana-2.1` has none).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs
from apiedit import Capability, ModelInfo
from apiedit.modeltable import Family, ModelTable

__all__ = [
    "CURATED",
    "FAMILIES",
    "TABLE",
    "aspect_ratio_and_resolution",
    "curated_model",
    "family_of",
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
# 3.1 Flash Image and Nano Banana 2.1 add these (changelog 2026-10-06; Vertex 3.1 Flash Image page).
EXTENDED_RATIOS = (*ASPECT_RATIOS, "1:4", "4:1", "1:8", "8:1")
RESOLUTIONS = ("1K", "2K", "4K")  # imageSize, uppercase (SDK 3.6.1); a 512 tier is UNVERIFIED

# gemini-2.5-flash-image answers at one size per aspect ratio (providers.md §4.3).
_FLASH_25_SIZES = {
    "1:1": (1024, 1024), "2:3": (832, 1248), "3:2": (1248, 832), "3:4": (864, 1184),
    "4:3": (1184, 864), "4:5": (896, 1152), "5:4": (1152, 896), "9:16": (768, 1344),
    "16:9": (1344, 768), "21:9": (1536, 672),
}
# Gemini 3 image models at imageSize 1K; 2K and 4K double and quadruple each side.
# UNCONFIRMED: from Google's image-generation page as recalled, not in providers.md; the four
# extended ratios are UNVERIFIED (about 1 MP, sides multiples of 16).
_GEMINI_3_SIZES_1K = {
    "1:1": (1024, 1024), "2:3": (848, 1264), "3:2": (1264, 848), "3:4": (896, 1200),
    "4:3": (1200, 896), "4:5": (928, 1152), "5:4": (1152, 928), "9:16": (768, 1376),
    "16:9": (1376, 768), "21:9": (1584, 672),
    "1:4": (512, 2048), "4:1": (2048, 512), "1:8": (368, 2944), "8:1": (2944, 368),
}
_SCALE = {"1K": 1, "2K": 2, "4K": 4}


def _gemini_3_table(ratios: Iterable[str]) -> dict[str, tuple[str, str]]:
    table = {}
    for resolution, factor in _SCALE.items():
        for ratio in ratios:
            w, h = _GEMINI_3_SIZES_1K[ratio]
            table[f"{w * factor}x{h * factor}"] = (ratio, resolution)
    return table


_SIZE_TABLES: dict[str, dict[str, tuple[str, str | None]]] = {
    "flash-2.5": {f"{w}x{h}": (ratio, None) for ratio, (w, h) in _FLASH_25_SIZES.items()},
    "gemini-3": _gemini_3_table(EXTENDED_RATIOS),  # type: ignore[dict-item]
}


def _template(generation: str, *, max_input_images: int, max_input_pixels: int,
              aspect_ratios: tuple[str, ...] = ASPECT_RATIOS) -> ModelInfo:
    gemini_3 = generation == "gemini-3"
    sizes = ("auto", *(s for s, (r, _) in _SIZE_TABLES[generation].items() if r in aspect_ratios))
    return ModelInfo(
        id="",
        capabilities=IMAGE_CAPS,
        max_input_images=max_input_images,
        sizes=sizes if aspect_ratios else (),
        aspect_ratios=aspect_ratios,
        resolutions=RESOLUTIONS if gemini_3 else (),
        max_n=1,  # no `n`; candidateCount > 1 is refused by the image models (providers.md §4.3)
        max_input_pixels=max_input_pixels,
        # Google: Gemini 3 image models do not reject a turn without its signature (Vertex
        # thought-signatures page); the plugin still replays them verbatim.
        extra={"generation": generation, "thought_signatures_required": gemini_3},
    )


# Input pixel budgets are ours, not Google's: Gemini downsizes large inputs itself, and the
# whole request must stay under about 20 MB of inline data. Input caps: Vertex model pages.
_G3 = _template("gemini-3", max_input_images=14, max_input_pixels=2048 * 2048)
_G3_WIDE = _template("gemini-3", max_input_images=14, max_input_pixels=2048 * 2048,
                     aspect_ratios=EXTENDED_RATIOS)
_FLASH = _template("flash-2.5", max_input_images=3, max_input_pixels=1536 * 1536)

# First match wins. Nano Banana 2.x is the recommended family: its newest current member is the
# default (GA 2026-10-06, the day 3.1 Flash Image was deprecated; changelog).
FAMILIES: tuple[Family, ...] = (
    # UNVERIFIED: Nano Banana 2.1's input cap, taken to be the Gemini 3 family's 14.
    Family("nano-banana", r"^(models/)?gemini-nano-banana-\d", _G3_WIDE, recommended=True),
    Family("gemini-3.1-flash-image", r"^(models/)?gemini-3\.\d+-flash(-lite)?-image", _G3_WIDE),
    Family("gemini-3-image", r"^(models/)?(gemini-3[\w.-]*-image|nano-banana-pro)", _G3),
    Family("gemini-2.5-flash-image", r"^(models/)?gemini-2\.\d+-flash-image", _FLASH),
)
_BY_NAME = {f.name: f for f in FAMILIES}


def _entry(model_id: str, label: str, family: str, *, source: str, **dates: Any) -> ModelInfo:
    base = _BY_NAME[family].describe(model_id, label)
    return attrs.evolve(base, listed=True, extra={**base.extra, "source": source}, **dates)


_CHANGELOG = "ai.google.dev/gemini-api/docs/changelog"
_DEPRECATIONS = "ai.google.dev/gemini-api/docs/deprecations"
_SDK = "google-genai 3.6.1 model enum"
CURATED: list[ModelInfo] = [
    _entry("gemini-nano-banana-2.1", "Nano Banana 2.1", "nano-banana", source=_CHANGELOG,
           released_on="2026-10-06"),
    _entry("gemini-3-pro-image", "Gemini 3 Pro Image (Nano Banana Pro)", "gemini-3-image",
           source=_CHANGELOG, released_on="2026-05-28"),
    _entry("gemini-3.1-flash-image", "Gemini 3.1 Flash Image (Nano Banana 2)",
           "gemini-3.1-flash-image", source=_CHANGELOG, released_on="2026-05-28",
           deprecated_on="2026-10-06", replacement="gemini-nano-banana-2.1"),
    # UNVERIFIED limits: only the id is known (SDK enum, Batch cookbook).
    _entry("gemini-3.1-flash-lite-image", "Gemini 3.1 Flash Lite Image", "gemini-3.1-flash-image",
           source=_SDK),
    _entry("nano-banana-pro-preview", "Nano Banana Pro (preview alias)", "gemini-3-image",
           source=_SDK),
    # Scheduled shutdown 2026-10-02; whether it still answers is UNVERIFIED (deprecations page).
    _entry("gemini-2.5-flash-image", "Gemini 2.5 Flash Image (Nano Banana)",
           "gemini-2.5-flash-image", source=_DEPRECATIONS, shutdown_on="2026-10-02",
           replacement="gemini-nano-banana-2.1"),
    _entry("gemini-3-pro-image-preview", "Gemini 3 Pro Image Preview (shut down)",
           "gemini-3-image", source=_DEPRECATIONS, shutdown_on="2026-06-25",
           replacement="gemini-3-pro-image"),
    _entry("gemini-3.1-flash-image-preview", "Gemini 3.1 Flash Image Preview (shut down)",
           "gemini-3.1-flash-image", source=_DEPRECATIONS, shutdown_on="2026-06-25",
           replacement="gemini-3.1-flash-image"),
    # providers.md §7: retired before 2026.
    attrs.evolve(_entry("gemini-2.5-flash-image-preview", "Gemini 2.5 Flash Image Preview (retired)",
                        "gemini-2.5-flash-image", source="providers.md §7"),
                 retired=True, replacement="gemini-nano-banana-2.1"),
    attrs.evolve(_entry("gemini-2.0-flash-preview-image-generation",
                        "Gemini 2.0 Flash image generation (retired)", "gemini-2.5-flash-image",
                        source="providers.md §7"),
                 retired=True, replacement="gemini-nano-banana-2.1", sizes=(), aspect_ratios=()),
    attrs.evolve(_entry("gemini-2.0-flash-exp-image-generation",
                        "Gemini 2.0 Flash Exp image generation (retired)", "gemini-2.5-flash-image",
                        source="providers.md §7"),
                 retired=True, replacement="gemini-nano-banana-2.1", sizes=(), aspect_ratios=()),
]
TABLE = ModelTable(CURATED, families=FAMILIES)


def _bare(model_id: str) -> str:
    return model_id.removeprefix("models/")


def curated_model(model_id: str) -> ModelInfo | None:
    """The table's entry or family description of an id; None for an id nothing describes."""
    return TABLE.describe(_bare(model_id))


def family_of(model_id: str) -> str | None:
    """The generation whose wire rules apply: 'gemini-3', 'flash-2.5' or None if unknown."""
    known = curated_model(model_id)
    return str(known.extra["generation"]) if known is not None else None


def _outputs_image(entry: dict[str, Any]) -> bool | None:
    """What the entry says about image output, where it says anything (UNVERIFIED field names)."""
    for key in ("outputModalities", "output_modalities", "supportedOutputModalities"):
        value = entry.get(key)
        if isinstance(value, list):
            return any(str(v).upper() == "IMAGE" for v in value)
    return None


def is_image_model(entry: dict[str, Any]) -> bool:
    """An entry serving generateContent that says it outputs images, or whose id a family
    knows; an id containing "image" still counts (providers.md §4.2), Imagen does not."""
    model_id = _bare(str(entry.get("name", "")))
    methods = entry.get("supportedGenerationMethods", entry.get("supported_generation_methods"))
    if methods is not None and "generateContent" not in methods:
        return False
    says = _outputs_image(entry)
    if says is not None:
        return says
    if curated_model(model_id) is not None:
        return True
    return "image" in model_id and not model_id.startswith("imagen")


def live_model_info(entry: dict[str, Any]) -> ModelInfo:
    """A live list entry as ModelInfo; the table merges its limits in for ids it knows. An id
    nothing describes gets conservative limits and `verified=False`."""
    model_id = _bare(str(entry["name"]))
    label = str(entry.get("displayName") or model_id)
    known = curated_model(model_id)
    if known is not None:
        return attrs.evolve(known, label=known.label if known.listed else label)
    return attrs.evolve(
        _FLASH, id=model_id, label=label, sizes=("auto",), aspect_ratios=ASPECT_RATIOS,
        verified=False,
        extra={"generation": "unknown", "thought_signatures_required": False,
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
    if family_of(model_id) == "gemini-3":
        ratio = aspect_ratio if aspect_ratio in _GEMINI_3_SIZES_1K else "1:1"
        w, h = _GEMINI_3_SIZES_1K[ratio]
        factor = _SCALE.get(resolution or "1K", 1)
        return w * factor, h * factor
    return _FLASH_25_SIZES.get(aspect_ratio or "1:1", _FLASH_25_SIZES["1:1"])
