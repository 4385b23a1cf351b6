"""The **API Image Edit** node (ComfyUI V3 schema).

Text-to-image without images, edit with one, composition with several (every frame of a batch
on a port counts, in port order), and conversations that survive restarts. It never outputs a
placeholder: every failure raises with the provider's typed message. There is no key input of
any kind: keys come from environment variables or the key file (settings dialog / route).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from comfy_api.latest import io

from apiedit.errors import InvalidInputError

from . import schema, schema_data
from .price_badge import DIMENSIONS, Widgets, badge_options, cost_info, cost_line
from .runtime import progress_sender, run_interruptible

if TYPE_CHECKING:
    from apiedit.types import ImageData

# Core's host, its record types and the plugins are imported by the first run or queue-time
# check, not here: ComfyUI's start builds the schema from stored data (`schema_data`).

NODE_ID = "APIImageEdit"
# re-exported: the legacy node and tests import them from here
IMAGE_PORTS, SIZES, ASPECT_RATIOS, RESOLUTIONS = (schema.IMAGE_PORTS, schema.SIZES,
                                                  schema.ASPECT_RATIOS, schema.RESOLUTIONS)
MAX_SEED, MAX_COUNT, DEFAULT = schema.MAX_SEED, schema.MAX_COUNT, schema.DEFAULT
LABELS = schema.LABELS


def _options(values: list[str], placeholder: str) -> list[str]:
    return values or [placeholder]


def _model_inputs(data: schema_data.SchemaData, flat: bool) -> list[io.Input]:
    """`model` and the knobs that depend on it: adaptive where ComfyUI has DynamicCombo (each
    usable model with the knobs it honours, see `schema`), else the flat combo (its four image
    ports, mask and every knob follow in the schema)."""
    tooltip = "The provider's image models; the refresh button asks the provider."
    if not flat:
        return [schema.model_input(data.knobs, tooltip)]
    # the first provider's default by rule (newest current model of its recommended family)
    models = _options(data.model_ids(), "(no models: pick a provider)")
    return [io.Combo.Input("model", display_name=LABELS["model"], options=models, default=models[0],
                           tooltip=tooltip)]


class APIImageEdit(io.ComfyNode):
    """Generate or edit images through a cloud API provider plugin."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        data = schema_data.current()
        providers = _options(data.providers, schema.NO_PROVIDER)
        flat = not schema.ADAPTIVE  # 0.3.x: every knob, always (see `schema`)
        return io.Schema(
            node_id=NODE_ID,
            display_name="API Image Edit",
            category="api/image",
            description=(
                "Generate (no image connected), edit (one image) or compose (several images) with "
                "a cloud image API. Keys come from environment variables or the API Image Edit "
                "key settings, never from the workflow."
            ),
            inputs=[
                io.Combo.Input("provider", display_name=LABELS["provider"], options=providers,
                               default=providers[0], tooltip=data.tooltip),
                *_model_inputs(data, flat),
                io.String.Input("prompt", display_name=LABELS["prompt"], multiline=True, default="",
                                placeholder="Prompt: what to generate, or the edit to make",
                                tooltip="What to generate, or the edit to make."),
                *([schema.image_input(name) for name in IMAGE_PORTS] + [schema.mask_input()] if flat else []),
                io.String.Input("model_override", display_name=LABELS["model_override"], default="",
                                optional=True,
                                tooltip="Type any model id the provider serves (e.g. one not in the "
                                        "list yet); wins over 'model'. Any id is sent as typed."),
                *(schema.flat_knob_inputs() if flat else []),
                io.Boolean.Input("conversation_mode", display_name=LABELS["conversation_mode"],
                                 default=True, optional=True,
                                 tooltip="Keep a conversation: each run is the next turn."),
                io.Boolean.Input("use_last_image", display_name=LABELS["use_last_image"], default=True,
                                 optional=True,
                                 tooltip="With no image connected, continue from the conversation's last image."),
                io.Boolean.Input("reset_conversation", display_name=LABELS["reset_conversation"],
                                 default=False, optional=True,
                                 tooltip="Start a fresh conversation with this run (applies once while left on)."),
                io.String.Input("conversation_name", display_name=LABELS["conversation_name"], default="",
                                optional=True,
                                tooltip="Empty = this node's own conversation; a name shares it across nodes."),
                io.String.Input("base_url", display_name=LABELS["base_url"], default="", optional=True,
                                tooltip="Send to this relay or proxy instead of the provider. Used only if you "
                                        "trusted it (apiedit keys trust, or the key settings): a "
                                        "shared workflow cannot send your key elsewhere."),
                io.Boolean.Input("lossless_upload", display_name=LABELS["lossless_upload"], default=False,
                                 optional=True,
                                 tooltip="Send input images as PNG. Off: photos go as JPEG q98 "
                                         "(no visible loss, far faster); graphics, alpha and "
                                         "masked edits are always lossless."),
            ],
            outputs=[
                io.Image.Output(display_name="images"),
                io.String.Output(display_name="text"),
                io.String.Output(display_name="info"),
            ],
            hidden=[io.Hidden.unique_id, io.Hidden.extra_pnginfo, io.Hidden.prompt],
            **schema.schema_options(),
            # 0.33: an API node with a price badge (price_badge.py); 0.3.75's Schema has neither
            # (each model priced at the values its own inputs show)
            **badge_options(data.usable,
                            {"size": [DEFAULT, *SIZES], "aspect_ratio": [DEFAULT, *ASPECT_RATIOS],
                             "resolution": [DEFAULT, *RESOLUTIONS]}, _badge_widgets(),
                            {} if flat else {i: schema.price_options(k) for i, k in data.knobs.items()}),
        )

    @classmethod
    def validate_inputs(cls, provider: str | None = None, model: str | None = None,
                        model_override: str | None = "", count: int | None = 1,
                        size: str | None = "", aspect_ratio: str | None = "",
                        resolution: str | None = "") -> bool | str:
        """Provider, model and the model's output limits, at queue time, before any paid call.

        No `**kwargs`: ComfyUI skips its own checks (types, min/max, combo lists) for every input
        named here and for all inputs when `**kwargs` is taken. It checks the others (seed,
        strength, steps...) itself, on every version; the ones named here get the same messages
        on 0.3.75 (which never checks V3 combo values) and 0.33 (which does). A linked input
        arrives as None and is checked at run time, by the same core checks."""
        return validate_choice(provider, model, model_override, count, size, aspect_ratio, resolution)

    if schema.ADAPTIVE:
        @classmethod
        def validate_inputs(cls, provider: str | None = None, model: Any = None,  # noqa: F811
                            model_override: str | None = "", count: int | None = 1,
                            size: str | None = "", aspect_ratio: str | None = "",
                            resolution: str | None = "", seed: Any = None, strength: Any = None,
                            guidance: Any = None, steps: Any = None) -> bool | str:
            """As above, plus the numbers of a flat prompt on 0.33: they are not inputs of the
            adaptive schema (theirs are `model.seed`, ..., which ComfyUI checks itself), so
            nothing else would check them before the run. `model` arrives nested."""
            numbers = dict(seed=seed, strength=strength, guidance=guidance, steps=steps)
            return (schema.range_error(numbers)
                    or validate_choice(provider, model, model_override, count, size, aspect_ratio,
                                       resolution))

    @classmethod
    @schema.adaptive  # nested 0.33 values (model.size, model.images.image5) -> flat names
    async def execute(cls, provider: str, model: str, prompt: str, image1: Any = None,
                      image2: Any = None, image3: Any = None, image4: Any = None, mask: Any = None,
                      model_override: str = "", negative_prompt: str = "", seed: int = 0,
                      strength: float = 0.0, guidance: float = 0.0, steps: int = 0, size: str = "",
                      aspect_ratio: str = "", resolution: str = "", count: int = 1,
                      watermark: bool = False, conversation_mode: bool = True,
                      use_last_image: bool = True, reset_conversation: bool = False,
                      conversation_name: str = "", base_url: str = "",
                      lossless_upload: bool = False, **more_images: Any) -> io.NodeOutput:
        """A coroutine, so the other API nodes of the graph run while this one waits.

        Everything that blocks (encoding the inputs, the provider call, decoding the answer)
        runs in a worker thread (`runtime.run_interruptible`); ComfyUI's interrupt stops it."""
        from apiedit.host import default_host
        from apiedit.types import EditRequest

        from .tensors import batch_to_images, images_to_batch, mask_to_alpha_png

        _refuse(validate_choice(provider, model, model_override, count, size, aspect_ratio, resolution))
        hidden = cls.hidden
        node_id = hidden.unique_id if hidden else None
        progress = progress_sender(node_id)
        model_id = (model_override or "").strip() or model
        fields = dict(
            model=model_id,
            prompt=prompt,
            negative_prompt=negative_prompt or "",
            size=size or None,
            aspect_ratio=aspect_ratio or None,
            resolution=resolution or None,
            n=count,
            seed=None if seed is None or seed < 0 else seed,
            steps=steps or None,
            guidance=guidance or None,
            strength=strength or None,
            watermark=True if watermark else None,
        )
        # A base_url in a workflow came from whoever shared it: the host sends nothing (and no
        # key) to it unless the user trusted its origin themselves (apiedit.keys).
        options = dict(base_url=(base_url or "").strip() or None, trust_base_url=False,
                       progress=progress)

        def call(cancel: Any) -> tuple[Any, str, str]:
            images: list[ImageData] = []
            lossless = bool(lossless_upload) or mask is not None  # a mask must match the pixels
            for batch in (image1, image2, image3, image4, *more_images.values()):
                if batch is not None:
                    images.extend(batch_to_images(batch, lossless=lossless))
            mask_image = None
            if mask is not None:
                if not images:
                    raise InvalidInputError("A mask needs an input image to apply to: connect image1.")
                from apiedit.images import image_size

                mask_image = mask_to_alpha_png(mask, image_size(images[0].data))
            priced = EditRequest(**fields)  # what the run costs, by the price tables
            progress(f"{provider}: sending {len(images)} image(s) to {model_id}")
            if conversation_mode:
                from .conversations import send_turn

                result = send_turn(
                    provider, images, {**fields, "mask": mask_image},
                    name=_conversation_name(conversation_name, hidden),
                    use_last_image=use_last_image, reset=reset_conversation, cancel=cancel,
                    **options,
                )
            else:
                request = EditRequest(images=tuple(images), mask=mask_image, **fields)
                result = default_host().edit(provider, request, cancel=cancel, **options)
            cost = cost_info(provider, priced, result)
            # the text stays under the node: the price line on ComfyUI without price badges
            progress(f"{provider}: received {len(result.images)} image(s); "
                     f"{cost_line(provider, priced, cost)}")
            record = {**result.info_record(), **cost}
            info = json.dumps(record, sort_keys=True, default=str)
            return images_to_batch(result.images), result.text, info

        # ApiEditErrors propagate: ComfyUI shows them on the node
        images_out, text, info = await run_interruptible(call)
        return io.NodeOutput(images_out, text, info)


def validate_choice(provider: str | None, model: Any, model_override: str | None,
                    count: int | None, size: str | None, aspect_ratio: str | None,
                    resolution: str | None) -> bool | str:
    """True, or what is wrong and what to do (shown on the node by ComfyUI).

    `model` may be the adaptive input's nested value (0.33), and the choices may read
    "provider default" or "" (workflows saved before it had a label)."""
    from apiedit.errors import ApiEditError
    from apiedit.host import default_host
    from apiedit.validation import check_output_options

    from . import catalog

    if isinstance(model, dict):
        model = model.get("model")
    size, aspect_ratio, resolution = (schema.choice_value(v) for v in (size, aspect_ratio, resolution))
    if provider is None:
        return True
    if provider not in catalog.provider_ids():
        installed = ", ".join(catalog.provider_ids()) or "none"
        return f"Unknown provider {provider!r}; installed: {installed}."
    if count is not None and not 1 <= int(count) <= MAX_COUNT:
        return f"count must be between 1 and {MAX_COUNT}; got {count}."
    override = (model_override or "").strip()
    if model == schema.ANY_MODEL and not override:
        return f"Model {schema.ANY_MODEL!r}: type the model id in Model override."
    info = None
    if not override and model is not None:
        info = next((m for m in catalog.models(provider) if m.id == model), None)
    for name, value, options in (("size", size, SIZES), ("aspect_ratio", aspect_ratio, ASPECT_RATIOS),
                                 ("resolution", resolution, RESOLUTIONS)):
        own = getattr(info, f"{name}s", ()) if info is not None else ()  # the adaptive option's list
        if value and value not in options and value not in own:
            return f"{name} {value!r} is not one of: {', '.join([DEFAULT, *options])}."
    if override or model is None:
        return True  # a day-0 model: its limits are unknown until the provider answers
    # Any id is accepted: the provider judges its own ids (its "unknown model" answer names the
    # closest known ones). A model the tables know is checked against its limits here.
    if info is None:
        return True
    if info.retired:
        instead = f" Use {info.replacement!r}." if info.replacement else ""
        return f"{provider} model {model!r} has been retired.{instead}"
    try:
        check_output_options(info, default_host().get_provider(provider), n=int(count or 1),
                             size=size or None, aspect_ratio=aspect_ratio or None,
                             resolution=resolution or None)
    except ApiEditError as exc:
        return str(exc)
    return True


def _badge_widgets() -> Widgets:
    """The widgets the price badge reads: on the adaptive schema the count and output-size
    knobs live in the model's DynamicCombo, named "model.<knob>" by ComfyUI and its frontend."""
    if not schema.ADAPTIVE:
        return Widgets()
    return Widgets(count="model.count", dimensions={d: f"model.{d}" for d in DIMENSIONS})


def _refuse(verdict: bool | str) -> None:
    """Raise the validation's message (run time: a linked or flattened value seen only now)."""
    if verdict is not True:
        raise InvalidInputError(str(verdict))


def _conversation_name(name: str, hidden: Any) -> str:
    """The user's name, or one private to this node in this workflow."""
    if (name or "").strip():
        return name.strip()
    workflow_id = None
    extra = getattr(hidden, "extra_pnginfo", None) if hidden else None
    if isinstance(extra, dict) and isinstance(extra.get("workflow"), dict):
        workflow_id = extra["workflow"].get("id")
    node = getattr(hidden, "unique_id", None) if hidden else None
    return f"node:{workflow_id or 'api'}:{node or 'unknown'}"
