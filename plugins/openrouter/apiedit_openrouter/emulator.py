"""A loopback emulator of OpenRouter's image APIs: chat completions (`providers.md` §3) and the
dedicated Image API, `POST /images` and `GET /images/models` (providers-2026-12.md).

Faithful where the plugin could go wrong: no image unless `modalities` asks for one, 404 "No
endpoints found" when the modalities or image input do not fit the model, `image_config`
values checked, Gemini 3 answers carrying `reasoning_details` that must come back unchanged,
`/models` filtered by `output_modalities` (text only by default), and OpenRouter's
`{"error":{code,message,metadata}}` envelope for 401, 402, 403 moderation, 429 with
Retry-After, 502 and 503. Models past their `expiration_date` leave `/models` and answer 404.
The catalogue is December 2026's; the slugs of Google's GA image models are UNVERIFIED.
"""

from __future__ import annotations

import datetime
from typing import Any, ClassVar

import base64
import threading
import time

from apiedit.testing.chat_emulator import ChatCall, ChatEmulator, _png, decode_data_url, mean_colour
from apiedit.testing.emulator import RecordedRequest, Response, WireRecord

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
    _entry("google/gemini-nano-banana-2.1", "Google: Nano Banana 2.1",
           ["image", "text"], ["image", "text"]),
    _entry("google/gemini-3-pro-image", "Google: Nano Banana Pro (Gemini 3 Pro Image)",
           ["image", "text"], ["image", "text"]),
    _entry("google/gemini-3.1-flash-image", "Google: Nano Banana 2 (Gemini 3.1 Flash Image)",
           ["image", "text"], ["image", "text"]),
    _entry("google/gemini-2.5-flash-image", "Google: Gemini 2.5 Flash Image (Nano Banana)",
           ["image", "text"], ["image", "text"], expiration="2026-10-02"),
    _entry("google/gemini-3-pro-image-preview", "Google: Nano Banana Pro (Gemini 3 Pro Image Preview)",
           ["image", "text"], ["image", "text"], expiration="2026-06-25"),
    _entry("google/gemini-3.1-flash-image-preview", "Google: Nano Banana 2 (Gemini 3.1 Flash Image Preview)",
           ["image", "text"], ["image", "text"], expiration="2026-06-25"),
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
    reasoning_models = ("google/gemini-3-pro-image", "google/gemini-3.1-flash-image",
                        "google/gemini-nano-banana-2.1")
    # What `GET /images/models` lists (UNVERIFIED which ones): here the Google image models and
    # FLUX; GPT-5 Image stays chat-only.
    image_api_models: ClassVar[tuple[str, ...]] = (
        "google/gemini-nano-banana-2.1", "google/gemini-3-pro-image", "google/gemini-3.1-flash-image",
        "black-forest-labs/flux.2-pro", "example/sketch-image-1",
    )
    aspect_ratios = _RATIOS
    image_sizes = ("0.5K", "1K", "2K", "4K")
    models: ClassVar[list[dict[str, Any]]] = CATALOGUE
    demo_models: ClassVar[dict[str, str]] = {
        "generate": "openai/gpt-5-image",
        "edit": "openai/gpt-5-image",
        "compose": "openai/gpt-5-image",
    }
    serve_image_api = True  # False: an older relay without the Image API (its routes 404)

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.image_calls: list[dict[str, Any]] = []  # every accepted POST /images body
        self.image_api_ids = list(self.image_api_models)  # per instance: tests add models
        self._images_lock = threading.Lock()

    def setup_routes(self) -> None:
        super().setup_routes()
        self.route("POST", self.path_prefix + r"/images", self.images_generate, billable=True)
        self.route("GET", self.path_prefix + r"/images/models", self.images_models)

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

    @staticmethod
    def _expired(entry: dict[str, Any]) -> bool:
        return (entry.get("expiration_date") or "9999") <= datetime.date.today().isoformat()

    def models_response(self, request: RecordedRequest) -> Any:
        wanted = (request.query.get("output_modalities") or ["text"])[0]
        kinds = {w.strip() for w in wanted.split(",") if w.strip()}
        data = [m for m in self.models if ("all" in kinds
                or kinds & set(m["architecture"]["output_modalities"])) and not self._expired(m)]
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
        if self._expired(entry):
            return Response.json(self.error_body(
                404, f"{model} has been deprecated and is no longer available", "not_found"), 404)
        return None

    # -- the Image API

    def _unauthorised(self, request: RecordedRequest) -> bool:
        auth = request.headers.get("authorization", "")
        return not auth.lower().startswith("bearer ") or not auth[7:].strip()

    def images_models(self, request: RecordedRequest, match: Any) -> Response:
        if not self.serve_image_api:
            return Response.json(self.error_body(404, "Not Found", "not_found"), 404)
        if self._unauthorised(request):
            return self.error_response("auth")
        return Response.json({"data": [{"id": m} for m in self.image_api_ids]})

    def _bad(self, message: str) -> Response:
        return Response.json(self.error_body(400, message, "invalid_request"), 400)

    def images_generate(self, request: RecordedRequest, match: Any) -> Response:
        """`POST /images`: checks the documented fields, answers `{created, data, usage}`."""
        if not self.serve_image_api:
            return Response.json(self.error_body(404, "Not Found", "not_found"), 404)
        if self._unauthorised(request):
            return self.error_response("auth")
        try:
            body = request.json()
        except ValueError:
            return self._bad("Invalid JSON body")
        model, prompt = body.get("model"), body.get("prompt")
        if model not in self.image_api_ids:
            return self._bad(f"{model} is not a valid model ID")
        if not isinstance(prompt, str) or not prompt.strip():
            return self._bad("prompt is required")
        n = body.get("n", 1)
        if not isinstance(n, int) or not 1 <= n <= 10:
            return self._bad("n must be an integer from 1 to 10")
        refs = body.get("input_references") or []
        if not isinstance(refs, list) or len(refs) > 16:
            return self._bad("input_references takes at most 16 images")
        images: list[bytes] = []
        for ref in refs:
            url = ((ref or {}).get("image_url") or {}).get("url") if isinstance(ref, dict) else None
            if not isinstance(ref, dict) or ref.get("type") != "image_url" or not isinstance(url, str):
                return self._bad("input_references items are {type: 'image_url', image_url: {url}}")
            images.append(decode_data_url(url) if url.startswith("data:") else b"")
        if body.get("resolution") not in (None, "512", "1K", "2K", "4K"):
            return self._bad(f"Invalid resolution {body['resolution']!r}: use 512, 1K, 2K or 4K")
        ratio = body.get("aspect_ratio")
        if ratio is not None and ratio not in self.aspect_ratios:
            return self._bad(f"Invalid aspect_ratio {ratio!r}")
        unknown = set(body) - {"model", "prompt", "n", "input_references", "resolution", "aspect_ratio",
                               "size", "quality", "output_format", "background", "seed", "stream",
                               "provider"}
        if unknown:
            return self._bad(f"Unknown parameter(s): {', '.join(sorted(unknown))}")
        with self._images_lock:
            self.image_calls.append({**body, "decoded_references": images})
        wired = [self._wire_image(((r or {}).get("image_url") or {}).get("url", "")) for r in refs]
        self.record_wire(WireRecord(
            "generate" if not refs else "edit", model=model, prompt=prompt, images=wired,
            count=n if "n" in body else None, seed=body.get("seed"), size=body.get("size"),
            aspect_ratio=ratio, resolution=body.get("resolution"),
            extra={k: body[k] for k in ("quality", "output_format", "background", "provider") if k in body},
            headers=request.headers,
        ))
        colours = [mean_colour(i) if i else (128, 128, 128) for i in images] or [(40, 120, 200)]
        pictures = [_png(colours, ratio, "PNG", serial=next(self._serials)) for _ in range(n)]
        for picture in pictures:
            self.record_output(picture)
        data = [{"b64_json": base64.b64encode(picture).decode(), "media_type": "image/png"}
                for picture in pictures]
        return Response.json({"created": int(time.time()), "data": data,
                              "usage": {"prompt_tokens": 12, "completion_tokens": 1290 * n,
                                        "cost": 0.039 * n}})

if __name__ == "__main__":  # `python -m apiedit_openrouter.emulator` runs it, as `apiedit emulate openrouter`
    from apiedit.console.emulate import module_main

    module_main("openrouter")
