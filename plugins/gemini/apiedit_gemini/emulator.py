"""A loopback emulator of the Gemini API's image generation, faithful to providers.md §4 and §9.

Serves `/{v1,v1beta}/models` and `/{v1,v1beta}/models/{model}:generateContent` under any base
path; accepts camelCase and snake_case keys, standard and URL-safe base64 with or without
padding, the key in `x-goog-api-key` or `?key=`. Answers carry text and image parts with
`thoughtSignature`s; a replayed signature must be one it issued, for the parts it was issued
with. A model turn WITHOUT a signature is accepted: Google says Gemini 3 Pro Image does not
reject it (Vertex thought-signatures page, providers-2026-12.md); `require_signatures = True`
restores the stricter check of older text models.

The model list is December 2026's (providers-2026-12.md): the GA ids and Nano Banana 2.1. Ids
Google shut down answer 404 NOT_FOUND as the real API does for an unknown model.

Per test, pick a canned answer with `emulator.variant = "..."`, `emulator.next_variants = [...]`
(one per request) or a prompt containing `emulate:<variant>`. Variants: image_text (default),
image_only, two_images, with_thoughts, text_only, jpeg_as_png, blocked_prompt[:REASON],
empty_candidates, no_candidates, finish:<REASON> (and the shortcuts image_safety,
image_prohibited_content, prohibited_content, safety, no_image, image_other, recitation), and
the error kinds auth, quota, rate_limit, overloaded, server_error, bad_request.
The Files API and Batch Mode (state machine, fault switches) are in `emulator_batch.py`;
generateContent reads `fileData` parts from the stored files (a gone one: 403, as Gemini), so
`GenerateCall.contents` holds the bytes the model sees; `forget_files()` deletes them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import itertools
import re
import threading
from dataclasses import dataclass, field
from typing import Any, ClassVar

from apiedit.testing.emulator import ERROR_KINDS, Emulator, RecordedRequest, Response, WireRecord, sniff_image

from .emulator_batch import BatchRoutes

from .models import RESOLUTIONS, curated_model, family_of, output_size

__all__ = ["GeminiEmulator", "GenerateCall"]

_VERSION = r"(?P<prefix>(?:/[^/]+)*?)/(?P<version>v1|v1beta)"
_INPUT_MIME = {"image/png", "image/jpeg", "image/webp", "image/heic", "image/heif"}
# documented dummies for model turns that never had a signature (UNCONFIRMED, providers.md §4.6)
_SKIP_SIGNATURES = {"skip_thought_signature_validator", "context_engineering_is_the_way_to_go"}
_FINISH_SHORTCUTS = {
    "image_safety": "IMAGE_SAFETY",
    "image_prohibited_content": "IMAGE_PROHIBITED_CONTENT",
    "prohibited_content": "PROHIBITED_CONTENT",
    "safety": "SAFETY",
    "no_image": "NO_IMAGE",
    "image_other": "IMAGE_OTHER",
    "recitation": "RECITATION",
}
_SUCCESS_VARIANTS = {"image_text", "image_only", "two_images", "with_thoughts", "jpeg_as_png"}
RATIOS_10 = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
_MAGIC = re.compile(r"emulate:([A-Za-z_]+(?::[A-Z_]+)?)")


def _camel(value: Any) -> Any:
    """Proto-JSON servers accept both spellings; normalise keys to camelCase."""
    if isinstance(value, list):
        return [_camel(v) for v in value]
    if isinstance(value, dict):
        return {re.sub(r"_([a-z])", lambda m: m.group(1).upper(), k): _camel(v) for k, v in value.items()}
    return value


def _b64decode(text: Any) -> bytes:
    """Standard or URL-safe alphabet, padded or not (stdlib only, independent of the client)."""
    if not isinstance(text, str):
        raise TypeError("base64 data must be a string")
    raw = text.strip().replace("-", "+").replace("_", "/").rstrip("=")
    if len(raw) % 4 == 1:
        raise ValueError("bad length")
    return base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)


def _error(status: int, google_status: str, message: str, details: list[Any] | None = None,
           headers: dict[str, str] | None = None) -> Response:
    error: dict[str, Any] = {"code": status, "message": message, "status": google_status}
    if details:
        error["details"] = details
    return Response.json({"error": error}, status, headers)


@dataclass
class GenerateCall:
    """One generateContent request as the emulator understood it."""

    version: str
    model: str
    body: dict[str, Any]  # keys normalised to camelCase
    request: RecordedRequest
    key_in_query: bool
    contents: list[dict[str, Any]] = field(default_factory=list)  # fileData resolved to inlineData
    file_uris: list[str] = field(default_factory=list)  # the Files API files it referred to

    @property
    def current(self) -> dict[str, Any]:
        return self.contents[-1]

    @property
    def images(self) -> list[bytes]:
        """The decoded input images of the current user turn, in order."""
        return [_b64decode(p["inlineData"]["data"]) for p in self.current["parts"] if "inlineData" in p]

    @property
    def prompt(self) -> str:
        return " ".join(p["text"] for p in self.current["parts"] if isinstance(p.get("text"), str))

    @property
    def history(self) -> list[dict[str, Any]]:
        return self.contents[:-1]

    def raw_contents(self) -> list[dict[str, Any]]:
        """`contents` exactly as sent (original key spelling and base64 text, `fileData` parts
        as URIs; `contents` has them resolved to the files' bytes)."""
        return self.request.json()["contents"]


def _model_entry(model_id: str, label: str, methods: list[str], description: str = "") -> dict[str, Any]:
    return {
        "name": f"models/{model_id}",
        "version": "2.0",
        "displayName": label,
        "description": description or label,
        "inputTokenLimit": 32768,
        "outputTokenLimit": 32768,
        "supportedGenerationMethods": methods,
        "temperature": 1,
        "topP": 0.95,
        "topK": 64,
        "maxTemperature": 2,
    }


def _last_model_image(call: GenerateCall) -> list[bytes]:
    """The newest image in the history: what a native conversation's next turn builds on."""
    for content in reversed(call.history):
        found = [_b64decode(p["inlineData"]["data"]) for p in content.get("parts", ())
                 if "inlineData" in p]
        if found:
            return found[-1:]
    return []


class GeminiEmulator(BatchRoutes, Emulator):
    """The Gemini Developer API, as far as image generation goes."""

    demo_models: ClassVar[dict[str, str]] = {
        "generate": "gemini-nano-banana-2.1",
        "edit": "gemini-nano-banana-2.1",
        "compose": "gemini-3-pro-image",
    }
    require_signatures = False  # Gemini 3 image models accept a model turn without one
    size_divisor = 8  # answer at 1/8 of the real pixel size: same shapes, fast tests
    variant = "image_text"
    response_base64 = "standard"  # Google's servers send standard base64; or "urlsafe", "unpadded"
    strict_replay = True  # a replayed model turn must equal what was issued (decoded bytes)
    max_page_size = 1000  # models.list pages (Google's own cap); lower it to test paging

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.valid_keys: set[str] | None = None  # None: any non-empty key is accepted
        self.models: list[dict[str, Any]] = [
            _model_entry("gemini-nano-banana-2.1", "Nano Banana 2.1", ["generateContent", "countTokens"]),
            _model_entry("gemini-3-pro-image", "Nano Banana Pro", ["generateContent", "countTokens"]),
            _model_entry("gemini-3.1-flash-image", "Nano Banana 2", ["generateContent", "countTokens"]),
            _model_entry("gemini-3.1-flash-lite-image", "Nano Banana 2 Lite",
                         ["generateContent", "countTokens"]),
            _model_entry("nano-banana-pro-preview", "Nano Banana Pro", ["generateContent", "countTokens"]),
            _model_entry("gemini-2.5-flash", "Gemini 2.5 Flash", ["generateContent", "countTokens"]),
            _model_entry("imagen-4.0-generate-001", "Imagen 4", ["predict"]),
            _model_entry("gemini-embedding-001", "Gemini Embedding", ["embedContent"]),
        ]
        self.next_variants: list[str] = []
        self.calls: list[GenerateCall] = []
        self.responses: list[dict[str, Any]] = []  # every 200 generateContent answer, as sent
        self.replay_problems: list[str] = []
        self._issued: dict[bytes, list[tuple[Any, ...]]] = {}
        self._state_lock = threading.Lock()
        self.init_batches()  # Files API + Batch Mode (emulator_batch.py)

    # ---------------------------------------------------------------- routes

    def setup_routes(self) -> None:
        self.route("GET", _VERSION + r"/models", self._list_models)
        self.route("GET", _VERSION + r"/models/(?:models/)?(?P<model>[^/:]+)", self._get_model)
        self.route("POST", _VERSION + r"/models/(?:models/)?(?P<model>[^/:]+):generateContent",
                   self._generate, billable=True)
        self.batch_routes()

    def error_response(self, kind: str) -> Response:
        if kind == "auth":
            return _error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", [
                {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
                 "domain": "googleapis.com", "metadata": {"service": "generativelanguage.googleapis.com"}},
            ])
        if kind == "quota":
            return _error(429, "RESOURCE_EXHAUSTED",
                          "You exceeded your current quota, please check your plan and billing details.", [
                {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{
                    "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                    "quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier",
                    "quotaDimensions": {"location": "global", "model": "gemini-2.5-flash-image"},
                    "quotaValue": "100"}]},
                {"@type": "type.googleapis.com/google.rpc.Help", "links": [
                    {"description": "Learn more about Gemini API quotas",
                     "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]},
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "43s"},
            ])
        if kind == "rate_limit":
            return _error(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).", [
                {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{
                    "quotaMetric": "generativelanguage.googleapis.com/generate_content_paid_tier_requests",
                    "quotaId": "GenerateRequestsPerMinutePerProjectPerModel",
                    "quotaValue": "10"}]},
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1s"},
            ])
        if kind == "blocked":
            return Response.json({"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},
                                  "usageMetadata": {"promptTokenCount": 9, "totalTokenCount": 9},
                                  "modelVersion": "gemini-2.5-flash-image", "responseId": "blocked-1"})
        if kind == "bad_request":
            return _error(400, "INVALID_ARGUMENT", "Request contains an invalid argument.")
        if kind == "overloaded":
            return _error(503, "UNAVAILABLE", "The model is overloaded. Please try again later.")
        if kind == "server_error":
            return _error(500, "INTERNAL", "An internal error has occurred. Please retry or report in "
                                           "https://developers.generativeai.google/guide/troubleshooting")
        raise ValueError(f"unknown error kind {kind!r}")

    # ---------------------------------------------------------------- auth

    def _auth(self, request: RecordedRequest) -> tuple[Response | None, bool]:
        key = request.headers.get("x-goog-api-key")
        in_query = False
        if not key and request.query.get("key"):
            key, in_query = request.query["key"][0], True
        if not key:
            return _error(403, "PERMISSION_DENIED",
                          "Method doesn't allow unregistered callers (callers without established "
                          "identity). Please use API Key or other form of API consumer identity to "
                          "call this API."), in_query
        if self.valid_keys is not None and key not in self.valid_keys:
            return self.error_response("auth"), in_query
        return None, in_query

    # ---------------------------------------------------------------- models

    def _find_model(self, model_id: str) -> dict[str, Any] | None:
        return next((m for m in self.models if m["name"] == f"models/{model_id}"), None)

    def _list_models(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        refused, _ = self._auth(request)
        if refused:
            return refused
        size = int((request.query.get("pageSize") or request.query.get("page_size") or ["50"])[0])
        size = max(1, min(size, self.max_page_size))
        start = int((request.query.get("pageToken") or request.query.get("page_token") or ["0"])[0] or 0)
        page = self.models[start:start + size]
        token = str(start + size) if start + size < len(self.models) else ""
        return Response.json({"models": page, "nextPageToken": token} if token else {"models": page})

    def _get_model(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        refused, _ = self._auth(request)
        if refused:
            return refused
        entry = self._find_model(match["model"])
        if entry is None:
            return _error(404, "NOT_FOUND", f"models/{match['model']} is not found for API version "
                                            f"{match['version']}.")
        return Response.json(entry)

    # ---------------------------------------------------------------- generateContent

    def _generate(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        refused, in_query = self._auth(request)
        if refused:
            return refused
        model, version = match["model"], match["version"]
        entry = self._find_model(model)
        if entry is None or "generateContent" not in entry["supportedGenerationMethods"]:
            return _error(404, "NOT_FOUND", f"models/{model} is not found for API version {version}, or "
                          "is not supported for generateContent. Call ListModels to see the list of "
                          "available models and their supported methods.")
        try:
            body = _camel(request.json())
        except ValueError:
            return _error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
        call = GenerateCall(version, model, body, request, in_query)
        problem = self._check_contents(call)
        if problem is None:
            self.record_wire(self._wire(call))
            problem = self._check_config(model, body.get("generationConfig") or {})
        with self._state_lock:
            self.calls.append(call)
        if problem is not None:
            return problem
        variant = self._variant(call)
        if variant in ERROR_KINDS:
            return self.error_response(variant)
        answer = self._make_answer(call, variant)
        with self._state_lock:
            self.responses.append(answer)
        return Response.json(answer)

    @staticmethod
    def _wire(call: GenerateCall) -> WireRecord:
        """The neutral record of one call (`Emulator.wire`), the current user turn's inputs."""
        config = call.body.get("generationConfig") or {}
        image_config = config.get("imageConfig") or {}
        knobs = {k: config[k] for k in ("responseModalities", "temperature") if k in config}
        seed = config.get("seed")
        return WireRecord(
            "generate", model=call.model, prompt=call.prompt, images=tuple(call.images),
            count=config.get("candidateCount"), seed=int(seed) if seed is not None else None,
            aspect_ratio=image_config.get("aspectRatio"), resolution=image_config.get("imageSize"),
            extra=knobs, headers=call.request.headers,
        )

    def fail_next_answer(self, kind: str) -> str | None:
        """"blocked": the next answer is a 200 whose candidate ends IMAGE_SAFETY (no image).
        Gemini reports the other kinds as HTTP errors only."""
        if kind != "blocked":
            super().fail_next_answer(kind)
        with self._state_lock:
            self.next_variants.append("image_safety")
        return None

    def _variant(self, call: GenerateCall) -> str:
        found = _MAGIC.search(call.prompt)
        if found:
            return found.group(1)
        with self._state_lock:
            if self.next_variants:
                return self.next_variants.pop(0)
        return self.variant

    def _check_contents(self, call: GenerateCall) -> Response | None:
        contents = call.body.get("contents")
        if isinstance(contents, dict):
            contents = [contents]
        if not isinstance(contents, list) or not contents:
            return _error(400, "INVALID_ARGUMENT", "* GenerateContentRequest.contents: contents is not specified")
        normalised = []
        for ci, content in enumerate(contents):
            if not isinstance(content, dict):
                return _error(400, "INVALID_ARGUMENT", f"Invalid value at 'contents[{ci}]'.")
            role = content.get("role") or ("user" if len(contents) == 1 else "")
            if role not in ("user", "model"):
                return _error(400, "INVALID_ARGUMENT", "Please use a valid role: user, model.")
            parts = content.get("parts")
            if not isinstance(parts, list) or not parts:
                return _error(400, "INVALID_ARGUMENT",
                              f"* GenerateContentRequest.contents[{ci}].parts: contents.parts must not be empty.")
            parts = list(parts)
            for pi, part in enumerate(parts):
                if isinstance(part, dict) and isinstance(part.get("fileData"), dict):
                    resolved = self._resolve_file_part(part, call)
                    if isinstance(resolved, Response):
                        return resolved
                    parts[pi] = part = resolved
                inline = part.get("inlineData") if isinstance(part, dict) else None
                if inline is None:
                    continue
                try:
                    data = _b64decode(inline.get("data"))
                except (TypeError, ValueError, binascii.Error):
                    return _error(400, "INVALID_ARGUMENT",
                                  f"Invalid value at 'contents[{ci}].parts[{pi}].inline_data.data' "
                                  "(TYPE_BYTES), Base64 decoding failed.")
                if inline.get("mimeType") not in _INPUT_MIME:
                    return _error(400, "INVALID_ARGUMENT", f"Unsupported MIME type: {inline.get('mimeType')}")
                if sniff_image(data) is None:
                    return _error(400, "INVALID_ARGUMENT", "Unable to process input image. Please retry or "
                                  "report in https://developers.generativeai.google/guide/troubleshooting")
            normalised.append({**content, "role": role, "parts": parts})
        call.contents = normalised
        roles = [c["role"] for c in normalised]
        if any(a == b for a, b in itertools.pairwise(roles)) or roles[0] != "user":
            return _error(400, "INVALID_ARGUMENT",
                          "Please ensure that multiturn requests alternate between user and model.")
        if roles[-1] != "user":
            return _error(400, "INVALID_ARGUMENT", "Please ensure that single turn requests end with a "
                          "user role or the role field is empty.")
        images = sum(1 for p in normalised[-1]["parts"] if "inlineData" in p)
        if images > 14:
            return _error(400, "INVALID_ARGUMENT", f"Too many images in the request ({images}; at most 14).")
        for ci, content in enumerate(normalised[:-1]):
            if content["role"] == "model":
                problem = self._check_replay(call.model, ci, content["parts"])
                if problem is not None:
                    return problem
        return None

    def _resolve_file_part(self, part: dict[str, Any], call: GenerateCall) -> dict[str, Any] | Response:
        """A `fileData` part as the model sees it: the stored file's bytes, inline.

        A file that is gone (expired, forgotten) is refused the way Gemini refuses it: 403
        PERMISSION_DENIED (googleapis/python-genai#1218); nothing runs, nothing is billed.
        """
        ref = part["fileData"]
        uri = str(ref.get("fileUri") or "")
        fid = uri.rsplit("/files/", 1)[-1] if "/files/" in uri else ""
        found = self._live_file(f"files/{fid}") if fid else None
        if found is None:
            return _error(403, "PERMISSION_DENIED", f"You do not have permission to access the File "
                          f"{fid or uri} or it may not exist.")
        call.file_uris.append(uri)
        inline = {"mimeType": ref.get("mimeType") or found["mimeType"],
                  "data": base64.b64encode(found["_data"]).decode()}
        return {("inlineData" if k == "fileData" else k): (inline if k == "fileData" else v)
                for k, v in part.items()}

    def _check_replay(self, model: str, ci: int, parts: list[dict[str, Any]]) -> Response | None:
        """Gemini 3 rejects missing or altered signatures; we also check the parts themselves."""
        signatures = []
        for pi, part in enumerate(parts):
            raw = part.get("thoughtSignature")
            if raw in _SKIP_SIGNATURES:
                continue
            signature = _b64decode(raw) if isinstance(raw, str) else None
            if signature is None and "inlineData" in part and not part.get("thought") \
                    and family_of(model) == "gemini-3" and self.require_signatures:
                return _error(400, "INVALID_ARGUMENT", f"Image part is missing a thought_signature in "
                              f"content position {ci + 1}, part position {pi + 1}.")
            if signature is not None:
                signatures.append(signature)
        with self._state_lock:
            issued = [self._issued.get(s) for s in signatures]
        if any(i is None for i in issued):
            return _error(400, "INVALID_ARGUMENT", "Corrupted thought signature.")
        if self.strict_replay and issued and _fingerprint(parts) != issued[0]:
            problem = f"model turn at content position {ci + 1} differs from the answer that was issued"
            with self._state_lock:
                self.replay_problems.append(problem)
            return _error(400, "INVALID_ARGUMENT", f"The {problem}.")
        return None

    def _check_config(self, model: str, config: dict[str, Any]) -> Response | None:
        if int(config.get("candidateCount") or 1) > 1:
            return _error(400, "INVALID_ARGUMENT", f"Multiple candidates is not enabled for models/{model}")
        seed = config.get("seed")
        if seed is not None and not -(2**31) <= int(seed) < 2**31:
            return _error(400, "INVALID_ARGUMENT", "Invalid value at 'generation_config.seed' (TYPE_INT32)")
        image_config = config.get("imageConfig") or {}
        ratio = image_config.get("aspectRatio")
        known = curated_model(model)
        if ratio is not None and ratio not in (known.aspect_ratios if known else RATIOS_10):
            return _error(400, "INVALID_ARGUMENT", f"Unsupported aspect ratio: {ratio}")
        size = image_config.get("imageSize")
        if size is not None:
            # UNCONFIRMED: whether 2.5 Flash Image rejects imageSize (providers.md §4.3).
            if family_of(model) != "gemini-3":
                return _error(400, "INVALID_ARGUMENT", "imageSize is not supported for this model.")
            if size not in RESOLUTIONS:
                return _error(400, "INVALID_ARGUMENT", f"Unsupported image size: {size}")
        return None

    # ---------------------------------------------------------------- answers

    def _b64(self, data: bytes) -> str:
        if self.response_base64 == "urlsafe":
            return base64.urlsafe_b64encode(data).decode()
        text = base64.b64encode(data).decode()
        return text.rstrip("=") if self.response_base64 == "unpadded" else text

    def _picture(self, call: GenerateCall, salt: str, fmt: str = "PNG") -> bytes:
        from PIL import Image

        config = call.body.get("generationConfig") or {}
        image_config = config.get("imageConfig") or {}
        w, h = output_size(call.model, image_config.get("aspectRatio"), image_config.get("imageSize"))
        size = (max(8, w // self.size_divisor), max(8, h // self.size_divisor))
        if self.storybook:
            return self.storybook_picture(call.prompt, call.images or _last_model_image(call), (w, h), fmt)
        digest = hashlib.sha256(f"{call.prompt}|{config.get('seed')}|{len(call.images)}|{salt}".encode()).digest()
        buf = io.BytesIO()
        Image.new("RGB", size, tuple(digest[:3])).save(buf, fmt)
        return buf.getvalue()

    def _signature(self, response_id: str, index: int) -> bytes:
        # leading 0xfb 0xff 0xbf encode to '+/+/' in standard base64: alphabets are told apart
        return b"\xfb\xff\xbf" + hashlib.sha256(f"{response_id}/{index}".encode()).digest()[:29]

    def _make_answer(self, call: GenerateCall, variant: str) -> dict[str, Any]:
        with self._state_lock:
            number = len(self.responses) + 1
        response_id = f"emu-{number:04d}"
        usage = {"promptTokenCount": 7 + 258 * len(call.images), "totalTokenCount": 0}
        base: dict[str, Any] = {"usageMetadata": usage, "modelVersion": call.model, "responseId": response_id}
        config = call.body.get("generationConfig") or {}
        image_model = family_of(call.model) is not None or "image" in call.model
        # image models answer with text and image when no modalities are given
        modalities = [str(m).upper() for m in config.get("responseModalities") or ["TEXT", "IMAGE"]]
        if variant in _SUCCESS_VARIANTS and not (image_model and "IMAGE" in modalities):
            variant = "text_only"
        if variant.startswith("blocked_prompt"):
            reason = variant.split(":", 1)[1] if ":" in variant else "PROHIBITED_CONTENT"
            return {"promptFeedback": {"blockReason": reason, "safetyRatings": []}, **base}
        if variant == "empty_candidates":
            return {"candidates": [], **base}
        if variant == "no_candidates":
            return base
        finish = _FINISH_SHORTCUTS.get(variant) or (variant.split(":", 1)[1] if variant.startswith("finish:") else None)
        if finish:
            return {"candidates": [{"finishReason": finish, "index": 0}], **base}

        parts: list[dict[str, Any]] = []
        if variant == "with_thoughts":
            parts.append({"text": "**Composing the scene**\nPlanning layout and light.", "thought": True})
            draft = self._picture(call, "draft")
            parts.append({"inlineData": {"mimeType": "image/png", "data": self._b64(draft)}, "thought": True})
        if variant == "text_only":
            parts.append({"text": "I can describe it, but could you say what the picture should show?"})
        else:
            if variant != "image_only":
                parts.append({"text": "Here is the image you asked for."})
            count = 2 if variant == "two_images" else 1
            for index in range(count):
                if variant == "jpeg_as_png":
                    data, mime = self._picture(call, "final", "JPEG"), "image/png"
                else:
                    data, mime = self._picture(call, f"final{index}"), "image/png"
                self.record_output(data)
                parts.append({"inlineData": {"mimeType": mime, "data": self._b64(data)}})
        # Gemini 3 signs the first part after the thoughts and every image part
        answer_parts = [p for p in parts if not p.get("thought")]
        signed = [p for i, p in enumerate(answer_parts) if i == 0 or "inlineData" in p]
        issued: list[bytes] = []
        for index, part in enumerate(signed):
            signature = self._signature(response_id, index)
            part["thoughtSignature"] = self._b64(signature)
            issued.append(signature)
        with self._state_lock:
            for signature in issued:
                self._issued[signature] = _fingerprint(parts)
        output_tokens = 1290 * sum(1 for p in parts if "inlineData" in p) + 12
        usage.update(candidatesTokenCount=output_tokens,
                     totalTokenCount=usage["promptTokenCount"] + output_tokens)
        candidate = {"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}
        return {"candidates": [candidate], **base}


def _fingerprint(parts: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """A model turn's parts compared by meaning: decoded bytes, not base64 spelling."""
    out = []
    for part in parts:
        inline = part.get("inlineData") or {}
        signature = part.get("thoughtSignature")
        out.append((
            part.get("text"),
            bool(part.get("thought")),
            inline.get("mimeType"),
            _b64decode(inline["data"]) if inline.get("data") else None,
            _b64decode(signature) if isinstance(signature, str) else None,
        ))
    return out


if __name__ == "__main__":  # `python -m apiedit_gemini.emulator` runs it, as `apiedit emulate gemini`
    from apiedit.console.emulate import module_main

    module_main("gemini")
