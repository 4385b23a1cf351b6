"""A loopback emulator of the PixelWords relay (an OpenAI-compatible reseller gateway).

UNCONFIRMED, like the provider itself (`providers.md` §6): it answers the way reseller gateways
are documented or reported to. By default the image comes back as a Markdown `data:` link in
`message.content`; every other shape of `providers.md` §9 is selectable with
`emulator.style = ...` or `emulate:<style>` in the prompt (see `apiedit.testing.chat_emulator`).
Errors use the OpenAI envelope as one-api/new-api gateways send it, including their 403
`insufficient_user_quota` and 503 `model_not_found` ("no available channel").
"""

from __future__ import annotations

from typing import Any, ClassVar

from apiedit.testing.chat_emulator import ChatCall, ChatEmulator
from apiedit.testing.emulator import Response

__all__ = ["RELAY_MODELS", "PixelWordsEmulator"]


def _model(model_id: str, owner: str) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": 1756166400, "owned_by": owner}


RELAY_MODELS: list[dict[str, Any]] = [
    _model("gemini-2.5-flash-image", "vertex-ai"),
    _model("gemini-2.5-flash-image-vip", "vertex-ai"),
    _model("gemini-2.5-flash-image-hd", "vertex-ai"),
    _model("gpt-4o-image", "openai"),
    _model("gpt-4o-image-vip", "openai"),
    _model("flux-kontext-max", "bfl"),
    _model("flux-kontext-dev", "bfl"),
    _model("seededit", "bytedance"),
    _model("recraft-v3", "recraft"),
    _model("hidream-i1", "hidream"),
    _model("grok-3-imageGen", "xai"),
    _model("seedream-4-0-250828", "bytedance"),  # listed by the relay only (not curated)
    _model("gpt-4o-mini", "openai"),  # text models the filter must drop
    _model("qwen2.5-vl-72b-instruct", "qwen"),
    _model("gpt-4-vision-preview", "openai"),
]


class PixelWordsEmulator(ChatEmulator):
    """The relay at `/v1` (and at the root, for `base_url=emulator.base_url`)."""

    label = "PixelWords"
    style = "markdown_data"
    models: ClassVar[list[dict[str, Any]]] = RELAY_MODELS
    demo_models: ClassVar[dict[str, str]] = {
        "generate": "gemini-2.5-flash-image",
        "edit": "gemini-2.5-flash-image-hd",
        "compose": "gemini-2.5-flash-image",
    }

    def error_response(self, kind: str) -> Response:
        if kind == "quota":
            body = {"error": {"message": "user quota is not enough", "type": "new_api_error",
                              "code": "insufficient_user_quota"}}
            return Response.json(body, 403)
        return super().error_response(kind)

    def check_call(self, call: ChatCall) -> Response | None:
        model = call.body["model"]
        if any(m["id"] == model for m in self.models):
            return None
        body = {"error": {"message": f"No available channel for model {model} under group default",
                          "type": "new_api_error", "code": "model_not_found"}}
        return Response.json(body, 503)
