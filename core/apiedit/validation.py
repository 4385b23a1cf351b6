"""Check a request against the model's declared limits before any money is spent.

Anything that would change the picture (too many images, a mask, a size the model lacks) is an
error; knobs that do not matter for correctness (seed, steps...) become warnings in the result.
Nothing is dropped silently.
"""

from __future__ import annotations

from .errors import InvalidInputError, UnsupportedFeatureError
from .types import Capability, EditRequest, ModelInfo, ProviderInfo

__all__ = ["check_request"]

_SOFT_KNOBS = (
    ("seed", Capability.SEED, "a seed"),
    ("negative_prompt", Capability.NEGATIVE_PROMPT, "a negative prompt"),
    ("steps", Capability.STEPS, "a step count"),
    ("guidance", Capability.GUIDANCE, "a guidance scale"),
    ("strength", Capability.STRENGTH, "an edit strength"),
    ("watermark", Capability.WATERMARK, "a watermark switch"),
)


def _choices(values: tuple[str, ...]) -> str:
    return ", ".join(values)


def check_request(request: EditRequest, model: ModelInfo, provider: ProviderInfo) -> list[str]:
    """Raise for what the model cannot do; return warnings for ignored harmless knobs."""
    name = f"{provider.label} model {model.id!r}"
    count = len(request.images)
    if model.retired:
        instead = f" Use {model.replacement!r} instead." if model.replacement else ""
        raise UnsupportedFeatureError(f"{name} has been retired by {provider.label}.{instead}")
    if not request.prompt.strip():
        raise InvalidInputError("The prompt is empty: describe the image you want or the edit to make.")
    limit = model.max_prompt_chars
    if limit is not None and len(request.prompt) > limit:
        raise InvalidInputError(
            f"The prompt has {len(request.prompt):,} characters; {name} takes at most "
            f"{limit:,}. Shorten it (nothing was sent)."
        )
    if count == 0 and not model.supports(Capability.GENERATE):
        raise UnsupportedFeatureError(f"{name} only edits images: connect at least one input image.")
    if count >= 1 and not model.supports(Capability.EDIT):
        raise UnsupportedFeatureError(
            f"{name} cannot edit images (text-to-image only): disconnect the input images or pick "
            "an editing model."
        )
    if count > 1 and not model.supports(Capability.MULTI_IMAGE):
        raise UnsupportedFeatureError(f"{name} takes one input image; {count} were given.")
    if model.max_input_images and count > model.max_input_images:
        raise UnsupportedFeatureError(
            f"{name} takes at most {model.max_input_images} input images; {count} were given."
        )
    if request.mask is not None:
        if not model.supports(Capability.MASK):
            raise UnsupportedFeatureError(f"{name} does not take a mask: disconnect it.")
        if count == 0:
            raise InvalidInputError("A mask needs an input image to apply to.")
    if request.history and not model.supports(Capability.CONVERSATION):
        raise UnsupportedFeatureError(
            f"{name} does not keep a conversation; continue by feeding the last image back instead."
        )
    if request.n > model.max_n:
        raise UnsupportedFeatureError(
            f"{name} makes at most {model.max_n} image(s) per call; {request.n} were asked for."
        )
    if request.size and model.sizes and request.size not in model.sizes:
        raise UnsupportedFeatureError(
            f"{name} does not support size {request.size}; choose one of {_choices(model.sizes)}."
        )
    if request.aspect_ratio:
        if not model.aspect_ratios:
            raise UnsupportedFeatureError(
                f"{name} does not take an aspect ratio; set a size instead or leave it empty."
            )
        if request.aspect_ratio not in model.aspect_ratios:
            raise UnsupportedFeatureError(
                f"{name} does not support aspect ratio {request.aspect_ratio}; choose one of "
                f"{_choices(model.aspect_ratios)}."
            )
    if request.resolution and request.resolution not in model.resolutions:
        choices = _choices(model.resolutions) if model.resolutions else "none (leave it empty)"
        raise UnsupportedFeatureError(
            f"{name} does not support resolution {request.resolution}; choose {choices}."
        )
    warnings = []
    for field, capability, what in _SOFT_KNOBS:
        value = getattr(request, field)
        if value not in (None, "") and not model.supports(capability):
            warnings.append(f"{name} does not take {what}; {field} was not sent.")
    return warnings
