"""The API Image Edit node's inputs: flat everywhere, adaptive where ComfyUI can show it.

Where ComfyUI has `io.DynamicCombo` and `io.Autogrow` (0.33; detected by feature, never by
version string) the node shows only what the chosen model honours:

- `provider` stays a plain combo and `model` becomes a DynamicCombo holding *every* provider's
  models, each option with that model's knobs (size / aspect ratio / resolution, seed, steps,
  guidance, strength, negative prompt, mask, count up to its `n`, watermark) and an `images`
  Autogrow of image1..imageN (N = the model's input cap, at least the original's 4; none for a
  text-only model). Provider and model stay top-level inputs with their old names, so
  `validate_inputs` checks them with the same messages on every version, and the web
  extension's per-provider reload keeps working: it narrows the model combo's list to the
  provider's models (the option of each id is already in the schema). A provider DynamicCombo
  holding model DynamicCombos was not used: the model would become `provider.model`, out of
  `validate_inputs`' reach, and a refreshed list could not be narrowed per provider.
- The option `ANY_MODEL` has every knob and 16 images, for an id typed in *Model override*
  (a day-0 model); a model whose limits are guesses (`verified=False`) also gets every knob.
- Per-model limits are in each option, so ComfyUI itself refuses a value outside them at queue
  time (its own "Value bigger than max" / "Value not in list" wording for these nested knobs);
  `execute` checks the flattened values again with `validate_choice` before any paid call.

On 0.3.x the flat schema stays, with the same leaf names (image1..image4, size, seed, ...).
In the API format the flat names are the portable form: they run on 0.3.75 as they always did,
and on 0.33 too (`accept_all_inputs` passes them through; nested values win over flat ones).
0.33's nested names (`model.size`, `model.images.image1`) do not exist on 0.3.75, which would
drop them silently; the flat node refuses such a workflow instead, before any call.

Empty combo values read "provider default" (`DEFAULT`); it is mapped back to "" before the
request is built, and "" from workflows saved earlier is still accepted.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import re
from collections.abc import Callable
from typing import Any

from comfy_api.latest import io

from apiedit.errors import InvalidInputError
from apiedit.redact import get_logger

# which knobs each model takes (plain data, kept with the stored schema data); re-exported
from .knobs import (ANY_MODEL, ASPECT_RATIOS, DEFAULT, EVERY_KNOB, IMAGE_PORTS, MAX_COUNT,  # noqa: F401
                    MAX_IMAGES, MAX_SEED, RESOLUTIONS, SIZES, Knobs, knobs_of, model_knobs,
                    price_options)

log = get_logger("apiedit.comfy")

ADAPTIVE = hasattr(io, "DynamicCombo") and hasattr(io, "Autogrow")
NO_PROVIDER = "(no provider installed)"
CHOICES = ("size", "aspect_ratio", "resolution")  # combos whose "" reads DEFAULT
# name: (lowest, highest) of the numeric inputs; checked again after flattening because a flat
# value on 0.33 arrives through accept_all_inputs, which ComfyUI does not check
RANGES: dict[str, tuple[float, float]] = {
    "seed": (-1, MAX_SEED), "strength": (0.0, 1.0), "guidance": (0.0, 30.0), "steps": (0, 150),
    "count": (1, MAX_COUNT),
}

LABELS = {
    "provider": "Provider", "model": "Model", "prompt": "Prompt", "images": "Images",
    "mask": "Mask", "model_override": "Model override", "negative_prompt": "Negative prompt",
    "seed": "Seed", "strength": "Strength", "guidance": "Guidance", "steps": "Steps",
    "size": "Size", "aspect_ratio": "Aspect ratio", "resolution": "Resolution",
    "count": "Image count", "watermark": "Watermark", "conversation_mode": "Conversation",
    "use_last_image": "Continue from last image", "reset_conversation": "Reset conversation",
    "conversation_name": "Conversation name", "base_url": "Base URL (relay)",
    "lossless_upload": "Lossless upload",
    **{f"image{i}": f"Image {i}" for i in range(1, MAX_IMAGES + 1)},
}


def choice_value(value: str | None) -> str | None:
    """A combo's value as the request wants it: "" for the provider's default."""
    return "" if value == DEFAULT else value


# ---- the knobs, one factory each (the flat schema and every adaptive option share them) -------

def image_input(name: str) -> io.Input:
    return io.Image.Input(name, display_name=LABELS.get(name), optional=True,
                          tooltip="Input image (all frames of a batch are used, in order).")


def mask_input() -> io.Input:
    return io.Mask.Input("mask", display_name=LABELS["mask"], optional=True,
                         tooltip="Area to edit (white = edit), for models that take a mask.")


def _negative_prompt() -> io.Input:
    return io.String.Input("negative_prompt", display_name=LABELS["negative_prompt"], multiline=True,
                           default="", optional=True, placeholder="Negative prompt: what the image should not show",
                           tooltip="What the image should not show.")


def _seed() -> io.Input:
    return io.Int.Input("seed", display_name=LABELS["seed"], default=0, min=-1, max=MAX_SEED,
                        control_after_generate=True, optional=True,
                        # the web extension starts the control at "fixed": a string here
                        # would be read by both frontends as the control widget's *name*
                        tooltip="-1 = let the provider choose (not sent). Fixed by default: "
                                "re-running an unchanged workflow reuses the result instead "
                                "of paying again.")


def _strength() -> io.Input:
    return io.Float.Input("strength", display_name=LABELS["strength"], default=0.0, min=0.0, max=1.0,
                          step=0.01, optional=True,
                          tooltip="Edit strength; 0 = provider default (not sent).")


def _guidance() -> io.Input:
    return io.Float.Input("guidance", display_name=LABELS["guidance"], default=0.0, min=0.0, max=30.0,
                          step=0.1, optional=True,
                          tooltip="Guidance scale; 0 = provider default (not sent).")


def _steps() -> io.Input:
    return io.Int.Input("steps", display_name=LABELS["steps"], default=0, min=0, max=150, optional=True,
                        tooltip="Sampling steps; 0 = provider default (not sent).")


def _choice(name: str, values: list[str], tooltip: str) -> io.Input:
    return io.Combo.Input(name, display_name=LABELS[name], options=[DEFAULT, *values],
                          default=DEFAULT, optional=True, tooltip=tooltip)


def _size(values: list[str]) -> io.Input:
    return _choice("size", values, "Output size, e.g. 1024x1024; provider default = not sent.")


def _aspect_ratio(values: list[str]) -> io.Input:
    return _choice("aspect_ratio", values, "Output aspect ratio; provider default = not sent.")


def _resolution(values: list[str]) -> io.Input:
    return _choice("resolution", values, "Output resolution tier; provider default = not sent.")


def _count(most: int) -> io.Input:
    return io.Int.Input("count", display_name=LABELS["count"], default=1, min=1, max=most,
                        optional=True, tooltip=f"Number of images to make (this model: up to {most}).")


def _watermark() -> io.Input:
    return io.Boolean.Input("watermark", display_name=LABELS["watermark"], default=False,
                            optional=True, tooltip="Ask for the provider's watermark, where supported.")


# ---- a model's option ----------------------------------------------------------------------

def knob_inputs(knobs: Knobs) -> list[io.Input]:
    """One model's option inputs (what its knobs say), in the flat schema's order."""
    out: list[io.Input] = []
    if knobs.images:
        out.append(io.Autogrow.Input(
            "images", display_name=LABELS["images"], optional=True,
            tooltip=f"Input images (up to {knobs.images}); a new socket appears as one is connected.",
            template=io.Autogrow.TemplateNames(
                image_input("image"), names=[f"image{i}" for i in range(1, knobs.images + 1)], min=0)))
    if knobs.mask:
        out.append(mask_input())
    if knobs.negative_prompt:
        out.append(_negative_prompt())
    if knobs.seed:
        out.append(_seed())
    for present, factory in ((knobs.strength, _strength), (knobs.guidance, _guidance),
                             (knobs.steps, _steps)):
        if present:
            out.append(factory())
    if knobs.sizes:
        out.append(_size(list(knobs.sizes)))
    if knobs.aspect_ratios:
        out.append(_aspect_ratio(list(knobs.aspect_ratios)))
    if knobs.resolutions:
        out.append(_resolution(list(knobs.resolutions)))
    if knobs.count > 1:
        out.append(_count(knobs.count))
    if knobs.watermark:
        out.append(_watermark())
    return out


def model_input(knobs: dict[str, Knobs], tooltip: str) -> io.Input:
    """The adaptive `model` input: one option per id of `model_knobs`, in its order."""
    return io.DynamicCombo.Input(
        "model", display_name=LABELS["model"], tooltip=tooltip,
        options=[io.DynamicCombo.Option(key, knob_inputs(k)) for key, k in knobs.items()])


def flat_knob_inputs() -> list[io.Input]:
    """The flat schema's model knobs (0.3.x), in the original order after model_override."""
    return [_negative_prompt(), _seed(), _strength(), _guidance(), _steps(), _size(SIZES),
            _aspect_ratio(ASPECT_RATIOS), _resolution(RESOLUTIONS), _count(MAX_COUNT), _watermark()]


def schema_options() -> dict[str, Any]:
    """Extra `io.Schema` arguments of the adaptive schema (flat names pass through on 0.33)."""
    fields = {f.name for f in dataclasses.fields(io.Schema)} if dataclasses.is_dataclass(io.Schema) else set()
    return {"accept_all_inputs": True} if ADAPTIVE and "accept_all_inputs" in fields else {}


# ---- from ComfyUI's (nested or flat) values to the flat names execute takes ----------------

_IMAGE_NAME = re.compile(r"image\d+")


def flatten(values: dict[str, Any]) -> dict[str, Any]:
    """Nested adaptive values (`model` = {"model": id, "images": {...}, "size": ...}) and
    dotted leftovers (`model.size`) as flat names; a nested value wins over a flat one."""
    flat: dict[str, Any] = {}
    nested: dict[str, Any] = {}
    for key, value in values.items():
        if key == "model" and isinstance(value, dict):
            inner = dict(value)
            flat["model"] = inner.pop("model", None)
            images = inner.pop("images", None)
            nested.update({k: v for k, v in inner.items() if v is not None})
            if isinstance(images, dict):
                nested.update({k: v for k, v in images.items() if v is not None})
        elif "." in key:  # a path ComfyUI did not nest (its option was not found)
            if value is not None:
                nested.setdefault(key.rsplit(".", 1)[1], value)
        else:
            flat[key] = value
    flat.update(nested)
    for name in CHOICES:
        if name in flat:
            flat[name] = choice_value(flat[name])
    return flat


def range_error(flat: dict[str, Any]) -> str | None:
    """What is out of the inputs' limits (in ComfyUI's words), or None."""
    for name, (low, high) in RANGES.items():
        value = flat.get(name)
        if value is None:
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            return f"{name}: {value!r} is not a number."
        if number < low:
            return f"{name}: value {value} smaller than min of {low}."
        if number > high:
            return f"{name}: value {value} bigger than max of {high}."
    return None


def check_ranges(flat: dict[str, Any]) -> None:
    """Raise for a number outside the inputs' limits, before any call."""
    problem = range_error(flat)
    if problem:
        raise InvalidInputError(problem, hint="Fix the value on the node and queue again.")


def refuse_unknown_paths(cls: Any) -> None:
    """On a flat-schema ComfyUI, refuse a prompt written with 0.33's nested names: they would
    be dropped silently (no images, default knobs), and the run billed."""
    if ADAPTIVE:
        return
    hidden = getattr(cls, "hidden", None)
    prompt = getattr(hidden, "prompt", None) if hidden else None
    node = getattr(hidden, "unique_id", None) if hidden else None
    if not isinstance(prompt, dict) or node is None:
        return
    entry = prompt.get(str(node)) or {}
    dotted = sorted(k for k in (entry.get("inputs") or {}) if "." in k)
    if dotted:
        raise InvalidInputError(
            f"This workflow uses inputs of the adaptive node of ComfyUI 0.33+ "
            f"({', '.join(dotted[:4])}{', ...' if len(dotted) > 4 else ''}), which this ComfyUI "
            "does not have.",
            hint="Use the flat names (size, seed, image1, ...) or ComfyUI 0.33 or newer.")


def adaptive(execute: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap `execute` (sync or async) so it receives flat names whatever ComfyUI passed.

    Images past image4 arrive as extra keywords (`execute` takes `**more_images`); any other
    unknown name (a prompt's typo, or a newer node's input) is dropped with a log line."""
    params = inspect.signature(execute).parameters
    names = {n for n, p in params.items() if p.kind is not p.VAR_KEYWORD}

    def prepare(cls: Any, inputs: dict[str, Any]) -> dict[str, Any]:
        refuse_unknown_paths(cls)
        flat = flatten(inputs)
        check_ranges(flat)
        kept = {}
        for key, value in flat.items():
            if key in names or _IMAGE_NAME.fullmatch(key):
                kept[key] = value
            else:
                log.warning("API Image Edit: ignoring unknown input %r", key)
        return kept

    if inspect.iscoroutinefunction(execute):
        @functools.wraps(execute)
        async def run_async(cls: Any, **inputs: Any) -> Any:
            return await execute(cls, **prepare(cls, inputs))

        return run_async

    @functools.wraps(execute)
    def run(cls: Any, **inputs: Any) -> Any:
        return execute(cls, **prepare(cls, inputs))

    return run
