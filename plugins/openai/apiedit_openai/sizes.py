"""Which `size` an OpenAI request sends: the explicit size checked against the model family, or
one derived from aspect ratio and resolution.

A module of its own so the price badge (`prices.py`, built with the ComfyUI schema) can apply
the plugin's own size rule without importing the wire code and its HTTP and image modules.
"""

from __future__ import annotations

import math

from apiedit.errors import UnsupportedFeatureError
from apiedit.types import EditRequest

from .models import (
    CUSTOM_RATIOS,
    CUSTOM_SIZE_RULES,
    RESOLUTION_PIXELS,
    STANDARD_RATIOS,
    STANDARD_SIZES,
    Family,
)

__all__ = ["custom_size_problem", "model_name", "resolve_size"]


def model_name(model: str) -> str:
    """How messages name the model."""
    return f"OpenAI model {model!r}"


def custom_size_problem(size: str) -> str | None:
    """Why `size` is not a valid custom WxH for gpt-image-2 and later, or None if it is."""
    r = CUSTOM_SIZE_RULES
    try:
        w, h = (int(v) for v in size.lower().split("x"))
    except ValueError:
        return "it is not WIDTHxHEIGHT"
    if w % r["multiple"] or h % r["multiple"]:
        return f"width and height must be multiples of {r['multiple']}"
    if max(w, h) > r["max_edge"]:
        return f"the longer edge must be at most {r['max_edge']} pixels"
    if max(w, h) > r["max_ratio"] * min(w, h):
        return "the aspect ratio must be between 1:3 and 3:1"
    if not r["min_pixels"] <= w * h <= r["max_pixels"]:
        return f"the total pixels must be between {r['min_pixels']:,} and {r['max_pixels']:,}"
    return None


def _custom_size_for(ratio: str, resolution: str | None) -> str:
    a, b = (float(v) for v in ratio.split(":"))
    pixels = RESOLUTION_PIXELS[resolution or "1K"]
    w, h = math.sqrt(pixels * a / b), math.sqrt(pixels * b / a)
    scale = min(1.0, CUSTOM_SIZE_RULES["max_edge"] / max(w, h))
    step = CUSTOM_SIZE_RULES["multiple"]
    near = [max(step, round(v * scale / step) * step) for v in (w, h)]
    if near[0] * near[1] > CUSTOM_SIZE_RULES["max_pixels"]:
        near = [int(round(v * scale, 6)) // step * step for v in (w, h)]
    return f"{near[0]}x{near[1]}"


def resolve_size(request: EditRequest, fam: Family) -> tuple[str | None, list[str]]:
    """The `size` to send: the explicit size, else one derived from aspect ratio and resolution."""
    warnings: list[str] = []
    name = model_name(request.model)
    if request.size:
        if request.aspect_ratio or request.resolution:
            warnings.append(
                f"Size {request.size} was used; the aspect ratio / resolution was not sent "
                "(OpenAI takes only a size)."
            )
        size = request.size
        if fam.custom_sizes and size not in STANDARD_SIZES:
            problem = custom_size_problem(size)
            if problem:
                raise UnsupportedFeatureError(
                    f"{name} cannot make {size} images: {problem}. Try 1024x1024, 1536x1024, "
                    "1024x1536, auto, or a size like 2048x1152."
                )
        elif fam.sizes and size not in fam.sizes:
            raise UnsupportedFeatureError(
                f"{name} does not support size {size}; choose one of {', '.join(fam.sizes)}."
            )
        return size, warnings
    if not (request.aspect_ratio or request.resolution):
        return None, warnings
    ratio = request.aspect_ratio or "1:1"
    if fam.custom_sizes:
        if ratio not in CUSTOM_RATIOS or (request.resolution or "1K") not in RESOLUTION_PIXELS:
            raise UnsupportedFeatureError(
                f"{name} supports aspect ratios {', '.join(CUSTOM_RATIOS)} at resolutions "
                f"{', '.join(RESOLUTION_PIXELS)}; or give an exact size such as 2048x1152."
            )
        return _custom_size_for(ratio, request.resolution), warnings
    if fam.sizes == STANDARD_SIZES and ratio in STANDARD_RATIOS and not request.resolution:
        return STANDARD_RATIOS[ratio], warnings
    raise UnsupportedFeatureError(
        f"{name} takes only these sizes: {', '.join(fam.sizes)}; set a size instead of an "
        "aspect ratio or resolution."
    )
