"""A loopback emulator of an OpenAI-compatible chat-completions API that makes images.

Plugins for OpenRouter, PixelWords or any relay subclass `ChatEmulator` and set their quirks:
the error envelope (`error_response`), the model list, whether `modalities` must ask for an
image, the default answer shape. The emulator checks what it receives the way a strict server
would (roles, content parts, decodable `data:` URLs, `reasoning_details` echoed unchanged) and
records every call as a `ChatCall`, so a test can assert the images arrived in order and turn 3
of a conversation carried the whole history.

Output images are derived from the request, so order and options are checkable: a strip of
blocks, one per input image of the last user message in order, each filled with that image's
mean colour (one block coloured from the prompt's hash for text-to-image), at the requested
aspect ratio. `block_colours(png)` reads the colours back.

Answer shapes (`ChatEmulator.style`, or `emulate:<style>` anywhere in the last user text):
  images          message.images[] data URL (OpenRouter), text in content
  null_content    message.images[] with content null
  two_images      two images in message.images[]
  markdown_data   Markdown `![image](data:...)` in a content string
  markdown_https  Markdown `![image](https://...)` pointing at `serve_bytes`
  bare_url        a bare link to the image inside the text
  bare_data       a bare `data:` URI inside the text
  parts           content as a list of parts: text, then `image_url`
  jpeg_as_png     JPEG bytes labelled `data:image/png`
  text_only       text and no image (finish_reason stop)
  refusal         a refusal in message.refusal and content
  content_filter  no content, finish_reason content_filter (native IMAGE_SAFETY)
  empty           no choices at all
  error_chunk     HTTP 200 with a top-level error and finish_reason error
"""

from __future__ import annotations

import io
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .emulator import ERROR_KINDS, Emulator, RecordedRequest, Response, WireRecord
from .painter import block_colours, mean_colour, prompt_colour, strip

__all__ = [
    "STYLES", "ChatCall", "ChatEmulator", "block_colours", "colours_close", "decode_data_url",
    "mean_colour", "message_images",
]

STYLES = (
    "images", "null_content", "two_images", "markdown_data", "markdown_https", "bare_url",
    "bare_data", "parts", "jpeg_as_png", "text_only", "refusal", "content_filter", "empty",
    "error_chunk",
)
_MAGIC = re.compile(r"emulate:([a-z_]+)")
_DATA_URL = re.compile(r"^data:(?P<mime>[^;,]*)(?P<b64>;base64)?,(?P<payload>.*)$", re.DOTALL)
_ROLES = {"system", "developer", "user", "assistant", "tool"}
_RATIOS = re.compile(r"^(\d+(?:\.\d+)?):(\d+(?:\.\d+)?)$")
_ERROR_CHUNK_MESSAGE = "Upstream provider returned an error mid-generation."


class _BadRequest(Exception):
    def __init__(self, message: str, error_type: str = "invalid_request") -> None:
        super().__init__(message)
        self.error_type = error_type


@dataclass
class ChatCall:
    """One chat request as the emulator understood it, and what it answered."""

    body: dict[str, Any]
    messages: list[dict[str, Any]]
    prompt: str  # text of the last user message
    input_images: list[bytes]  # images of the last user message, in order
    headers: dict[str, str]
    style: str
    answer_id: str = ""
    output: bytes | None = None  # the image made, if any
    reasoning_details: list[dict[str, Any]] = field(default_factory=list)  # what was issued

    @property
    def history(self) -> list[dict[str, Any]]:
        """Every message before the last user message."""
        return self.messages[:-1]


def _decode_b64(text: str) -> bytes:
    import base64

    cleaned = re.sub(r"\s+", "", text).replace("-", "+").replace("_", "/").rstrip("=")
    if len(cleaned) % 4 == 1:
        raise ValueError("truncated base64")
    return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)


def decode_data_url(url: str) -> bytes:
    """The bytes of a base64 `data:` URL (either alphabet, padding optional)."""
    match = _DATA_URL.match(url.strip())
    if not match or not match["b64"]:
        raise ValueError("not a base64 data: URL")
    return _decode_b64(match["payload"])


def colours_close(a: tuple[int, ...], b: tuple[int, ...], tolerance: int = 6) -> bool:
    """Whether two colours match within `tolerance` per channel (encoders shift them a little)."""
    return all(abs(x - y) <= tolerance for x, y in zip(a, b))


def message_images(message: dict[str, Any]) -> list[bytes]:
    """The bytes of a chat message's `image_url` parts, in order (none for plain text)."""
    content = message["content"]
    if isinstance(content, str):
        return []
    return [decode_data_url(p["image_url"]["url"]) for p in content if p["type"] == "image_url"]


def _png(colours: list[tuple[int, int, int]], ratio: str | None, fmt: str = "PNG",
         serial: int | None = None) -> bytes:
    """The shared painter's strip (`apiedit.testing.painter`) of `colours` at `ratio`; with a
    `serial`, its top-left pixel encodes it, so two answers to the same request differ (the
    suite checks outputs come back in order)."""
    return strip(colours, ratio=ratio, fmt=fmt, serial=serial)


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode("ascii")


class ChatEmulator(Emulator):
    """OpenAI-compatible `/chat/completions` plus `/models`, making derived images."""

    label = "Chat relay"
    style = "images"  # default answer shape; see STYLES
    answer_text = "Here is your image."
    path_prefix = r"(?:/api)?(?:/v1)?"
    require_image_modality = False  # True: no image unless `modalities` contains "image"
    serve_models = True
    reasoning_models: tuple[str, ...] = ()  # models whose answers carry reasoning_details
    aspect_ratios: tuple[str, ...] = ()  # accepted image_config.aspect_ratio values (empty: any)
    image_sizes: tuple[str, ...] = ()  # accepted image_config.image_size values (empty: any)
    upstream = ""  # value of the answer's `provider` field ("" leaves it out)
    models: ClassVar[list[dict[str, Any]]] = []  # served by GET /models (or models_response)
    demo_models: ClassVar[dict[str, str]] = {}

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.chats: list[ChatCall] = []
        self._ids = itertools.count(1)
        self._issued: dict[str, str] = {}  # reasoning data -> canonical JSON of the whole item
        self._chat_lock = threading.Lock()
        self._serials = itertools.count(1)  # stamps each output picture (see `_png`)
        self._failures: list[str] = []  # styles for the next answers (`fail_next_answer`)

    # -- routes

    def setup_routes(self) -> None:
        self.route("POST", self.path_prefix + r"/chat/completions", self.chat_completion, billable=True)
        if self.serve_models:
            self.route("GET", self.path_prefix + r"/models", self.list_models)

    # -- provider quirks, to override

    def error_body(self, status: int, message: str, error_type: str = "invalid_request",
                   metadata: dict[str, Any] | None = None) -> dict[str, Any]:
        """The error envelope; OpenAI-style here, OpenRouter overrides it."""
        return {"error": {"message": message, "type": error_type, "code": error_type}}

    def error_response(self, kind: str) -> Response:
        """OpenAI-compatible canned errors, as relays built on one-api/new-api send them."""
        canned = {
            "auth": (401, "Incorrect API key provided.", "invalid_api_key", {}),
            "quota": (429, "You exceeded your current quota.", "insufficient_quota", {}),
            "rate_limit": (429, "Rate limit reached for requests.", "rate_limit_exceeded",
                           {"Retry-After": "1"}),
            "blocked": (400, "Your request was rejected by the safety system.",
                        "content_policy_violation", {}),
            "bad_request": (400, "Invalid request: messages must not be empty.",
                            "invalid_request_error", {}),
            "overloaded": (503, "The upstream model is overloaded. Please try again later.",
                           "model_overloaded", {}),
            "server_error": (500, "Internal server error.", "server_error", {}),
        }
        status, message, error_type, headers = canned[kind]
        return Response.json(self.error_body(status, message, error_type), status, headers)

    def models_response(self, request: RecordedRequest) -> Any:
        """`GET /models`: the OpenAI list shape by default."""
        return {"object": "list", "data": list(self.models)}

    def list_models(self, request: RecordedRequest, match: re.Match[str]) -> Any:
        return self.models_response(request)

    # -- the chat route

    def chat_completion(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        auth = request.headers.get("authorization", "")
        if not auth.lower().startswith("bearer ") or not auth[7:].strip():
            return self.error_response("auth")
        try:
            call = self._parse(request)
        except _BadRequest as exc:
            return Response.json(self.error_body(400, str(exc), exc.error_type), 400)
        refused = self.check_call(call)
        self.record_wire(self.wire_record(call))
        if refused is not None:
            return refused
        with self._chat_lock:
            self.chats.append(call)
        return Response.json(self.answer(call))

    def wire_record(self, call: ChatCall) -> WireRecord:
        """The neutral record of one chat call (`Emulator.wire`); subclasses add their knobs."""
        body = call.body
        config = body.get("image_config") if isinstance(body.get("image_config"), dict) else {}
        images = tuple(self._wire_image(p["image_url"]["url"]) for p in self._image_parts(call))
        knobs = {k: body[k] for k in ("modalities", "temperature", "provider") if k in body}
        return WireRecord(
            "chat", model=body.get("model"), prompt=call.prompt, images=images,
            count=body.get("n"), seed=body.get("seed"), aspect_ratio=config.get("aspect_ratio"),
            resolution=config.get("image_size"), extra=knobs, headers=call.headers,
        )

    @staticmethod
    def _image_parts(call: ChatCall) -> list[dict[str, Any]]:
        content = call.messages[-1].get("content")
        return [p for p in content if p.get("type") == "image_url"] if isinstance(content, list) else []

    def _wire_image(self, url: str) -> bytes:
        """An input image as sent: a data URL decoded, a link this emulator serves fetched."""
        try:
            return decode_data_url(url) if url.startswith("data:") else self.image_bytes(url)
        except ValueError:
            return b""

    def check_call(self, call: ChatCall) -> Response | None:
        """A provider's own refusal of a well-formed call (unknown model...), or None."""
        return None

    def upstream_for(self, model: str) -> str:
        """The answer's `provider` field ("" leaves it out)."""
        return self.upstream

    def _parse(self, request: RecordedRequest) -> ChatCall:
        try:
            body = request.json()
        except ValueError:
            raise _BadRequest("The request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise _BadRequest("The request body must be a JSON object.")
        if not isinstance(body.get("model"), str) or not body["model"]:
            raise _BadRequest("No model specified.")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise _BadRequest("messages must be a non-empty array.")
        for index, message in enumerate(messages):
            self._check_message(index, message)
        if messages[-1].get("role") != "user":
            raise _BadRequest("The last message must come from the user.")
        self._check_options(body)
        prompt, images = self._user_content(messages[-1])
        magic = _MAGIC.search(prompt)
        style = magic.group(1) if magic else self.style
        if style not in STYLES:
            raise _BadRequest(f"unknown emulator style {style!r}; use one of {', '.join(STYLES)}")
        return ChatCall(body, messages, prompt, images, dict(request.headers), style)

    def _check_message(self, index: int, message: Any) -> None:
        if not isinstance(message, dict) or message.get("role") not in _ROLES:
            raise _BadRequest(f"messages[{index}] needs a role among {sorted(_ROLES)}.")
        content = message.get("content")
        role = message["role"]
        if role == "assistant":
            if content is not None and not isinstance(content, (str, list)):
                raise _BadRequest(f"messages[{index}].content must be a string, a list or null.")
            for image in message.get("images") or ():
                url = (image.get("image_url") or {}).get("url") if isinstance(image, dict) else None
                if not isinstance(url, str):
                    raise _BadRequest(f"messages[{index}].images items need image_url.url.")
                self._image_bytes(url, f"messages[{index}].images")
            details = message.get("reasoning_details")
            if details is not None:
                self._check_reasoning(index, details)
            return
        if isinstance(content, str):
            return
        if not isinstance(content, list) or not content:
            raise _BadRequest(f"messages[{index}].content must be a string or a list of parts.")
        for part in content:
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "text" and isinstance(part.get("text"), str):
                continue
            if kind == "image_url" and isinstance((part.get("image_url") or {}).get("url"), str):
                self._image_bytes(part["image_url"]["url"], f"messages[{index}]")
                continue
            raise _BadRequest(f"messages[{index}] has an unsupported content part: {str(part)[:80]}")

    def _check_reasoning(self, index: int, details: Any) -> None:
        """Gemini rejects thought signatures that were changed: so does the emulator."""
        if not isinstance(details, list):
            raise _BadRequest(f"messages[{index}].reasoning_details must be an array.")
        for item in details:
            if not isinstance(item, dict) or "type" not in item:
                raise _BadRequest(f"messages[{index}].reasoning_details items need a type.")
            data = item.get("data")
            if item["type"] == "reasoning.encrypted" and isinstance(data, str):
                issued = self._issued.get(data)
                if issued != json.dumps(item, sort_keys=True):
                    raise _BadRequest(
                        "Corrupted thought signature: reasoning_details must be passed back "
                        "exactly as received.", "invalid_request",
                    )

    def _check_options(self, body: dict[str, Any]) -> None:
        modalities = body.get("modalities")
        if modalities is not None and (
            not isinstance(modalities, list) or not set(modalities) <= {"text", "image", "audio"}
        ):
            raise _BadRequest("modalities must be a list of 'text', 'image', 'audio'.")
        config = body.get("image_config")
        if config is None:
            return
        if not isinstance(config, dict):
            raise _BadRequest("image_config must be an object.")
        ratio, size = config.get("aspect_ratio"), config.get("image_size")
        if ratio is not None and self.aspect_ratios and ratio not in self.aspect_ratios:
            raise _BadRequest(f"Unsupported aspect_ratio {ratio!r}.")
        if size is not None and self.image_sizes and size not in self.image_sizes:
            raise _BadRequest(f"Unsupported image_size {size!r}.")

    def _image_bytes(self, url: str, where: str) -> bytes | None:
        """Decode a `data:` URL and check it is an image; https URLs are accepted unfetched."""
        if url.startswith(("http://", "https://")):
            return None
        try:
            data = decode_data_url(url)
        except ValueError as exc:
            raise _BadRequest(f"{where}: invalid image data URL ({exc}).", "invalid_image") from None
        from PIL import Image

        try:
            with Image.open(io.BytesIO(data)) as img:
                img.verify()
        except Exception:  # noqa: BLE001  (Pillow raises many types on junk bytes)
            raise _BadRequest(f"{where}: the data URL is not a decodable image.", "invalid_image") from None
        return data

    def _user_content(self, message: dict[str, Any]) -> tuple[str, list[bytes]]:
        content = message.get("content")
        if isinstance(content, str):
            return content, []
        texts, images = [], []
        for part in content or ():
            if part["type"] == "text":
                texts.append(part["text"])
            else:
                data = self._image_bytes(part["image_url"]["url"], "last user message")
                images.append(data if data is not None else b"")
        return "\n".join(texts), images

    # -- answers

    def output_image(self, call: ChatCall, fmt: str = "PNG") -> bytes:
        """The strip of blocks described in the module docstring."""
        if self.storybook:
            ratio = (call.body.get("image_config") or {}).get("aspect_ratio") or "1:1"
            a, b = (float(x) for x in ratio.split(":")) if _RATIOS.match(ratio) else (1.0, 1.0)
            inputs = [i for i in call.input_images if i] or self._last_answer_image(call)
            return self.storybook_picture(call.prompt, inputs, (768, round(768 * b / a)), fmt)
        if call.input_images:
            colours = [mean_colour(i) if i else (128, 128, 128) for i in call.input_images]
        else:
            colours = [prompt_colour(call.prompt)]
        ratio = (call.body.get("image_config") or {}).get("aspect_ratio")
        return _png(colours, ratio, fmt, serial=next(self._serials))

    def _last_answer_image(self, call: ChatCall) -> list[bytes]:
        """The newest image an assistant message holds (native conversations build on it)."""
        for message in reversed(call.messages[:-1]):
            if message.get("role") != "assistant":
                continue
            urls = [i["image_url"]["url"] for i in message.get("images") or ()]
            if isinstance(message.get("content"), list):
                urls += [p["image_url"]["url"] for p in message["content"] if p.get("type") == "image_url"]
            for url in reversed(urls):
                data = self._image_bytes(url, "history")
                if data:
                    return [data]
        return []

    def wants_image(self, call: ChatCall) -> bool:
        """Whether the request asked for image output at all."""
        if not self.require_image_modality:
            return True
        return "image" in (call.body.get("modalities") or ())

    def answer(self, call: ChatCall) -> dict[str, Any]:
        """The chat completion for `call`, in `call.style`."""
        call.answer_id = f"gen-{int(time.time())}-{next(self._ids)}"
        with self._chat_lock:
            failure = self._failures.pop(0) if self._failures else None
        style = failure or (call.style if self.wants_image(call) else "text_only")
        message: dict[str, Any] = {"role": "assistant", "content": self.answer_text}
        finish, native = "stop", "STOP"
        image = self.output_image(call, "JPEG" if style == "jpeg_as_png" else "PNG")
        data_url = f"data:image/png;base64,{_b64(image)}"
        item = {"type": "image_url", "image_url": {"url": data_url}}
        text = self.answer_text
        if style in ("images", "jpeg_as_png"):
            message["images"] = [item]
        elif style == "null_content":
            message.update(content=None, images=[item])
        elif style == "two_images":
            r, g, b = mean_colour(image)
            second = _png([(255 - r, 255 - g, 255 - b)], None)
            message["images"] = [item, {"type": "image_url", "image_url": {
                "url": f"data:image/png;base64,{_b64(second)}"}}]
        elif style == "markdown_data":
            message["content"] = f"{text}\n\n![image]({data_url})"
        elif style == "markdown_https":
            message["content"] = f"{text}\n\n![image]({self.output_url(image, 'image/png')})"
        elif style == "bare_url":
            message["content"] = f"{text} {self.output_url(image, 'image/png')}"
        elif style == "bare_data":
            message["content"] = f"{text}\n{data_url}"
        elif style == "parts":
            message["content"] = [{"type": "text", "text": text}, item]
        elif style == "text_only":
            message["content"] = "I can describe pictures, but I did not draw one this time."
        elif style == "refusal":
            refusal = "I'm sorry, but I can't help create that image."
            message.update(content=refusal, refusal=refusal)
        elif style == "content_filter":
            message["content"] = None
            finish, native = "content_filter", "IMAGE_SAFETY"
        if style in ("images", "null_content", "two_images", "jpeg_as_png", "markdown_data",
                     "markdown_https", "bare_url", "bare_data", "parts"):
            call.output = image
            if style not in ("markdown_https", "bare_url"):  # output_url recorded those
                self.record_output(image)
            if style == "two_images":
                self.record_output(second)
        if call.body.get("model") in self.reasoning_models and call.output is not None:
            details = [{"type": "reasoning.encrypted", "data": f"sig-{call.answer_id}-{_b64(image[:12])}",
                        "format": "google-gemini-v1", "index": 0}]
            for detail in details:
                self._issued[str(detail["data"])] = json.dumps(detail, sort_keys=True)
            message["reasoning_details"] = details
            call.reasoning_details = details
        answer: dict[str, Any] = {
            "id": call.answer_id,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": call.body["model"],
            "choices": [{"index": 0, "finish_reason": finish, "native_finish_reason": native,
                         "message": message}],
            "usage": {"prompt_tokens": 10 + 258 * len(call.input_images), "completion_tokens": 1290,
                      "total_tokens": 1300 + 258 * len(call.input_images)},
        }
        if self.upstream_for(call.body["model"]):
            answer["provider"] = self.upstream_for(call.body["model"])
        if style == "empty":
            answer["choices"] = []
        elif style == "error_chunk":
            answer["error"] = {"code": 502, "message": _ERROR_CHUNK_MESSAGE,
                               "metadata": {"error_type": "provider_unavailable"}}
            answer["choices"] = [{"index": 0, "finish_reason": "error", "native_finish_reason": None,
                                  "message": {"role": "assistant", "content": ""}}]
        return answer

    # -- optional abilities of `Emulator` the conformance suite uses

    serves_output_urls = True  # the markdown_https style links the image

    def answer_outputs_via(self, rewrite: Any) -> None:
        """Answer with a Markdown link to the image (rewritten), as some relays do."""
        super().answer_outputs_via(rewrite)
        if rewrite is not None:
            self.style = "markdown_https"

    _IN_BAND = {"blocked": "content_filter", "server_error": "error_chunk"}

    def fail_next_answer(self, kind: str) -> str | None:
        """"blocked": a 200 with finish_reason content_filter; "server_error": a 200 carrying
        an error object (OpenRouter's mid-generation failure). Other kinds are HTTP errors only."""
        if kind not in ERROR_KINDS:
            raise ValueError(f"unknown error kind {kind!r}")
        if kind not in self._IN_BAND:
            super().fail_next_answer(kind)
        with self._chat_lock:
            self._failures.append(self._IN_BAND[kind])
        return _ERROR_CHUNK_MESSAGE if kind == "server_error" else None

    # -- helpers for tests

    def reset(self) -> None:
        """Forget the log, the chat calls, the counters and the faults."""
        super().reset()
        with self._chat_lock:
            self.chats.clear()
            self._failures.clear()

    def last_chat(self) -> ChatCall:
        """The latest chat call (fails loudly when there was none)."""
        with self._chat_lock:
            if not self.chats:
                raise AssertionError(f"{type(self).__name__} received no chat request")
            return self.chats[-1]
