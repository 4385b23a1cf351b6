"""EditRequest -> OpenAI Images API call -> EditResult, with every limit checked before paying.

Text-to-image goes to `POST /images/generations` (JSON); edits and compositions to
`POST /images/edits` (multipart, inputs in order). The transport, retries, error envelope and
answer parsing come from `apiedit.protocols.openai_images`.

Mask convention: a mask with transparency is sent as OpenAI reads it (transparent = area to
edit); a mask without transparency is read as ComfyUI reads a MASK (white = area to edit) and
converted. Either way it is resized to the first uploaded image, as the API requires.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from apiedit.errors import InvalidInputError, UnsupportedFeatureError
from apiedit.images import image_size, open_image, prepare_upload
from apiedit.protocols import openai_images as api
from apiedit.types import EditRequest, EditResult, ImageData

from .models import Family, family_of
from .sizes import custom_size_problem, resolve_size
from .sizes import model_name as _name

if TYPE_CHECKING:
    from apiedit.settings import ProviderSettings

__all__ = ["custom_size_problem", "edit", "resolve_size"]

MAX_MASK_BYTES = 4 * 1024 * 1024
# request.extra keys forwarded as Images API fields (others are reported, not sent).
# `complexity` (low/medium/high) is new in openai-python 3.57.0 for both endpoints.
_GENERATE_OPTIONS = {
    "background", "output_format", "output_compression", "moderation", "style", "user",
    "safety_identifier", "response_format", "complexity",
}
_EDIT_OPTIONS = {
    "background", "output_format", "output_compression", "input_fidelity", "user",
    "safety_identifier", "response_format", "complexity",
}
COMPLEXITIES = ("low", "medium", "high")
# gif (frame_count, frame_duration_ms) and svg (svg{model, reasoning}) exist since SDK 3.57.0;
# apiedit returns raster images only, so they are refused rather than half-supported.
_RASTER_FORMATS = ("png", "jpeg", "webp")


def _check(request: EditRequest, fam: Family) -> None:
    """The family's hard limits, enforced even for ids no model list knows."""
    name = _name(request.model)
    count = len(request.images)
    if len(request.prompt) > fam.max_prompt:
        raise InvalidInputError(
            f"The prompt has {len(request.prompt):,} characters; {name} takes at most "
            f"{fam.max_prompt:,}. Shorten it."
        )
    if count and not fam.edit:
        raise UnsupportedFeatureError(
            f"{name} cannot edit images (text-to-image only):", hint_id="no_images",
            hint="disconnect the input images or use a GPT image model such as gpt-image-2.5-flare.",
        )
    if count > fam.max_images:
        raise UnsupportedFeatureError(
            f"{name} takes at most {fam.max_images} input image(s); {count} were given."
        )
    if request.n > fam.max_n:
        raise UnsupportedFeatureError(
            f"{name} makes at most {fam.max_n} image(s) per call; {request.n} were asked for."
        )
    if request.mask is not None and not count:
        raise InvalidInputError("A mask needs an input image to apply to.")
    if request.quality and request.quality not in fam.qualities:
        raise UnsupportedFeatureError(
            f"{name} does not support quality {request.quality!r}; choose one of "
            f"{', '.join(fam.qualities)}."
        )


def _options(request: EditRequest, fam: Family, editing: bool) -> tuple[dict[str, Any], list[str]]:
    allowed = _EDIT_OPTIONS if editing else _GENERATE_OPTIONS
    options: dict[str, Any] = {}
    warnings: list[str] = []
    for key, value in request.extra.items():
        if value is None or (key == "markup" and editing):
            continue
        if key not in allowed:
            where = "image edits" if editing else "image generation"
            warnings.append(f"{key!r} is not an OpenAI parameter for {where}; it was not sent.")
        elif key == "response_format" and not fam.url_output:
            warnings.append("GPT image models always return base64; response_format was not sent.")
        elif key == "style" and fam.name != "dall-e-3":
            warnings.append("style applies to dall-e-3 only; it was not sent.")
        elif key == "input_fidelity" and fam.custom_sizes:
            # providers-2026-12.md: omit it for gpt-image-2 (and, UNVERIFIED, its successors)
            warnings.append(f"{fam.name} sets input fidelity itself; input_fidelity was not sent.")
        elif key == "input_fidelity" and request.model.startswith("gpt-image-1-mini") and value != "low":
            raise UnsupportedFeatureError(
                f"{_name(request.model)} takes only input_fidelity 'low'; {value!r} was given."
            )
        elif key == "complexity" and value not in COMPLEXITIES:
            raise UnsupportedFeatureError(
                f"complexity must be one of {', '.join(COMPLEXITIES)}; {value!r} was given."
            )
        elif key == "output_format" and value not in _RASTER_FORMATS:
            raise UnsupportedFeatureError(
                f"output_format {value!r} is not supported by apiedit (it returns raster images); "
                f"use one of {', '.join(_RASTER_FORMATS)}."
            )
        else:
            options[key] = value
    return options, warnings


def _markup(request: EditRequest, fam: Family) -> ImageData | None:
    """`markup`: a transparent PNG over the first image guiding the edit (SDK 3.57.0: "Supports
    GPT Image 2.5. Cannot be combined with mask")."""
    value = request.extra.get("markup")
    if value is None:
        return None
    name = _name(request.model)
    if not request.images:
        raise UnsupportedFeatureError("markup guides an edit: connect the image it is drawn over.")
    if fam.name not in ("gpt-image-2.5", "gpt-image-2.6"):
        raise UnsupportedFeatureError(f"{name} takes no markup (GPT Image 2.5 does).")
    if request.mask is not None:
        raise UnsupportedFeatureError("OpenAI takes a markup or a mask, not both: disconnect one.")
    data = value.data if isinstance(value, ImageData) else bytes(value)
    return ImageData(data, "image/png")


def _prepare_image(image: ImageData, fam: Family, index: int) -> ImageData:
    if fam.square_png_only:
        upload = prepare_upload(image, max_pixels=fam.max_input_pixels, formats=("image/png",))
        w, h = image_size(upload.data)
        if w != h:
            raise UnsupportedFeatureError(
                f"dall-e-2 edits need a square image; input image {index} is {w}x{h}. "
                "Crop it to a square or use a GPT image model."
            )
    else:
        upload = prepare_upload(image, max_pixels=fam.max_input_pixels, prefer="image/jpeg")
    if len(upload.data) > fam.max_upload_bytes:
        raise InvalidInputError(
            f"Input image {index} is {len(upload.data) / 1e6:.1f} MB after encoding; OpenAI "
            f"takes at most {fam.max_upload_bytes // (1024 * 1024)} MB. Use a smaller image."
        )
    return upload


def _prepare_mask(mask: ImageData, size: tuple[int, int]) -> ImageData:
    from PIL import Image

    img = open_image(mask.data)
    alpha = img.getchannel("A") if img.mode == "RGBA" else None
    if alpha is None or alpha.getextrema() == (255, 255):
        # No transparency: a ComfyUI-style mask, white = edit. OpenAI edits where alpha is 0.
        alpha = img.convert("L").point(lambda v: 255 - v)
    if alpha.size != size:
        alpha = alpha.resize(size, Image.Resampling.BILINEAR)
    out = Image.new("RGBA", size, (0, 0, 0, 255))
    out.putalpha(alpha)
    buf = io.BytesIO()
    out.save(buf, "PNG", compress_level=6)
    if buf.tell() > MAX_MASK_BYTES:
        raise InvalidInputError(
            f"The mask is {buf.tell() / 1e6:.1f} MB as PNG; OpenAI takes at most 4 MB. "
            "Use a simpler or smaller mask."
        )
    return ImageData(buf.getvalue(), "image/png")


def edit(request: EditRequest, settings: ProviderSettings) -> EditResult:
    """Run one request: checks, encoding, one paid call, parsing."""
    settings.require_key()
    fam = family_of(request.model)
    _check(request, fam)
    size, warnings = resolve_size(request, fam)
    editing = bool(request.images)
    options, option_warnings = _options(request, fam, editing)
    warnings += option_warnings
    common: dict[str, Any] = {
        "model": request.model, "prompt": request.prompt, "n": request.n, "size": size,
        "quality": request.quality, "options": options,
    }
    if editing:
        settings.report(f"{settings.label}: preparing {len(request.images)} input image(s)")
        images = [_prepare_image(img, fam, i) for i, img in enumerate(request.images, 1)]
        mask = None
        if request.mask is not None:
            mask = _prepare_mask(request.mask, image_size(images[0].data))
        settings.check_cancelled()
        fields, files = api.edit_form(images=images, mask=mask, **common)
        markup = _markup(request, fam)
        if markup is not None:
            files.append(("markup", ("markup.png", markup.data, markup.mime_type)))
        settings.report(f"{settings.label}: editing with {request.model}")
        answer = api.post_edit(settings, fields, files, timeout=request.timeout_s)
    else:
        settings.report(f"{settings.label}: generating with {request.model}")
        answer = api.post_generation(settings, api.generation_body(**common), timeout=request.timeout_s)
    if len(answer.images) < request.n:
        warnings.append(f"Asked for {request.n} images; OpenAI returned {len(answer.images)}.")
    info = {
        **answer.info,
        "endpoint": "edits" if editing else "generations",
        "input_images": len(request.images),
    }
    if size:
        info["requested_size"] = size
    return EditResult(
        images=answer.images,
        provider=settings.provider,
        model=request.model,
        text=answer.text,
        request_id=answer.request_id,
        usage=answer.usage,
        warnings=tuple(warnings),
        info=info,
        raw=answer.raw,
    )
