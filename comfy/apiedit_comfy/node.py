"""The **API Image Edit** node (ComfyUI V3 schema).

Text-to-image without images, edit with one, composition with several (every frame of a batch
on a port counts, in port order), and conversations that survive restarts. It never outputs a
placeholder: every failure raises with the provider's typed message. There is no key input of
any kind: keys come from environment variables or the key file (settings dialog / route).
"""

from __future__ import annotations

import json
from typing import Any

from comfy_api.latest import io

from apiedit.errors import InvalidInputError
from apiedit.host import default_host
from apiedit.types import EditRequest, EditResult, ImageData

from . import catalog
from .price_badge import badge_options, cost_info, cost_line
from .runtime import progress_sender, run_interruptible
from .tensors import batch_to_images, images_to_batch, mask_to_alpha_png

NODE_ID = "APIImageEdit"
IMAGE_PORTS = ("image1", "image2", "image3", "image4")
ASPECT_RATIOS = ["", "1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"]
RESOLUTIONS = ["", "1K", "2K", "4K"]
SIZES = ["", "auto", "1024x1024", "1536x1024", "1024x1536", "1792x1024", "1024x1792",
         "512x512", "256x256", "1328x1328", "1664x928", "928x1664", "2048x2048"]
MAX_SEED = 2**31 - 1
MAX_COUNT = 10


def _options(values: list[str], placeholder: str) -> list[str]:
    return values or [placeholder]


class APIImageEdit(io.ComfyNode):
    """Generate or edit images through a cloud API provider plugin."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        providers = _options(catalog.provider_ids(), catalog.NO_PROVIDER)
        # the first provider's default by rule (newest current model of its recommended family)
        models = _options(catalog.all_model_ids(), "(no models: pick a provider)")
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
                io.Combo.Input("provider", options=providers, default=providers[0],
                               tooltip=catalog.provider_tooltip()),
                io.Combo.Input("model", options=models, default=models[0],
                               tooltip="The provider's image models; the refresh button asks the provider."),
                io.String.Input("prompt", multiline=True, default="",
                                tooltip="What to generate, or the edit to make."),
                *[io.Image.Input(name, optional=True,
                                 tooltip="Input image (all frames of a batch are used, in order).")
                  for name in IMAGE_PORTS],
                io.Mask.Input("mask", optional=True,
                              tooltip="Area to edit (white = edit), for models that take a mask."),
                io.String.Input("model_override", default="", optional=True,
                                tooltip="Type any model id the provider serves (e.g. one not in the "
                                        "list yet); wins over 'model'. Any id is sent as typed."),
                io.String.Input("negative_prompt", multiline=True, default="", optional=True),
                io.Int.Input("seed", default=0, min=-1, max=MAX_SEED,
                             control_after_generate=True, optional=True,
                             # the web extension starts the control at "fixed": a string here
                             # would be read by both frontends as the control widget's *name*
                             tooltip="-1 = let the provider choose (not sent). Fixed by default: "
                                     "re-running an unchanged workflow reuses the result instead "
                                     "of paying again."),
                io.Float.Input("strength", default=0.0, min=0.0, max=1.0, step=0.01, optional=True,
                               tooltip="Edit strength; 0 = provider default (not sent)."),
                io.Float.Input("guidance", default=0.0, min=0.0, max=30.0, step=0.1, optional=True,
                               tooltip="Guidance scale; 0 = provider default (not sent)."),
                io.Int.Input("steps", default=0, min=0, max=150, optional=True,
                             tooltip="Sampling steps; 0 = provider default (not sent)."),
                io.Combo.Input("size", options=SIZES, default="", optional=True,
                               tooltip="Output size, e.g. 1024x1024; empty = provider default."),
                io.Combo.Input("aspect_ratio", options=ASPECT_RATIOS, default="", optional=True),
                io.Combo.Input("resolution", options=RESOLUTIONS, default="", optional=True),
                io.Int.Input("count", default=1, min=1, max=MAX_COUNT, optional=True,
                             tooltip="Number of images to make."),
                io.Boolean.Input("watermark", default=False, optional=True,
                                 tooltip="Ask for the provider's watermark, where supported."),
                io.Boolean.Input("conversation_mode", default=True, optional=True,
                                 tooltip="Keep a conversation: each run is the next turn."),
                io.Boolean.Input("use_last_image", default=True, optional=True,
                                 tooltip="With no image connected, continue from the conversation's last image."),
                io.Boolean.Input("reset_conversation", default=False, optional=True,
                                 tooltip="Start a fresh conversation with this run (applies once while left on)."),
                io.String.Input("conversation_name", default="", optional=True,
                                tooltip="Empty = this node's own conversation; a name shares it across nodes."),
                io.String.Input("base_url", default="", optional=True,
                                tooltip="Send to this relay or proxy instead of the provider. Used only if you "
                                        "trusted it (apiedit keys trust, or the key settings): a "
                                        "shared workflow cannot send your key elsewhere."),
                io.Boolean.Input("lossless_upload", default=False, optional=True,
                                 tooltip="Send input images as PNG. Off: photos go as JPEG q98 "
                                         "(no visible loss, far faster); graphics, alpha and "
                                         "masked edits are always lossless."),
            ],
            outputs=[
                io.Image.Output(display_name="images"),
                io.String.Output(display_name="text"),
                io.String.Output(display_name="info"),
            ],
            hidden=[io.Hidden.unique_id, io.Hidden.extra_pnginfo],
            # 0.33: an API node with a price badge (price_badge.py); 0.3.75's Schema has neither
            **badge_options({"size": SIZES, "aspect_ratio": ASPECT_RATIOS, "resolution": RESOLUTIONS}),
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

    @classmethod
    async def execute(cls, provider: str, model: str, prompt: str, image1: Any = None,
                      image2: Any = None, image3: Any = None, image4: Any = None, mask: Any = None,
                      model_override: str = "", negative_prompt: str = "", seed: int = 0,
                      strength: float = 0.0, guidance: float = 0.0, steps: int = 0, size: str = "",
                      aspect_ratio: str = "", resolution: str = "", count: int = 1,
                      watermark: bool = False, conversation_mode: bool = True,
                      use_last_image: bool = True, reset_conversation: bool = False,
                      conversation_name: str = "", base_url: str = "",
                      lossless_upload: bool = False) -> io.NodeOutput:
        """A coroutine, so the other API nodes of the graph run while this one waits.

        Everything that blocks (encoding the inputs, the provider call, decoding the answer)
        runs in a worker thread (`runtime.run_interruptible`); ComfyUI's interrupt stops it."""
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
            for batch in (image1, image2, image3, image4):
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


def validate_choice(provider: str | None, model: str | None, model_override: str | None,
                    count: int | None, size: str | None, aspect_ratio: str | None,
                    resolution: str | None) -> bool | str:
    """True, or what is wrong and what to do (shown on the node by ComfyUI)."""
    from apiedit.errors import ApiEditError
    from apiedit.validation import check_output_options

    if provider is None:
        return True
    if provider not in catalog.provider_ids():
        installed = ", ".join(catalog.provider_ids()) or "none"
        return f"Unknown provider {provider!r}; installed: {installed}."
    if count is not None and not 1 <= int(count) <= MAX_COUNT:
        return f"count must be between 1 and {MAX_COUNT}; got {count}."
    for name, value, options in (("size", size, SIZES), ("aspect_ratio", aspect_ratio, ASPECT_RATIOS),
                                 ("resolution", resolution, RESOLUTIONS)):
        if value is not None and value not in options:
            return f"{name} {value!r} is not one of: {', '.join(o or '(provider default)' for o in options)}."
    override = (model_override or "").strip()
    if override or model is None:
        return True  # a day-0 model: its limits are unknown until the provider answers
    # Any id is accepted: the provider judges its own ids (its "unknown model" answer names the
    # closest known ones). A model the tables know is checked against its limits here.
    info = next((m for m in catalog.models(provider) if m.id == model), None)
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
