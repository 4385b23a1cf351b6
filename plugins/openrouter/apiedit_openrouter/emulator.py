"""A loopback emulator of OpenRouter's chat-completions image API (`providers.md` §3).

Faithful where the plugin could go wrong: no image unless `modalities` asks for one, 404 "No
endpoints found" when the modalities or image input do not fit the model, `image_config`
values checked, Gemini 3 answers carrying `reasoning_details` that must come back unchanged,
`/models` filtered by `output_modalities` (text only by default), and OpenRouter's
`{"error":{code,message,metadata}}` envelope for 401, 402, 403 moderation, 429 with
Retry-After, 502 and 503.
"""

from __future__ import annotations

import datetime
from typing import Any, ClassVar

from apiedit.testing.chat_emulator import ChatCall, ChatEmulator
from apiedit.testing.emulator import RecordedRequest, Response

__all__ = ["CATALOGUE", "OpenRouterEmulator"]

_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9",
           "1:4", "4:1", "1:8", "8:1")


def _entry(model_id: str, name: str, inputs: list[str], outputs: list[str],
           expiration: str | None = None, params: tuple[str, ...] = ()) -> dict[str, Any]:
    """A `/models` item with the fields models.mdx lists (numbers illustrative)."""
    return {
        "id": model_id, "canonical_slug": model_id, "name": name, "created": 1756166400,
        "description": f"{name} (emulated)", "context_length": 32768,
        "architecture": {"input_modalities": inputs, "output_modalities": outputs,
                         "tokenizer": "Other", "instruct_type": None},
        "pricing": {"prompt": "0.0000003", "completion": "0.0000025", "request": "0", "image": "0"},
        "top_provider": {"context_length": 32768, "max_completion_tokens": 8192,
                         "is_moderated": False},
        "per_request_limits": None,
        "supported_parameters": ["max_tokens", "temperature", "top_p", *params],
        "default_parameters": None,
        "expiration_date": expiration,
    }


CATALOGUE: list[dict[str, Any]] = [
    _entry("google/gemini-2.5-flash-image", "Google: Gemini 2.5 Flash Image (Nano Banana)",
           ["image", "text"], ["image", "text"]),
    _entry("google/gemini-3-pro-image-preview", "Google: Nano Banana Pro (Gemini 3 Pro Image Preview)",
           ["image", "text"], ["image", "text"]),
    _entry("google/gemini-3.1-flash-image-preview", "Google: Nano Banana 2 (Gemini 3.1 Flash Image Preview)",
           ["image", "text"], ["image", "text"]),
    _entry("google/gemini-2.5-flash-image-preview", "Google: Gemini 2.5 Flash Image Preview",
           ["image", "text"], ["image", "text"], expiration="2026-01-15"),
    _entry("openai/gpt-5-image", "OpenAI: GPT-5 Image", ["image", "text", "file"], ["image", "text"]),
    _entry("openai/gpt-5-image-mini", "OpenAI: GPT-5 Image Mini", ["image", "text", "file"],
           ["image", "text"]),
    _entry("black-forest-labs/flux.2-pro", "Black Forest Labs: FLUX.2 Pro", ["text", "image"],
           ["image"], params=("seed",)),
    # A day-0 text-to-image model the curated table does not know (fictional, for tests).
    _entry("example/sketch-image-1", "Example: Sketch Image 1", ["text"], ["image"], params=("seed",)),
    _entry("openai/gpt-4o", "OpenAI: GPT-4o", ["text", "image"], ["text"]),
]


class OpenRouterEmulator(ChatEmulator):
    """OpenRouter at `/api/v1` (and at the root, for `base_url=emulator.base_url`)."""

    label = "OpenRouter"
    style = "images"
    require_image_modality = True
    reasoning_models = ("google/gemini-3-pro-image-preview", "google/gemini-3.1-flash-image-preview")
    aspect_ratios = _RATIOS
    image_sizes = ("0.5K", "1K", "2K", "4K")
    models: ClassVar[list[dict[str, Any]]] = CATALOGUE
    demo_models: ClassVar[dict[str, str]] = {
        "generate": "google/gemini-2.5-flash-image",
        "edit": "google/gemini-2.5-flash-image",
        "compose": "google/gemini-3-pro-image-preview",
    }

    def upstream_for(self, model: str) -> str:
        owner = model.split("/", 1)[0]
        return {"google": "Google", "openai": "OpenAI", "black-forest-labs": "Black Forest Labs"}.get(
            owner, "Example")

    # -- errors

    def error_body(self, status: int, message: str, error_type: str = "invalid_request",
                   metadata: dict[str, Any] | None = None) -> dict[str, Any]:
        error: dict[str, Any] = {"code": status, "message": message}
        meta = {"error_type": error_type, **(metadata or {})}
        error["metadata"] = meta
        return {"error": error}

    def error_response(self, kind: str) -> Response:
        if kind == "auth":
            return Response.json(self.error_body(401, "No cookie auth credentials found", "authentication"), 401)
        if kind == "quota":
            return Response.json(self.error_body(
                402, "This request requires more credits, or fewer max_tokens. You requested up to "
                "1290 tokens, but can only afford 12. To increase, visit https://openrouter.ai/settings/credits",
                "payment_required"), 402)
        if kind == "blocked":
            return Response.json(self.error_body(
                403, "Input was flagged by moderation.", "content_policy_violation",
                {"reasons": ["violence"], "flagged_input": "a picture of...",
                 "provider_name": "Google", "model_slug": "google/gemini-2.5-flash-image"}), 403)
        if kind == "rate_limit":
            return Response.json(self.error_body(
                429, "Rate limit exceeded: limit_rpm/google/gemini-2.5-flash-image", "rate_limit_exceeded"),
                429, {"Retry-After": "1", "X-RateLimit-Limit": "20", "X-RateLimit-Remaining": "0",
                      "X-RateLimit-Reset": "1767225660000"})
        if kind == "bad_request":
            return Response.json(self.error_body(400, "Invalid request: messages is required", "invalid_request"), 400)
        if kind == "overloaded":
            return Response.json(self.error_body(
                503, "No allowed providers are available for the selected model.", "provider_overloaded"),
                503, {"Retry-After": "1"})
        if kind == "server_error":
            return Response.json(self.error_body(
                502, "Provider returned error", "provider_unavailable",
                {"provider_name": "Google", "raw": "upstream connect error"}), 502)
        raise ValueError(kind)

    # -- model list and per-model checks

    def models_response(self, request: RecordedRequest) -> Any:
        wanted = (request.query.get("output_modalities") or ["text"])[0]
        kinds = {w.strip() for w in wanted.split(",") if w.strip()}
        data = [m for m in self.models if "all" in kinds
                or kinds & set(m["architecture"]["output_modalities"])]
        return {"data": data, "total_count": len(data), "links": {"next": None}}

    def check_call(self, call: ChatCall) -> Response | None:
        model = call.body["model"]
        entry = next((m for m in self.models if m["id"] == model), None)
        if entry is None:
            return Response.json(self.error_body(400, f"{model} is not a valid model ID", "invalid_request"), 400)
        arch = entry["architecture"]
        wanted = set(call.body.get("modalities") or ["text"])
        if not wanted <= set(arch["output_modalities"]):
            return Response.json(self.error_body(
                404, "No endpoints found that support the requested output modalities: "
                + ", ".join(sorted(wanted)), "not_found"), 404)
        sends_images = any(
            isinstance(m.get("content"), list) and any(p.get("type") == "image_url" for p in m["content"])
            for m in call.messages
        )
        if sends_images and "image" not in arch["input_modalities"]:
            return Response.json(self.error_body(404, "No endpoints found that support image input",
                                                 "not_found"), 404)
        if (entry.get("expiration_date") or "9999") <= datetime.date.today().isoformat():
            return Response.json(self.error_body(
                404, f"{model} has been deprecated and is no longer available", "not_found"), 404)
        return None


if __name__ == "__main__":  # `python -m apiedit_openrouter.emulator` runs it, as `apiedit emulate openrouter`
    from apiedit.console.emulate import module_main

    module_main("openrouter")
