"""Check a request against the model's declared limits before any money is spent.

Anything that would change the picture (too many images, a mask, a size the model lacks) is an
error; knobs that do not matter for correctness (seed, steps...) become warnings in the result.
Nothing is dropped silently.
"""

from __future__ import annotations

from .errors import InvalidInputError, UnsupportedFeatureError
from .modelpolicy import is_shut_down, lifecycle_warning
from .types import Capability, EditRequest, ModelInfo, ProviderInfo

__all__ = ["check_output_options", "check_request"]

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
    """Raise for what the model cannot do; return warnings for ignored harmless knobs.

    A model past its shutdown date is refused before anything is sent, naming its replacement.
    For an unverified model (no table describes it) an empty size/ratio/resolution list means
    "unknown", so those values go to the provider unchecked.
    """
    name = f"{provider.label} model {model.id!r}"
    count = len(request.images)
    if is_shut_down(model):
        when = f" (shut down on {model.shutdown_on})" if model.shutdown_on else ""
        instead = f" Use {model.replacement!r} instead." if model.replacement else (
            f" Run `apiedit models {provider.id} --refresh` to see current models.")
        raise UnsupportedFeatureError(f"{name} has been retired by {provider.label}{when}.{instead}")
    if not request.prompt.strip():
        raise InvalidInputError("The prompt is empty: describe the image you want or the edit to make.")
    limit = model.max_prompt_chars
    if limit is not None and len(request.prompt) > limit:
        raise InvalidInputError(
            f"The prompt has {len(request.prompt):,} characters; {name} takes at most "
            f"{limit:,}. Shorten it (nothing was sent)."
        )
    if count == 0 and not model.supports(Capability.GENERATE):
        raise UnsupportedFeatureError(f"{name} only edits images:", hint="connect at least one input image.",
                                      hint_id="needs_image")
    if count >= 1 and not model.supports(Capability.EDIT):
        raise UnsupportedFeatureError(
            f"{name} cannot edit images (text-to-image only):",
            hint="disconnect the input images or pick an editing model.", hint_id="no_images",
        )
    if count > 1 and not model.supports(Capability.MULTI_IMAGE):
        raise UnsupportedFeatureError(f"{name} takes one input image; {count} were given.")
    if model.max_input_images and count > model.max_input_images:
        raise UnsupportedFeatureError(
            f"{name} takes at most {model.max_input_images} input images; {count} were given."
        )
    if request.mask is not None:
        if not model.supports(Capability.MASK):
            raise UnsupportedFeatureError(f"{name} does not take a mask:", hint="disconnect it.",
                                          hint_id="no_mask")
        if count == 0:
            raise InvalidInputError("A mask needs an input image to apply to.")
    if request.history and not model.supports(Capability.CONVERSATION):
        raise UnsupportedFeatureError(
            f"{name} does not keep a conversation;",
            hint="continue by feeding the last image back instead.", hint_id="no_conversation",
        )
    check_output_options(model, provider, n=request.n, size=request.size,
                         aspect_ratio=request.aspect_ratio, resolution=request.resolution)
    warnings = [w for w in (lifecycle_warning(model, provider.label),) if w]
    for field, capability, what in _SOFT_KNOBS:
        value = getattr(request, field)
        if value not in (None, "") and not model.supports(capability):
            warnings.append(f"{name} does not take {what}; {field} was not sent.")
    return warnings


def check_output_options(model: ModelInfo, provider: ProviderInfo, *, n: int = 1,
                         size: str | None = None, aspect_ratio: str | None = None,
                         resolution: str | None = None) -> None:
    """Raise for an image count, size, aspect ratio or resolution the model lacks.

    Split out of `check_request` so a host (the ComfyUI node's queue-time validation) can refuse
    these before any image exists, with the same words as at run time."""
    name = f"{provider.label} model {model.id!r}"
    if n > model.max_n:
        raise UnsupportedFeatureError(
            f"{name} makes at most {model.max_n} image(s) per call; {n} were asked for."
        )
    if size and model.sizes and size not in model.sizes:
        raise UnsupportedFeatureError(
            f"{name} does not support size {size}; choose one of {_choices(model.sizes)}."
        )
    known = model.verified  # an unverified model's empty lists mean "unknown", not "none"
    if aspect_ratio and (known or model.aspect_ratios):
        if not model.aspect_ratios:
            raise UnsupportedFeatureError(
                f"{name} does not take an aspect ratio;",
                hint="set a size instead or leave it empty.", hint_id="no_aspect_ratio",
            )
        if aspect_ratio not in model.aspect_ratios:
            raise UnsupportedFeatureError(
                f"{name} does not support aspect ratio {aspect_ratio}; choose one of "
                f"{_choices(model.aspect_ratios)}."
            )
    if resolution and (known or model.resolutions) and resolution not in model.resolutions:
        choices = _choices(model.resolutions) if model.resolutions else "none (leave it empty)"
        raise UnsupportedFeatureError(
            f"{name} does not support resolution {resolution}; choose {choices}."
        )
