"""A loopback emulator of the OpenAI Images API, faithful to the OpenAPI spec and providers.md §2.

Serves, relative to its base URL (which stands for `https://api.openai.com/v1`):
  GET  /models, /models/{id}            the model list, with `shutdown_date`
  POST /images/generations              JSON (`CreateImageRequest`)
  POST /images/edits                    multipart (`image`, repeated `image[]` or `image`, `mask`)
                                        or JSON (`EditImageBodyJsonParam`)
It checks requests as the real API does (Bearer key, known model, sizes, `n`, prompt length,
image formats, dall-e-3 cannot edit, dall-e-2 wants one square PNG) and answers 400/401/404
with OpenAI's error envelope. Images are real PNG/JPEG/WebP whose pixels tell what was asked:
a generation is filled with a colour hashed from the prompt; an edit shows the inputs' mean
colours as vertical strips, left to right in the order received. DALL-E answers with URLs.

Per-test variants: a prompt containing `emulate:<variant>` answers with that variant
(`auth`, `quota`, `rate_limit`, `blocked`, `bad_request`, `overloaded`, `server_error`,
`output_blocked`, `content_policy`, `verification`, `empty`); `fault_for(kind)` gives the same
canned errors as injectable faults. Every accepted call is kept in `calls` (inputs in order,
outputs), so tests can check image order and that a later turn received an earlier output.
The Files and Batch endpoints (state machine, fault switches) are in `emulator_batch.py`.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import io
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, ClassVar

from apiedit.testing.emulator import Emulator, RecordedRequest, Response, WireRecord, sniff_image

from .emulator_batch import BatchRoutes

__all__ = ["EmulatedCall", "OpenAIEmulator"]

STANDARD_SIZES = ("auto", "1024x1024", "1536x1024", "1024x1536")
RESPONSE_SIZES = ("1024x1024", "1024x1536", "1536x1024")  # ImagesResponse.size enum
GPT_QUALITIES = ("auto", "low", "medium", "high")
GPT_FORMATS = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}


@dataclass(frozen=True)
class _Model:
    id: str
    kind: str  # "gpt" | "dall-e-2" | "dall-e-3"
    custom_sizes: bool = False
    qualities: tuple[str, ...] = GPT_QUALITIES
    can_edit: bool = True
    shutdown_date: str | None = None
    created: int = 1_740_000_000

    @property
    def sizes(self) -> tuple[str, ...]:
        if self.kind == "dall-e-2":
            return ("256x256", "512x512", "1024x1024")
        if self.kind == "dall-e-3":
            return ("1024x1024", "1792x1024", "1024x1792")
        return STANDARD_SIZES

    @property
    def max_prompt(self) -> int:
        return {"dall-e-2": 1000, "dall-e-3": 4000}.get(self.kind, 32_000)


_XQ = (*GPT_QUALITIES, "xhigh", "max")
IMAGE_MODELS = [
    _Model("gpt-image-1.5", "gpt"),
    _Model("gpt-image-1-mini", "gpt"),
    _Model("chatgpt-image-latest", "gpt"),
    _Model("gpt-image-2", "gpt", custom_sizes=True),
    _Model("gpt-image-2-2026-04-21", "gpt", custom_sizes=True),
    _Model("gpt-image-2.5-sunburst", "gpt", custom_sizes=True, qualities=_XQ),
    _Model("gpt-image-2.5-sunburst-2026-09-08", "gpt", custom_sizes=True, qualities=_XQ),
    _Model("gpt-image-2.5-flare", "gpt", custom_sizes=True, qualities=_XQ),
    _Model("gpt-image-2.5-flare-2026-09-08", "gpt", custom_sizes=True, qualities=_XQ),
    _Model("gpt-image-2.6-flare", "gpt", custom_sizes=True, qualities=_XQ),
    _Model("gpt-image-2.6-sunburst", "gpt", custom_sizes=True, qualities=_XQ),
    _Model("gpt-image-1", "gpt", shutdown_date="2026-10-23"),
    _Model("dall-e-3", "dall-e-3", qualities=("standard", "hd"), can_edit=False,
           shutdown_date="2026-05-12"),
    _Model("dall-e-2", "dall-e-2", qualities=("standard",), shutdown_date="2026-05-12"),
]
OTHER_MODELS = ["gpt-4o", "gpt-5", "whisper-1", "text-embedding-3-small", "tts-1"]

_GENERATE_FIELDS = {
    "prompt", "model", "n", "quality", "response_format", "output_format", "output_compression",
    "stream", "partial_images", "size", "moderation", "background", "style", "user",
    "safety_identifier", "complexity", "frame_count", "frame_duration_ms", "svg",
}
_EDIT_FIELDS = {
    "image", "image[]", "images", "mask", "prompt", "model", "n", "size", "quality", "background",
    "input_fidelity", "output_format", "output_compression", "response_format", "user", "stream",
    "partial_images", "safety_identifier", "moderation", "complexity", "markup", "frame_count",
    "frame_duration_ms", "svg",
}


@dataclass
class EmulatedCall:
    """One accepted image call, as the emulator understood it."""

    endpoint: str  # "generations" | "edits"
    body_kind: str  # "json" | "multipart"
    model: str
    prompt: str
    params: dict[str, Any]
    image_fields: list[str] = field(default_factory=list)  # form names in order ("image[]"...)
    images: list[bytes] = field(default_factory=list)  # input images in the order received
    mask: bytes | None = None
    markup: bytes | None = None  # GPT Image 2.5's guide overlay (multipart file)
    outputs: list[bytes] = field(default_factory=list)


class _Reject(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def _error(status: int, message: str, kind: str = "invalid_request_error",
           param: str | None = None, code: str | None = None, **extra: Any) -> Response:
    body = {"error": {"message": message, "type": kind, "param": param, "code": code, **extra}}
    return Response.json(body, status)


def _invalid(message: str, param: str | None = None, code: str | None = "invalid_value") -> _Reject:
    return _Reject(_error(400, message, param=param, code=code))


def _colour(text: str) -> tuple[int, int, int]:
    digest = hashlib.sha256(text.encode()).digest()
    return digest[0], digest[1], digest[2]


class OpenAIEmulator(BatchRoutes, Emulator):
    """The OpenAI Images API on 127.0.0.1; see the module docstring."""

    demo_models: ClassVar[dict[str, str]] = {
        "generate": "gpt-image-2.5-flare", "edit": "gpt-image-2.5-flare", "compose": "gpt-image-2.5-flare",
    }

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.models: list[_Model] = list(IMAGE_MODELS)
        self.other_models: list[str] = list(OTHER_MODELS)
        self.valid_keys: set[str] | None = None  # None: any non-empty Bearer key is accepted
        # ids answered 404 as the real API does after shutdown (and left out of /models):
        # those whose date has passed (openai-python 3.57.0: dall-e on 2026-05-12, gpt-image-1
        # on 2026-10-23)
        today = datetime.date.today().isoformat()
        self.shut_down: set[str] = {m.id for m in IMAGE_MODELS
                                    if m.shutdown_date and m.shutdown_date <= today}
        self.calls: list[EmulatedCall] = []
        self._calls_lock = threading.Lock()
        self.init_batches()  # Files + Batch API (emulator_batch.py)

    # ---- routes ----------------------------------------------------------------------------
    def setup_routes(self) -> None:
        self.route("GET", r"/models", self._list_models)
        self.route("GET", r"/models/(?P<model>[^/]+)", self._get_model)
        self.route("POST", r"/images/generations", self._generations, billable=True)
        self.route("POST", r"/images/edits", self._edits, billable=True)
        self.batch_routes()

    def error_response(self, kind: str) -> Response:
        rid = self._request_id()
        canned = {
            "auth": lambda: _error(
                401, "Incorrect API key provided: sk-emu***********************tkey. You can find "
                "your API key at https://platform.openai.com/account/api-keys.",
                code="invalid_api_key"),
            "quota": lambda: _error(
                429, "You exceeded your current quota, please check your plan and billing details. "
                "For more information on this error, read the docs: "
                "https://platform.openai.com/docs/guides/error-codes/api-errors.",
                kind="insufficient_quota", code="insufficient_quota"),
            "rate_limit": lambda: Response.json(
                {"error": {"message": "Rate limit reached for images per min (IPM): Limit 5, "
                           "Used 5, Requested 1. Please try again in 1s.",
                           "type": "requests", "param": None, "code": "rate_limit_exceeded"}},
                429, {"Retry-After": "1", "x-ratelimit-reset-requests": "1s"}),
            "blocked": lambda: _error(
                400, "Your request was rejected by the safety system. If you believe this is an "
                f"error, contact us at help.openai.com and include the request ID {rid}. "
                "safety_violations=[violence].",
                kind="image_generation_user_error", code="moderation_blocked",
                moderation_details={"moderation_stage": "input", "categories": ["violence"]}),
            "bad_request": lambda: _error(
                400, "Invalid value: '999x999'. Supported values are: '1024x1024', '1024x1536', "
                "'1536x1024', and 'auto'.", param="size", code="invalid_value"),
            "overloaded": lambda: _error(
                503, "The engine is currently overloaded, please try again later.",
                kind="server_error"),
            "server_error": lambda: _error(
                500, "The server had an error while processing your request. Sorry about that!",
                kind="server_error"),
            "output_blocked": lambda: _error(
                400, "Your request was rejected by the safety system. "
                "safety_violations=[sexual].", kind="image_generation_user_error",
                code="moderation_blocked",
                moderation_details={"moderation_stage": "output", "categories": ["sexual"]}),
            "content_policy": lambda: _error(
                400, "Your request was rejected as a result of our safety system. Your prompt may "
                "contain text that is not allowed by our safety system.",
                code="content_policy_violation"),
            "verification": lambda: _error(
                403, "Your organization must be verified to use the model `gpt-image-1.5`. Please "
                "go to: https://platform.openai.com/settings/organization/general and click on "
                "Verify Organization. If you just verified, it can take up to 15 minutes for "
                "access to propagate.", code=None),
            "empty": lambda: Response.json({"created": int(time.time()), "data": []}),
        }
        if kind not in canned:
            raise ValueError(f"unknown variant {kind!r}")
        response = canned[kind]()
        response.headers.setdefault("x-request-id", rid)
        return response

    # ---- helpers ---------------------------------------------------------------------------
    @staticmethod
    def _request_id() -> str:
        return f"req_{uuid.uuid4().hex}"

    def _respond(self, response: Response) -> Response:
        response.headers.setdefault("x-request-id", self._request_id())
        response.headers.setdefault("openai-processing-ms", "42")
        response.headers.setdefault("openai-version", "2020-10-01")
        return response

    def _check_auth(self, request: RecordedRequest) -> None:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("bearer ") or not header[7:].strip():
            raise _Reject(_error(
                401, "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                code=None))
        key = header[7:].strip()
        if self.valid_keys is not None and key not in self.valid_keys:
            shown = f"{key[:3]}{'*' * max(0, len(key) - 7)}{key[-4:]}" if len(key) > 8 else "***"
            raise _Reject(_error(
                401, f"Incorrect API key provided: {shown}. You can find your API key at "
                "https://platform.openai.com/account/api-keys.", code="invalid_api_key"))

    def _model(self, model_id: Any, endpoint: str) -> _Model:
        if not isinstance(model_id, str) or not model_id:
            # The spec defaults: dall-e-2 for generations, gpt-image-1.5 for edits.
            model_id = "dall-e-2" if endpoint == "generations" else "gpt-image-1.5"
        found = next((m for m in self.models if m.id == model_id), None)
        if found is None or model_id in self.shut_down:
            raise _Reject(_error(
                404, f"The model `{model_id}` does not exist or you do not have access to it.",
                code="model_not_found"))
        return found

    def _guarded(self, request: RecordedRequest, run: Any) -> Response:
        try:
            self._check_auth(request)
            return self._respond(run())
        except _Reject as rejected:
            return self._respond(rejected.response)

    # ---- /models ---------------------------------------------------------------------------
    def _model_entry(self, model_id: str, created: int, shutdown: str | None) -> dict[str, Any]:
        return {"id": model_id, "object": "model", "created": created,
                "owned_by": "system", "shutdown_date": shutdown}

    def _entries(self) -> list[dict[str, Any]]:
        entries = [self._model_entry(m.id, m.created, m.shutdown_date) for m in self.models
                   if m.id not in self.shut_down]
        entries += [self._model_entry(m, 1_700_000_000, None) for m in self.other_models]
        return entries

    def _list_models(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        return self._guarded(request, lambda: Response.json({"object": "list", "data": self._entries()}))

    def _get_model(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        def run() -> Response:
            for entry in self._entries():
                if entry["id"] == match["model"]:
                    return Response.json(entry)
            raise _Reject(_error(404, f"The model '{match['model']}' does not exist",
                                 param="model", code="model_not_found"))
        return self._guarded(request, run)

    # ---- parsing ---------------------------------------------------------------------------
    @staticmethod
    def _json_body(request: RecordedRequest) -> dict[str, Any]:
        try:
            body = request.json()
        except ValueError:
            raise _invalid("We could not parse the JSON body of your request. (HINT: This likely "
                           "means you aren't using your HTTP library correctly.)", code=None) from None
        if not isinstance(body, dict):
            raise _invalid("The request body must be a JSON object.", code=None)
        return body

    @staticmethod
    def _check_fields(params: dict[str, Any], allowed: set[str]) -> None:
        for name in params:
            if name not in allowed and not name.startswith("svg["):
                raise _invalid(f"Unknown parameter: '{name}'.", param=name, code="unknown_parameter")

    @staticmethod
    def _int(params: dict[str, Any], name: str, default: int) -> int:
        value = params.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            raise _invalid(f"Invalid type for '{name}': expected an integer, but got a boolean "
                           "instead.", param=name, code="invalid_type")
        if isinstance(value, str):  # multipart values arrive as text
            if not re.fullmatch(r"-?\d+", value.strip()):
                raise _invalid(f"Invalid type for '{name}': expected an integer, but got a string "
                               "instead.", param=name, code="invalid_type")
            value = int(value)
        if not isinstance(value, int):
            raise _invalid(f"Invalid type for '{name}': expected an integer.", param=name,
                           code="invalid_type")
        return value

    def _check_common(self, model: _Model, params: dict[str, Any]) -> tuple[int, str, str | None]:
        prompt = params.get("prompt")
        if not isinstance(prompt, str) or not prompt:
            raise _invalid("Missing required parameter: 'prompt'.", param="prompt",
                           code="missing_required_parameter")
        if len(prompt) > model.max_prompt:
            raise _invalid(f"Invalid 'prompt': string too long. Expected a string with maximum "
                           f"length {model.max_prompt}, but got a string with length "
                           f"{len(prompt)} instead.", param="prompt", code="string_above_max_length")
        n = self._int(params, "n", 1)
        if not 1 <= n <= 10:
            raise _invalid(f"Invalid 'n': integer {'below minimum' if n < 1 else 'above maximum'} "
                           f"value. Expected a value {'>= 1' if n < 1 else '<= 10'}, but got {n} "
                           "instead.", param="n",
                           code="integer_below_min_value" if n < 1 else "integer_above_max_value")
        if model.kind == "dall-e-3" and n != 1:
            raise _invalid("Invalid 'n': dall-e-3 only supports n=1.", param="n")
        size = params.get("size") or ("1024x1024" if model.kind.startswith("dall-e") else "auto")
        if not isinstance(size, str):
            raise _invalid("Invalid type for 'size': expected a string.", param="size",
                           code="invalid_type")
        self._check_size(model, size)
        quality = params.get("quality")
        if quality is not None and quality not in model.qualities:
            raise _invalid(f"Invalid value: '{quality}'. Supported values are: "
                           + ", ".join(f"'{q}'" for q in model.qualities) + ".", param="quality")
        if model.kind == "gpt" and params.get("response_format") is not None:
            raise _invalid("Unknown parameter: 'response_format'.", param="response_format",
                           code="unknown_parameter")
        if params.get("style") is not None and model.kind != "dall-e-3":
            raise _invalid("Unknown parameter: 'style'.", param="style", code="unknown_parameter")
        if str(params.get("stream", "false")).lower() == "true":
            raise _invalid("The emulator does not stream; send stream=false.", param="stream")
        complexity = params.get("complexity")
        if complexity is not None and complexity not in ("low", "medium", "high"):
            raise _invalid(f"Invalid value: '{complexity}'. Supported values are: 'low', 'medium', "
                           "and 'high'.", param="complexity")
        output_format = params.get("output_format")
        if output_format is not None and (model.kind != "gpt" or output_format not in GPT_FORMATS):
            raise _invalid(f"Invalid value: '{output_format}'. Supported values are: 'png', "
                           "'jpeg', and 'webp'.", param="output_format")
        return n, size, quality

    @staticmethod
    def _check_size(model: _Model, size: str) -> None:
        if size in model.sizes:
            return
        if model.custom_sizes:
            m = re.fullmatch(r"(\d+)x(\d+)", size)
            if m:
                w, h = int(m[1]), int(m[2])
                problems = []
                if w % 16 or h % 16:
                    problems.append("width and height must be divisible by 16")
                if max(w, h) > 3840:
                    problems.append("the maximum edge is 3840 pixels")
                if max(w, h) > 3 * min(w, h):
                    problems.append("the aspect ratio must be between 1:3 and 3:1")
                if not 655_360 <= w * h <= 8_294_400:
                    problems.append("the total pixel count must be between 655360 and 8294400")
                if not problems:
                    return
                raise _invalid(f"Invalid size '{size}': " + "; ".join(problems) + ".", param="size")
        raise _invalid(f"Invalid value: '{size}'. Supported values are: "
                       + ", ".join(f"'{s}'" for s in model.sizes) + ".", param="size")

    # ---- images ----------------------------------------------------------------------------
    @staticmethod
    def _open(data: bytes, what: str) -> Any:
        from PIL import Image

        try:
            img = Image.open(io.BytesIO(data))
            img.load()
        except Exception:  # noqa: BLE001 - Pillow raises many types on junk; all mean "invalid"
            raise _invalid(f"Invalid image file or mode for {what}.", param="image",
                           code="invalid_image") from None
        return img

    @staticmethod
    def _check_edit_options(model: _Model, call: EmulatedCall, params: dict[str, Any]) -> None:
        """input_fidelity per model and markup (providers-2026-12.md, openai-python 3.57.0)."""
        fidelity = params.get("input_fidelity")
        if fidelity is not None:
            if model.custom_sizes:
                raise _invalid(f"'input_fidelity' is not supported with model '{model.id}'.",
                               param="input_fidelity", code="unsupported_parameter")
            allowed = ("low",) if model.id.startswith("gpt-image-1-mini") else ("high", "low")
            if fidelity not in allowed:
                raise _invalid(f"Invalid value: '{fidelity}'. Supported values are: "
                               + ", ".join(f"'{v}'" for v in allowed) + ".", param="input_fidelity")
        if call.markup is not None:
            if not model.id.startswith(("gpt-image-2.5", "gpt-image-2.6")):
                raise _invalid(f"'markup' is not supported with model '{model.id}'.",
                               param="markup", code="unsupported_parameter")
            if call.mask is not None:
                raise _invalid("'markup' cannot be combined with 'mask'.", param="markup")

    def _check_inputs(self, model: _Model, images: list[bytes], mask: bytes | None) -> None:
        if not images:
            raise _invalid("Missing required parameter: 'image'.", param="image",
                           code="missing_required_parameter")
        limit = 1 if model.kind == "dall-e-2" else 16
        if len(images) > limit:
            raise _invalid(f"Invalid 'image': array too long. Expected an array with maximum "
                           f"length {limit}, but got an array with length {len(images)} instead.",
                           param="image", code="array_above_max_length")
        first = None
        for index, data in enumerate(images, 1):
            mime = sniff_image(data)
            if mime not in GPT_FORMATS.values():
                raise _invalid("Invalid file 'image': unsupported mimetype. Supported file "
                               "formats are 'image/jpeg', 'image/png', and 'image/webp'.",
                               param="image", code="unsupported_file_mimetype")
            img = self._open(data, f"image {index}")
            if model.kind == "dall-e-2":
                if mime != "image/png" or img.width != img.height or len(data) >= 4 * 1024 * 1024:
                    raise _invalid("Invalid input image - format must be a square PNG less than "
                                   "4 MB.", param="image", code="invalid_image")
            elif len(data) >= 50 * 1024 * 1024:
                raise _invalid(f"Image {index} is larger than 50 MB.", param="image",
                               code="image_too_large")
            first = first or img
        if mask is not None:
            if sniff_image(mask) != "image/png":
                raise _invalid("Invalid mask: must be a PNG file.", param="mask",
                               code="invalid_image_format")
            mask_img = self._open(mask, "mask")
            if first is None or mask_img.size != first.size:
                raise _invalid("Invalid mask image: mask size does not match image size.",
                               param="mask", code="invalid_image")
            if mask_img.mode not in ("RGBA", "LA", "L") and "transparency" not in mask_img.info:
                raise _invalid(f"Invalid input image - format must be in ['RGBA', 'LA', 'L'], "
                               f"got {mask_img.mode}.", param="mask", code="invalid_image")

    def _image_from_ref(self, ref: Any, what: str) -> bytes:
        from apiedit.errors import ApiEditError
        from apiedit.images import parse_data_url

        if not isinstance(ref, dict) or ("image_url" in ref) == ("file_id" in ref):
            raise _invalid(f"Invalid '{what}': provide exactly one of image_url or file_id.",
                           param=what)
        if "file_id" in ref:
            raise _invalid(f"No such File object: {ref['file_id']}", param=what, code=None)
        url = str(ref["image_url"])
        if url.startswith("data:"):
            try:
                return parse_data_url(url).data
            except ApiEditError:
                raise _invalid(f"Invalid data URL in '{what}'.", param=what,
                               code="invalid_image_url") from None
        served = re.fullmatch(re.escape(self.base_url) + r"/_files/([0-9a-f]{32})(?:\.\w+)?", url)
        with self._lock:
            found = self._files.get(served[1]) if served else None
        if found is None:
            raise _invalid(f"Timeout while downloading {url}.", param=what,
                           code="invalid_image_url")
        return found[0]

    # ---- outputs ---------------------------------------------------------------------------
    @staticmethod
    def _output_size(size: str, inputs: list[Any]) -> tuple[int, int]:
        if size != "auto":
            w, h = size.split("x")
            return int(w), int(h)
        if inputs:
            w, h = inputs[0].size
            return (1536, 1024) if w > h * 1.2 else (1024, 1536) if h > w * 1.2 else (1024, 1024)
        return 1024, 1024

    @staticmethod
    def _encode(img: Any, fmt: str) -> bytes:
        buf = io.BytesIO()
        if fmt == "jpeg":
            img.convert("RGB").save(buf, "JPEG", quality=90)
        elif fmt == "webp":
            img.save(buf, "WEBP", quality=90)
        else:
            img.save(buf, "PNG", compress_level=1)
        return buf.getvalue()

    def _render(self, prompt: str, index: int, size: tuple[int, int], inputs: list[Any],
                transparent: bool, fmt: str) -> bytes:
        from PIL import Image

        if self.storybook:
            return self.storybook_picture(prompt, inputs, size, "JPEG" if fmt == "jpeg" else fmt)
        mode = "RGBA" if transparent else "RGB"
        fill = (*_colour(f"{prompt}|{index}"), 255)[: len(mode)]
        img = Image.new(mode, size, fill)
        if inputs:
            # Inputs as strips, left to right in order; the bottom eighth keeps the prompt colour.
            w, h = size
            strip = max(1, w // len(inputs))
            for i, source in enumerate(inputs):
                mean = source.convert("RGB").resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
                colour = (*mean, 255)[: len(mode)]
                right = w if i == len(inputs) - 1 else (i + 1) * strip
                img.paste(colour, (i * strip, 0, right, h - h // 8))
        return self._encode(img, fmt)

    @staticmethod
    def _wire(request: RecordedRequest, call: EmulatedCall, n: int) -> WireRecord:
        """The neutral record of one call (`Emulator.wire`): OpenAI has n, size and a mask."""
        params = call.params
        knobs = {k: params[k] for k in ("quality", "background", "output_format", "input_fidelity",
                                        "moderation", "output_compression") if k in params}
        return WireRecord(
            "edit" if call.endpoint == "edits" else "generate", model=call.model,
            prompt=call.prompt, images=tuple(call.images), mask=call.mask,
            count=n if "n" in params else None, size=params.get("size"),
            extra=knobs, headers=request.headers,
        )

    def _produce(self, request: RecordedRequest, call: EmulatedCall, model: _Model, n: int,
                 size: str, quality: str | None, params: dict[str, Any], inputs: list[Any]) -> Response:
        self.record_wire(self._wire(request, call, n))
        marker = re.search(r"emulate:([a-z_]+)", call.prompt)
        if marker:
            return self.error_response(marker[1])
        background = params.get("background") or "auto"
        fmt = params.get("output_format") or "png"
        transparent = background == "transparent" and fmt in ("png", "webp")
        dims = self._output_size(size, inputs)
        for index in range(n):
            call.outputs.append(self._render(call.prompt, index, dims, inputs, transparent, fmt))
        if model.kind == "gpt":  # URL answers record theirs in output_url
            for image in call.outputs:
                self.record_output(image)
        with self._calls_lock:
            self.calls.append(call)
        created = int(time.time())
        if model.kind != "gpt":
            as_url = (params.get("response_format") or "url") == "url"
            data = []
            for image in call.outputs:
                item: dict[str, Any] = (
                    {"url": self.output_url(image, "image/png")} if as_url
                    else {"b64_json": base64.b64encode(image).decode()}
                )
                if not as_url:
                    self.record_output(image)
                if model.kind == "dall-e-3":
                    item["revised_prompt"] = f"A detailed rendering of: {call.prompt}"
                data.append(item)
            return Response.json({"created": created, "data": data})
        text_tokens = max(1, len(call.prompt) // 4)
        image_tokens = 65 * len(inputs)
        body: dict[str, Any] = {
            "created": created,
            "data": [{"b64_json": base64.b64encode(image).decode()} for image in call.outputs],
            "background": "transparent" if transparent else "opaque",
            "output_format": fmt,
            "quality": quality if quality in ("low", "medium", "high") else "medium",
            "usage": {
                "input_tokens": text_tokens + image_tokens,
                "input_tokens_details": {"text_tokens": text_tokens, "image_tokens": image_tokens},
                "output_tokens": 272 * n,
                "total_tokens": text_tokens + image_tokens + 272 * n,
            },
        }
        actual = f"{dims[0]}x{dims[1]}"
        if actual in RESPONSE_SIZES:
            body["size"] = actual
        return Response.json(body)

    # ---- /images ---------------------------------------------------------------------------
    def _generations(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        def run() -> Response:
            params = self._json_body(request)
            self._check_fields(params, _GENERATE_FIELDS)
            model = self._model(params.get("model"), "generations")
            n, size, quality = self._check_common(model, params)
            call = EmulatedCall("generations", "json", model.id, params["prompt"], params)
            return self._produce(request, call, model, n, size, quality, params, [])
        return self._guarded(request, run)

    def _edits(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        def run() -> Response:
            content_type = request.headers.get("content-type", "").lower()
            if content_type.startswith("multipart/"):
                call, params = self._multipart_edit(request)
            elif content_type.startswith("application/json"):
                call, params = self._json_edit(request)
            else:
                raise _invalid("Unsupported content type: use multipart/form-data or "
                               "application/json.", code=None)
            model = self._model(params.get("model"), "edits")
            call.model = model.id
            if not model.can_edit:
                raise _invalid(f"Invalid value: '{model.id}'. Image edits support 'dall-e-2' and "
                               "the GPT image models.", param="model")
            n, size, quality = self._check_common(model, params)
            if call.body_kind == "json" and model.kind != "gpt":
                raise _invalid("JSON edits support GPT image models only; use multipart for "
                               "dall-e-2.", param="model")
            self._check_inputs(model, call.images, call.mask)
            self._check_edit_options(model, call, params)
            inputs = [self._open(data, "image") for data in call.images]
            return self._produce(request, call, model, n, size, quality, params, inputs)
        return self._guarded(request, run)

    def _multipart_edit(self, request: RecordedRequest) -> tuple[EmulatedCall, dict[str, Any]]:
        try:
            parts = request.form()
        except ValueError as exc:
            raise _invalid(f"Could not parse multipart form: {exc}", code=None) from None
        params: dict[str, Any] = {}
        call = EmulatedCall("edits", "multipart", "", "", params)
        for name, value, _filename, _ctype in parts:
            if name in ("image", "image[]"):
                if not isinstance(value, bytes):
                    raise _invalid(f"'{name}' must be a file upload.", param="image")
                call.image_fields.append(name)
                call.images.append(value)
            elif name == "mask":
                call.mask = value if isinstance(value, bytes) else value.encode()
            elif name == "markup":
                call.markup = value if isinstance(value, bytes) else value.encode()
            else:
                params[name] = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        self._check_fields(params, _EDIT_FIELDS)
        if "image" in call.image_fields and "image[]" in call.image_fields:
            raise _invalid("Send images as either 'image' or 'image[]', not both.", param="image")
        call.prompt = str(params.get("prompt") or "")
        return call, params

    def _json_edit(self, request: RecordedRequest) -> tuple[EmulatedCall, dict[str, Any]]:
        params = self._json_body(request)
        self._check_fields(params, _EDIT_FIELDS - {"image", "image[]"})
        refs = params.pop("images", None)
        if not isinstance(refs, list) or not refs:
            raise _invalid("Missing required parameter: 'images'.", param="images",
                           code="missing_required_parameter")
        call = EmulatedCall("edits", "json", "", str(params.get("prompt") or ""), params)
        call.images = [self._image_from_ref(ref, f"images[{i}]") for i, ref in enumerate(refs)]
        call.image_fields = ["images"] * len(refs)
        if params.get("mask") is not None:
            call.mask = self._image_from_ref(params.pop("mask"), "mask")
        return call, params

    # ---- for tests -------------------------------------------------------------------------
    def origin_of(self, image: bytes) -> tuple[int, int] | None:
        """(call index, output index) of an image this emulator produced, else None."""
        with self._calls_lock:
            calls = list(self.calls)
        for ci, call in enumerate(calls):
            for oi, output in enumerate(call.outputs):
                if output == image:
                    return ci, oi
        return None

    def reset(self) -> None:
        super().reset()
        with self._calls_lock:
            self.calls.clear()


if __name__ == "__main__":  # `python -m apiedit_openai.emulator` runs it, as `apiedit emulate openai`
    from apiedit.console.emulate import module_main

    module_main("openai")
