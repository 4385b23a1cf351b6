"""ModelScope image models: a curated table with known limits, and the live list read by name.

ModelScope's `GET /v1/models` has no modality field and whether it lists image (AIGC) models at
all is UNCONFIRMED (reference providers.md §5.2), so image models are recognised by their ids
and everything the table knows wins over what a name suggests.

Per-model settings in `ModelInfo.extra` (JSON-safe, they go to the disk cache):
  accepts_data_urls   send local images as `data:` URLs in `image_url` (UNCONFIRMED, §5.3);
                      without it a local image needs a public URL
  image_url_list      send `image_url` as a list (multi-image editors) instead of one string
  max_side            largest width/height `size` may ask for (API parameter table)
  aspect_ratio_sizes  aspect ratio -> the `size` sent for it (the model card's native sizes)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import attrs
from apiedit import Capability, ModelInfo
from apiedit.modeltable import Family, ModelTable

__all__ = ["CURATED", "FAMILIES", "TABLE", "curated", "infer", "is_image_model", "live_models"]

_KNOBS = Capability.SEED | Capability.NEGATIVE_PROMPT | Capability.STEPS | Capability.GUIDANCE
_T2I = Capability.GENERATE | _KNOBS
_EDIT = Capability.EDIT | _KNOBS
_MULTI = Capability.EDIT | Capability.MULTI_IMAGE | _KNOBS

# Qwen-Image model card: the sizes it was trained on, per aspect ratio.
_QWEN_RATIOS = {
    "1:1": "1328x1328",
    "16:9": "1664x928",
    "9:16": "928x1664",
    "4:3": "1472x1140",
    "3:4": "1140x1472",
    "3:2": "1584x1056",
    "2:3": "1056x1584",
}
# Inputs are downscaled to the area Qwen-Image-Edit works at (~1.3 MP); larger only costs upload.
_EDIT_INPUT_PIXELS = 1328 * 1328
_QWEN_MAX_SIDE = 1664  # "Qwen-Image 64x64-1664x1664" (API parameter table)
_FLUX_MAX_SIDE = 1024  # "FLUX 64x64-1024x1024"
_MAX_PROMPT_CHARS = 1999  # "length < 2000" for prompt and negative_prompt (wire.MAX_PROMPT_CHARS)


def _t2i(model_id: str, label: str, max_side: int | None, ratios: dict[str, str] | None = None) -> ModelInfo:
    return ModelInfo(
        id=model_id,
        label=label,
        capabilities=_T2I,
        aspect_ratios=tuple(ratios or ()),
        max_n=4,  # one image per task; the plugin submits one task per image
        max_prompt_chars=_MAX_PROMPT_CHARS,
        extra={"max_side": max_side, "aspect_ratio_sizes": dict(ratios or {})},
    )


def _editor(
    model_id: str,
    label: str,
    max_images: int,
    *,
    max_side: int | None = _QWEN_MAX_SIDE,
    data_urls: bool = True,
) -> ModelInfo:
    return ModelInfo(
        id=model_id,
        label=label,
        capabilities=_MULTI if max_images > 1 else _EDIT,
        max_input_images=max_images,
        max_n=4,
        max_input_pixels=_EDIT_INPUT_PIXELS,
        max_prompt_chars=_MAX_PROMPT_CHARS,
        extra={
            "max_side": max_side,
            "accepts_data_urls": data_urls,  # UNCONFIRMED (§5.3); the original project relied on it
            "image_url_list": max_images > 1,
        },
    )


def _unconfirmed(model: ModelInfo) -> ModelInfo:
    """An id only third-party code uses: never the default until the live list shows it."""
    return attrs.evolve(model, extra={**model.extra, "unconfirmed_id": True})


CURATED: tuple[ModelInfo, ...] = (
    # official code (modelscope-mcp-server, src/modelscope_mcp_server/tools/aigc.py)
    _t2i("Qwen/Qwen-Image", "Qwen-Image", _QWEN_MAX_SIDE, _QWEN_RATIOS),
    _t2i("MusePublic/489_ckpt_FLUX_1", "FLUX.1 (MusePublic)", _FLUX_MAX_SIDE),
    # third-party code; availability UNCONFIRMED (§5.2)
    _unconfirmed(_t2i("Qwen/Qwen-Image-2512", "Qwen-Image 2512", _QWEN_MAX_SIDE, _QWEN_RATIOS)),
    _unconfirmed(_t2i("Tongyi-MAI/Z-Image-Turbo", "Z-Image-Turbo", None)),
    _unconfirmed(_t2i("black-forest-labs/FLUX.1-Krea-dev", "FLUX.1 Krea [dev]", _FLUX_MAX_SIDE)),
    _unconfirmed(_editor("Qwen/Qwen-Image-Edit", "Qwen-Image-Edit", 1)),
    # 2509 and later take 1-3 images (model cards); quality drops beyond 3 (vllm-omni #2679)
    _unconfirmed(_editor("Qwen/Qwen-Image-Edit-2509", "Qwen-Image-Edit 2509 (1-3 images)", 3)),
    _unconfirmed(_editor("Qwen/Qwen-Image-Edit-2511", "Qwen-Image-Edit 2511 (1-3 images)", 3)),
)

# Qwen-Image is the recommended family (the official MCP server's default text-to-image
# model): its newest confirmed release is the default. Later Qwen-Image-Edit releases inherit
# the 2509 limits.
FAMILIES: tuple[Family, ...] = (
    Family("qwen-image-edit-multi", r"qwen-image-edit-\d{4}", _editor("", "", 3)),
    Family("qwen-image-edit", r"qwen-image-edit$", _editor("", "", 1)),
    Family("qwen-image", r"^Qwen/Qwen-Image(-\d{4})?$", _t2i("", "", _QWEN_MAX_SIDE, _QWEN_RATIOS),
           recommended=True),
)
# The live list may not show image models at all (UNCONFIRMED, §5.2): an empty one says nothing.
TABLE = ModelTable(CURATED, families=FAMILIES, empty_live_is_unknown=True)
_BY_ID = {m.id: m for m in CURATED}

_IMAGE_NAME = re.compile(
    r"qwen-image|z-image|flux|stable-diffusion|sdxl|sd3|kolors|hunyuan-?image|text-to-image|"
    r"image-edit|(?:^|[-_/])t2i(?:$|[-_])",
    re.IGNORECASE,
)
_LATER_QWEN_EDIT = re.compile(r"qwen-image-edit-\d{4}", re.IGNORECASE)
_EDIT_NAME = re.compile(r"edit|kontext", re.IGNORECASE)


def curated(model_id: str) -> ModelInfo | None:
    return _BY_ID.get(model_id)


def is_image_model(model_id: str) -> bool:
    """Whether a live-list id names an image model (the list has no modality field)."""
    return bool(_IMAGE_NAME.search(model_id))


def infer(model_id: str) -> ModelInfo:
    """Capabilities guessed from the id of a model the table does not know yet."""
    if _LATER_QWEN_EDIT.search(model_id):  # a later Qwen-Image-Edit release: multi-image like 2509
        base = _editor(model_id, model_id, 3)
    elif _EDIT_NAME.search(model_id):
        # not a Qwen editor: data URLs are unproven there, so local images need public URLs
        base = _editor(model_id, model_id, 1, max_side=None, data_urls=False)
    else:
        base = _t2i(model_id, model_id, None)
    return attrs.evolve(base, verified=False, extra={**base.extra, "inferred": True})


def live_models(body: Any) -> list[ModelInfo]:
    """Image models from an OpenAI-style list body; curated entries keep their known limits."""
    data: Iterable[Any] = body.get("data", ()) if isinstance(body, dict) else ()
    found: list[ModelInfo] = []
    for item in data:
        model_id = item.get("id") if isinstance(item, dict) else None
        if isinstance(model_id, str) and model_id.strip() and is_image_model(model_id):
            found.append(curated(model_id) or infer(model_id.strip()))
    return found
