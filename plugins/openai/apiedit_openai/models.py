"""OpenAI's image models and their real limits, as data.

Sources: the OpenAI OpenAPI spec of 2026-08-21 (`CreateImageRequest`, `CreateImageEditRequest`),
openai-python 3.54.0 docstrings (the gpt-image-2.5 family) and openai-python 3.57.0
(`types/image_model.py`: gpt-image-2.6-*, "GPT Image 1 was shut down on October 23, 2026",
"dall-e-2, dall-e-3: retired on May 12, 2026"; providers-2026-12.md). `/models` has no
capability field, so a live-only model gets the limits of its family, recognised by id prefix.

Default (by rule, `apiedit.modelpolicy.choose_default`): the newest current model of the
GPT Image 2.5 family, whose limits are documented; 2.6 is newer but its limits are UNVERIFIED.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any

import attrs
from apiedit.modeltable import Family as TableFamily
from apiedit.modeltable import ModelTable
from apiedit.types import Capability, ModelInfo

__all__ = [
    "CURATED",
    "FAMILIES",
    "IMAGE_MODEL_PREFIXES",
    "TABLE",
    "Family",
    "curated_by_id",
    "family_of",
    "model_from_live",
    "with_live_status",
]

IMAGE_MODEL_PREFIXES = ("gpt-image-", "dall-e-", "chatgpt-image-")
STANDARD_SIZES = ("auto", "1024x1024", "1536x1024", "1024x1536")
GPT_QUALITIES = ("auto", "low", "medium", "high")

# Custom WxH sizes of gpt-image-2 and later (spec; ComfyUI's OpenAI node checks the same).
CUSTOM_MAX_PIXELS = 8_294_400
CUSTOM_SIZE_RULES: dict[str, int] = {
    "multiple": 16,
    "max_edge": 3840,
    "max_ratio": 3,
    "min_pixels": 655_360,
    "max_pixels": CUSTOM_MAX_PIXELS,
}
# Aspect ratio presets mapped to sizes, so an aspect-ratio widget works with a sizes-only API.
STANDARD_RATIOS = {"1:1": "1024x1024", "3:2": "1536x1024", "2:3": "1024x1536"}
CUSTOM_RATIOS = ("1:1", "3:2", "2:3", "4:3", "3:4", "16:9", "9:16", "21:9", "9:21")
RESOLUTION_PIXELS = {"1K": 1024 * 1024, "2K": 2048 * 2048, "4K": CUSTOM_MAX_PIXELS}


@attrs.frozen
class Family:
    """Limits shared by a group of models; enforced by the plugin even for unlisted ids."""

    name: str
    generate: bool = True
    edit: bool = True
    max_images: int = 16
    max_n: int = 10
    max_prompt: int = 32_000
    sizes: tuple[str, ...] = STANDARD_SIZES  # empty with custom_sizes: any valid WxH
    custom_sizes: bool = False
    qualities: tuple[str, ...] = GPT_QUALITIES
    square_png_only: bool = False  # dall-e-2 edits: one square PNG < 4 MB
    max_upload_bytes: int = 50 * 1024 * 1024
    max_input_pixels: int = 2048 * 2048  # inputs are downscaled to this (ComfyUI does the same)
    url_output: bool = False  # DALL-E answers with URLs unless b64_json is asked for


GPT_STANDARD = Family("gpt-image")
GPT_CUSTOM = Family(
    "gpt-image-2", sizes=(), custom_sizes=True, max_input_pixels=CUSTOM_MAX_PIXELS
)
GPT_25 = attrs.evolve(GPT_CUSTOM, name="gpt-image-2.5", qualities=(*GPT_QUALITIES, "xhigh", "max"))
# UNVERIFIED: 2.6's limits are documented for 2.x/2.5 only; taken to be 2.5's (SDK 3.57.0).
GPT_26 = attrs.evolve(GPT_25, name="gpt-image-2.6")
DALL_E_3 = Family(
    "dall-e-3", edit=False, max_images=0, max_n=1, max_prompt=4000,
    sizes=("1024x1024", "1792x1024", "1024x1792"), qualities=("standard", "hd"), url_output=True,
)
DALL_E_2 = Family(
    "dall-e-2", max_images=1, max_prompt=1000, sizes=("256x256", "512x512", "1024x1024"),
    qualities=("standard",), square_png_only=True, max_upload_bytes=4 * 1024 * 1024,
    max_input_pixels=1024 * 1024, url_output=True,
)


def family_of(model: str) -> Family:
    """The family whose limits apply to `model` (by id prefix; unknown ids count as GPT image)."""
    if model.startswith("dall-e-3"):
        return DALL_E_3
    if model.startswith("dall-e-2"):
        return DALL_E_2
    if model.startswith("gpt-image-2.6"):
        return GPT_26
    if model.startswith("gpt-image-2.5"):
        return GPT_25
    if model.startswith("gpt-image-2"):
        return GPT_CUSTOM
    return GPT_STANDARD


def _info(
    model_id: str, label: str, *, retired: bool = False, replacement: str | None = None,
    shutdown_date: str | None = None, listed: bool = True, released_on: str | None = None,
) -> ModelInfo:
    fam = family_of(model_id)
    caps = Capability.NONE
    if fam.generate:
        caps |= Capability.GENERATE
    if fam.edit:
        caps |= Capability.EDIT | Capability.MASK
        if fam.max_images > 1:
            caps |= Capability.MULTI_IMAGE
    ratios: tuple[str, ...] = ()
    resolutions: tuple[str, ...] = ()
    if fam.custom_sizes:
        ratios, resolutions = CUSTOM_RATIOS, tuple(RESOLUTION_PIXELS)
    elif fam.sizes == STANDARD_SIZES:
        ratios = tuple(STANDARD_RATIOS)
    extra: dict[str, Any] = {"family": fam.name, "qualities": list(fam.qualities)}
    if fam.custom_sizes:
        extra["custom_sizes"] = dict(CUSTOM_SIZE_RULES)
        extra["size_presets"] = list(STANDARD_SIZES)
    if fam.name in ("gpt-image-2.5", "gpt-image-2.6"):
        extra["markup"] = True  # SDK 3.57.0: "Supports GPT Image 2.5" (2.6 UNVERIFIED)
    return ModelInfo(
        id=model_id,
        label=label,
        capabilities=caps,
        max_input_images=fam.max_images,
        sizes=fam.sizes,
        aspect_ratios=ratios,
        resolutions=resolutions,
        max_n=fam.max_n,
        max_input_pixels=fam.max_input_pixels,
        max_prompt_chars=fam.max_prompt,
        retired=retired,
        replacement=replacement,
        listed=listed,
        extra=extra,
        shutdown_on=shutdown_date,
        released_on=released_on,
    )


# Order breaks ties in the default rule; retired entries stay so saved workflows get a clear error.
CURATED: list[ModelInfo] = [
    _info("gpt-image-2.5-flare", "GPT Image 2.5 Flare"),
    _info("gpt-image-2.5-sunburst", "GPT Image 2.5 Sunburst"),
    _info("gpt-image-2.6-flare", "GPT Image 2.6 Flare (limits unverified)"),
    _info("gpt-image-2.6-sunburst", "GPT Image 2.6 Sunburst (limits unverified)"),
    _info("gpt-image-2", "GPT Image 2"),
    _info("gpt-image-1.5", "GPT Image 1.5"),
    _info("gpt-image-1-mini", "GPT Image 1 mini"),
    _info("chatgpt-image-latest", "ChatGPT Image (latest)"),
    _info("gpt-image-2-2026-04-21", "GPT Image 2 (2026-04-21)", released_on="2026-04-21"),
    _info("gpt-image-2.5-flare-2026-09-08", "GPT Image 2.5 Flare (2026-09-08)", released_on="2026-09-08"),
    _info("gpt-image-2.5-sunburst-2026-09-08", "GPT Image 2.5 Sunburst (2026-09-08)",
          released_on="2026-09-08"),
    _info("gpt-image-1", "GPT Image 1 (shut down)", replacement="gpt-image-2.5-flare",
          shutdown_date="2026-10-23"),
    _info("dall-e-3", "DALL-E 3 (retired)", replacement="gpt-image-1.5", shutdown_date="2026-05-12"),
    _info("dall-e-2", "DALL-E 2 (retired)", replacement="gpt-image-1.5", shutdown_date="2026-05-12"),
]

# Families for ids no list shows yet (ordered: first match wins); 2.5 is the recommended one.
FAMILIES: tuple[TableFamily, ...] = (
    TableFamily("gpt-image-2.6", r"^gpt-image-2\.6", _info("gpt-image-2.6", "")),
    TableFamily("gpt-image-2.5", r"^gpt-image-2\.5", _info("gpt-image-2.5", ""), recommended=True),
    TableFamily("gpt-image-2", r"^gpt-image-2", _info("gpt-image-2", "")),
    TableFamily("gpt-image", r"^(gpt-image-|chatgpt-image-)", _info("gpt-image-1.5", "")),
    TableFamily("dall-e-3", r"^dall-e-3", _info("dall-e-3", "")),
    TableFamily("dall-e-2", r"^dall-e-2", _info("dall-e-2", "")),
)
TABLE = ModelTable(CURATED, families=FAMILIES)


def curated_by_id() -> dict[str, ModelInfo]:
    return {m.id: m for m in CURATED}


def model_from_live(entry: Mapping[str, Any]) -> ModelInfo | None:
    """A ModelInfo for one `/models` entry (with its `shutdown_date`), or None when it is not an
    image model; the table merges its limits in."""
    model_id = entry.get("id")
    if not isinstance(model_id, str) or not model_id.startswith(IMAGE_MODEL_PREFIXES):
        return None
    shutdown = entry.get("shutdown_date")
    return _info(model_id, model_id, shutdown_date=str(shutdown) if shutdown else None)


def with_live_status(model: ModelInfo, today: _dt.date | None = None) -> ModelInfo:
    """Mark a model retired once its shutdown date has passed, naming a GPT image replacement."""
    from apiedit.modelpolicy import is_shut_down

    if not is_shut_down(model, today) or (model.retired and model.replacement):
        return model
    replacement = model.replacement or ("gpt-image-2.5-flare" if model.id != "gpt-image-2.5-flare" else None)
    return attrs.evolve(model, retired=True, replacement=replacement)
