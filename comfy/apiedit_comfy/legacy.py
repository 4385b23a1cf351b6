"""`APIImageEditNode`: the original pack's node id, so its shared workflows open and run.

Same inputs in the same order as the original 1.0.5 (a saved workflow maps widget values by
position), mapped onto the API Image Edit node. Hidden from search (deprecated). A key stored in
the workflow's `api_key` widget is never used: keys no longer live in workflows (the web
extension blanks the widget when such a workflow is loaded, so the key never reaches the queued
prompt, /history or the saved PNG; one that still arrives here is dropped with a warning).
"""

from __future__ import annotations

from typing import Any

from comfy_api.latest import io

from apiedit.redact import get_logger

from . import schema_data
from .original_models import ORIGINAL_MODELS, QWEN_EDIT, current_model
from .node import IMAGE_PORTS, MAX_COUNT, MAX_SEED, APIImageEdit, validate_choice

log = get_logger("apiedit.comfy")
NODE_ID = "APIImageEditNode"
# The original's provider names -> plugin ids ("Custom" had no fixed API: OpenAI-compatible).
PROVIDERS = {"ModelScope": "modelscope", "OpenRouter": "openrouter", "OpenAI": "openai",
             "Google Gemini": "gemini", "PixelWords": "pixelwords", "Custom": "openai"}
MODES = ["single", "multiple", "chat", "edit_history"]
KEY_WARNING = ("API Image Edit: this workflow of the original node stores an API key; it was "
               "ignored (keys no longer live in workflows). Set the key once with the node's "
               "'set API key…' button or the provider's environment variable.")


class APIImageEditNode(io.ComfyNode):
    """The original node's interface, run by the API Image Edit node."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        # today's ids, then the original's (a workflow's saved value stays a listed option)
        current = [m for m in schema_data.current().model_ids() if m != QWEN_EDIT]
        models = [QWEN_EDIT, *current,
                  *dict.fromkeys(m for _p, m in ORIGINAL_MODELS if m not in current and m != QWEN_EDIT)]
        return io.Schema(
            node_id=NODE_ID,
            display_name="API Image Edit (original, deprecated)",
            category="api/image",
            description="Opens workflows of the original API Image Edit pack; use API Image Edit "
                        "for new ones. A key stored in the workflow is ignored.",
            is_deprecated=True,
            inputs=[
                io.Combo.Input("api_provider", options=list(PROVIDERS), default="ModelScope"),
                io.String.Input("api_key", default="",
                                tooltip="Ignored: keys no longer live in workflows."),
                io.Combo.Input("model", options=models, default=models[0]),
                io.String.Input("prompt", multiline=True,
                                default="Generate or edit images based on the provided inputs"),
                *[io.Image.Input(name, optional=True) for name in IMAGE_PORTS],
                io.Combo.Input("generation_mode", options=MODES, default="single", optional=True),
                io.Int.Input("image_count", default=1, min=1, max=16, optional=True),
                io.Int.Input("seed", default=-1, min=-1, max=MAX_SEED, optional=True),
                io.String.Input("chat_history", multiline=True, default="", optional=True),
                io.String.Input("edit_history", multiline=True, default="", optional=True),
                io.Boolean.Input("reset_chat", default=False, optional=True),
                io.String.Input("backup_api_url", default="", optional=True),
                io.String.Input("custom_model", default="", optional=True),
            ],
            outputs=[io.Image.Output(display_name="edited_image"),
                     io.String.Output(display_name="response_text")],
            hidden=[io.Hidden.unique_id, io.Hidden.extra_pnginfo],
        )

    @classmethod
    def validate_inputs(cls, api_provider: str | None = None, model: str | None = None,
                        custom_model: str | None = "", image_count: int | None = 1) -> bool | str:
        """The same checks as the new node, on the mapped provider and model."""
        if api_provider is not None and api_provider not in PROVIDERS:
            return f"Unknown api_provider {api_provider!r}; one of: {', '.join(PROVIDERS)}."
        if image_count is not None and not 1 <= int(image_count) <= 16:
            return f"image_count must be between 1 and 16; got {image_count}."
        provider = PROVIDERS.get(api_provider) if api_provider else None
        count = None if image_count is None else min(int(image_count), MAX_COUNT)
        if provider and model:
            model = current_model(provider, model)
        return validate_choice(provider, model, custom_model, count, "", "", "")

    @classmethod
    async def execute(cls, api_provider: str, api_key: str, model: str, prompt: str,
                      image1: Any = None, image2: Any = None, image3: Any = None,
                      image4: Any = None, generation_mode: str = "single", image_count: int = 1,
                      seed: int = -1, chat_history: str = "", edit_history: str = "",
                      reset_chat: bool = False, backup_api_url: str = "",
                      custom_model: str = "") -> io.NodeOutput:
        """The new node's coroutine, so original nodes of one graph also run concurrently."""
        if (api_key or "").strip():
            log.warning(KEY_WARNING)
        provider = PROVIDERS[api_provider]
        mapped = current_model(provider, model)
        if mapped != model:
            log.warning("API Image Edit: the original's model %r is retired or renamed; "
                        "running %s model %r instead.", model, provider, mapped)
            model = mapped
        run = APIImageEdit.execute.__func__  # type: ignore[attr-defined]
        output = await run(cls, provider=provider, model=model, prompt=prompt,
                           image1=image1, image2=image2, image3=image3, image4=image4,
                           model_override=(custom_model or "").strip(), seed=seed,
                           count=min(int(image_count), MAX_COUNT),
                           conversation_mode=generation_mode in ("chat", "edit_history"),
                           reset_conversation=reset_chat, base_url=backup_api_url)
        images, text, _info = output.result
        return io.NodeOutput(images, text)
