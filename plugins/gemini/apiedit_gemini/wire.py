"""The Gemini wire format: EditRequest -> `generateContent` body, answer -> images or a typed error.

Both transports (google-genai and plain REST) send the body built here and hand the raw JSON
answer back here, so they cannot disagree about images, text or conversation state.
"""

from __future__ import annotations

import binascii
import os
import re
import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs
import requests
from apiedit import (
    ApiEditError,
    AuthenticationError,
    ConfigurationError,
    ContentBlockedError,
    EditRequest,
    ImageData,
    InvalidInputError,
    ModelInfo,
    NoImageReturnedError,
    ProviderError,
    ProviderUnavailableError,
    QuotaExceededError,
    RateLimitError,
    Turn,
    UnknownModelError,
    UnsupportedFeatureError,
)
from apiedit.errormap import error_from_status, parse_retry_after, request_id_from
from apiedit.images import Base64Text, b64decode_any, normalize_output, prepare_upload

from . import models

if TYPE_CHECKING:
    from .files import HistoryFiles

__all__ = [
    "API_VERSION_ENV",
    "FileGoneError",
    "GeminiAnswer",
    "api_version",
    "build_body",
    "endpoint",
    "map_error",
    "parse_answer",
]

PROVIDER = "gemini"
API_VERSION_ENV = "APIEDIT_GEMINI_API_VERSION"
DEFAULT_API_VERSION = "v1beta"  # google-genai >= 3 defaults to v1; REST docs use v1beta
_VERSION_RE = re.compile(r"^v\d+(?:(?:alpha|beta)\d*)?$")
_UPLOAD_FORMATS = ("image/png", "image/jpeg", "image/webp")
# Vertex documents 7 MB per inline file; the Developer API caps a request near 20 MB
# (providers.md §4.4). Stay below both with room for the JSON around the images.
_MAX_IMAGE_BYTES = 7 * 1024 * 1024
_MAX_INLINE_BYTES = 18 * 1024 * 1024
_SEED_LIMIT = 2**31  # generationConfig.seed is an int32
# Google's documented bypass for model turns that carry no signature (e.g. imported from another
# provider); UNCONFIRMED beyond third-party reports (providers.md §4.6).
SKIP_SIGNATURE = "skip_thought_signature_validator"

_BLOCKING_REASONS = {
    "SAFETY", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY",
    "IMAGE_PROHIBITED_CONTENT", "RECITATION", "IMAGE_RECITATION", "MODEL_ARMOR", "JAILBREAK",
}
_EXTRA_KEYS = ("response_modalities", "temperature")
# "You do not have permission to access the File x or it may not exist." (403; files.py)
# (Google's capital F: a batch's "Input file ... not found" is another error)
_FILE_GONE = re.compile(r"\bFile \S+ (?:or it may not exist|(?:was |is |has )?(?:not found|expired|deleted))")
_UNKNOWN_MODEL = re.compile(r"models/\S+ is not (found|supported)|model \S+ (is )?not found", re.I)


# ---------------------------------------------------------------------------- endpoint


def api_version() -> str:
    """The API version path segment: `APIEDIT_GEMINI_API_VERSION`, default v1beta."""
    value = os.environ.get(API_VERSION_ENV, "").strip() or DEFAULT_API_VERSION
    if not _VERSION_RE.match(value):
        raise ConfigurationError(
            f"{API_VERSION_ENV}={value!r} is not a Gemini API version; use v1beta or v1."
        )
    return value


def endpoint(base_url: str) -> tuple[str, str]:
    """(root URL, API version); a base URL that already ends in /v1 or /v1beta keeps it."""
    root = base_url.rstrip("/")
    last = root.rsplit("/", 1)[-1]
    if "/" in root.split("://", 1)[-1] and _VERSION_RE.match(last):
        return root[: -len(last) - 1], last
    return root, api_version()


def model_path(model: str) -> str:
    bare = model.removeprefix("models/")
    return f"models/{bare}:generateContent"


# ---------------------------------------------------------------------------- request


class Base64(Base64Text):
    """Base64 text that keeps the bytes it encodes, so the SDK path need not decode it again.

    It is a `str` in every other respect: `json.dumps` writes it as the text it is (and the
    REST body copies it in as bytes, see `apiedit.protocols.jsonbody`).
    """

    raw: bytes

    def __new__(cls, data: bytes) -> Base64:
        text = super().__new__(cls, binascii.b2a_base64(data, newline=False))
        text.raw = data
        return text


def _inline(image: ImageData, max_pixels: int | None) -> dict[str, Any]:
    ready = prepare_upload(image, max_pixels=max_pixels, formats=_UPLOAD_FORMATS)
    return {"inlineData": {"mimeType": ready.mime_type, "data": Base64(ready.data)}}


def _shrink(image: ImageData, max_pixels: int) -> dict[str, Any]:
    """A JPEG/WebP re-encode at a smaller budget, for requests that would be too large."""
    ready = prepare_upload(image, max_pixels=max_pixels, formats=("image/jpeg", "image/webp"))
    return {"inlineData": {"mimeType": ready.mime_type, "data": Base64(ready.data)}}


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _inline_size(part: Mapping[str, Any]) -> int:
    data = part.get("inlineData", {}).get("data", "")
    return len(data) * 3 // 4


def _image_parts(images: tuple[ImageData, ...], max_pixels: int | None) -> list[dict[str, Any]]:
    """Input images as inlineData parts, in order, each within the pixel and byte budgets."""
    parts = [_inline(image, max_pixels) for image in images]
    total = sum(_inline_size(p) for p in parts)
    if parts and (total > _MAX_INLINE_BYTES or max(_inline_size(p) for p in parts) > _MAX_IMAGE_BYTES):
        budget = min(max_pixels or 2048 * 2048, 1536 * 1536)
        parts = [_shrink(image, budget) for image in images]
        total = sum(_inline_size(p) for p in parts)
        if total > _MAX_INLINE_BYTES:
            raise InvalidInputError(
                f"The {len(images)} input images need {total // (1024 * 1024)} MB even after "
                "downscaling, over Gemini's ~20 MB request limit. Use fewer input images."
            )
    return parts


def _user_parts(text: str, images: tuple[ImageData, ...], max_pixels: int | None,
                files: HistoryFiles | None = None) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = [{"text": text}] if text else []
    if files is None:
        return parts + _image_parts(images, max_pixels)
    # a history turn: its images by file (uploaded once), the small ones inline
    for image in images:
        if files.wants(_stored_size(image)):
            def read(image: ImageData = image) -> tuple[bytes, str]:
                ready = prepare_upload(image, max_pixels=max_pixels, formats=_UPLOAD_FORMATS)
                return ready.data, ready.mime_type
            part = files.part(image.sha256, read)
            if part is not None:
                parts.append(part)
                continue
        parts.extend(_image_parts((image,), max_pixels))
    return parts


def _stored_size(image: ImageData) -> int:
    """The image's size, from its file when it is still on disk (a lazily loaded history)."""
    path = getattr(image, "path", None)
    if path is not None and not getattr(image, "loaded", True):
        try:
            return int(path.stat().st_size)
        except OSError:
            pass
    return len(image.data)


def _replayed(part: Mapping[str, Any], files: HistoryFiles | None) -> dict[str, Any]:
    """One part of a model turn as received; its image by file when `files` takes it.

    The image bytes uploaded are the ones received (no re-encode), and every other key
    (`thoughtSignature`, `thought`) stays as it was, in its place.
    """
    inline = part.get("inlineData")
    if not isinstance(inline, Mapping) or "data" not in inline:
        return dict(part)
    text = inline["data"]
    image = getattr(text, "image", None)  # an ImageText of a lazily loaded turn
    size = _stored_size(image) if image is not None else len(str(text)) * 3 // 4
    mime = str(inline.get("mimeType") or "image/png")
    if files is not None and files.wants(size):
        raw = (lambda: image.data) if image is not None else (lambda: b64decode_any(str(text)))
        sha = image.sha256 if image is not None else sha256_of(raw())
        file_part = files.part(sha, lambda: (raw(), mime))
        if file_part is not None:
            return {("fileData" if k == "inlineData" else k):
                    (file_part["fileData"] if k == "inlineData" else v) for k, v in part.items()}
    data = Base64(image.data) if image is not None else text
    return {k: ({**inline, "data": data} if k == "inlineData" else v) for k, v in part.items()}


def _model_parts(turn: Turn, model: ModelInfo, files: HistoryFiles | None = None) -> list[dict[str, Any]]:
    """A model turn: the parts exactly as Gemini sent them, else rebuilt from text and images."""
    parts = turn.state.get("parts") if turn.provider in ("", PROVIDER) else None
    if isinstance(parts, list) and parts:
        # verbatim: signatures and base64 exactly as received (images by file with `files`)
        return [_replayed(p, files) if isinstance(p, Mapping) else p for p in parts]
    rebuilt = _user_parts(turn.text, turn.images, model.max_input_pixels, files)
    if model.extra.get("thought_signatures_required"):
        for part in rebuilt:
            part["thoughtSignature"] = SKIP_SIGNATURE
    return rebuilt


def build_contents(request: EditRequest, model: ModelInfo,
                   files: HistoryFiles | None = None) -> list[dict[str, Any]]:
    """`contents`: the history as alternating user/model turns, then this request's user turn.

    With `files`, history images are `fileData` parts (Files API, see files.py); this turn's
    own inputs stay inline.
    """
    turns: list[tuple[str, list[dict[str, Any]]]] = []
    for turn in request.history:
        if turn.role == "user":
            role, parts = "user", _user_parts(turn.text, turn.images, model.max_input_pixels, files)
        else:
            role, parts = "model", _model_parts(turn, model, files)
        if not parts:
            continue
        if turns and turns[-1][0] == role:  # a failed turn left two user messages in a row
            turns[-1][1].extend(parts)
        else:
            turns.append((role, parts))
    while turns and turns[0][0] == "model":  # a conversation starts with the user
        turns.pop(0)
    current = _user_parts(request.prompt, request.images, model.max_input_pixels)
    if turns and turns[-1][0] == "user":
        turns[-1][1].extend(current)
    else:
        turns.append(("user", current))
    return [{"role": role, "parts": parts} for role, parts in turns]


def _image_config(request: EditRequest, model: ModelInfo) -> dict[str, str]:
    ratio, resolution = request.aspect_ratio, request.resolution
    if request.size and request.size != "auto":
        mapped = models.aspect_ratio_and_resolution(model.id, request.size)
        if mapped is None:
            raise UnsupportedFeatureError(
                f"Gemini model {model.id!r} cannot make {request.size} images; pick an aspect "
                "ratio (and a resolution on Gemini 3 models) instead."
            )
        size_ratio, size_resolution = mapped
        if ratio and ratio != size_ratio or resolution and size_resolution and resolution != size_resolution:
            raise UnsupportedFeatureError(
                f"Size {request.size} means aspect ratio {size_ratio}"
                + (f" at {size_resolution}" if size_resolution else "")
                + "; it contradicts the aspect ratio or resolution also given. Set only one of them."
            )
        ratio, resolution = size_ratio, resolution or size_resolution
    config = {}
    if ratio:
        config["aspectRatio"] = ratio
    if resolution:
        config["imageSize"] = resolution.upper()
    return config


def build_body(request: EditRequest, model: ModelInfo,
               files: HistoryFiles | None = None) -> tuple[dict[str, Any], list[str]]:
    """The JSON body of `generateContent` (camelCase, standard base64) and any warnings;
    with `files`, history images are referred to by Files API URI."""
    warnings: list[str] = []
    extra = dict(request.extra)
    modalities = extra.pop("response_modalities", None) or ["TEXT", "IMAGE"]
    if isinstance(modalities, str):
        modalities = [modalities]
    generation: dict[str, Any] = {"responseModalities": [str(m).upper() for m in modalities]}
    image_config = _image_config(request, model)
    if image_config:
        generation["imageConfig"] = image_config
    if request.seed is not None:
        seed = request.seed % _SEED_LIMIT
        if seed != request.seed:
            warnings.append(f"Gemini takes 32-bit seeds; seed {request.seed} was sent as {seed}.")
        generation["seed"] = seed
    if request.n > 1:
        generation["candidateCount"] = request.n
    if "temperature" in extra:
        value = extra.pop("temperature")
        try:
            generation["temperature"] = float(value)
        except (TypeError, ValueError):
            raise InvalidInputError(f"extra temperature must be a number, not {value!r}.") from None
    if request.quality:
        warnings.append(f"Gemini model {model.id!r} does not take a quality; quality was not sent.")
    for key in sorted(extra):
        warnings.append(
            f"Gemini does not know the extra option {key!r}; it was not sent "
            f"(known: {', '.join(_EXTRA_KEYS)})."
        )
    body = {"contents": build_contents(request, model, files), "generationConfig": generation}
    return body, warnings


# ---------------------------------------------------------------------------- answer


@attrs.frozen
class GeminiAnswer:
    """What a successful `generateContent` answer holds, in apiedit's terms."""

    images: list[ImageData]
    text: str
    state: dict[str, Any]
    usage: dict[str, Any]
    info: dict[str, Any]
    request_id: str | None
    warnings: list[str]


def _get(mapping: Mapping[str, Any], camel: str) -> Any:
    """A field by its proto-JSON name, accepting the snake_case spelling too."""
    if camel in mapping:
        return mapping[camel]
    return mapping.get(re.sub(r"(?<!^)(?=[A-Z])", "_", camel).lower())


def _usage(data: Mapping[str, Any]) -> dict[str, Any]:
    meta = _get(data, "usageMetadata") or {}
    fields = {
        "input_tokens": "promptTokenCount",
        "output_tokens": "candidatesTokenCount",
        "thoughts_tokens": "thoughtsTokenCount",
        "total_tokens": "totalTokenCount",
    }
    return {ours: _get(meta, theirs) for ours, theirs in fields.items() if _get(meta, theirs) is not None}


def _said(text: str) -> str:
    text = " ".join(text.split())
    return f' The model said: "{text[:400]}{"..." if len(text) > 400 else ""}"' if text else ""


def _refusal(reason: str, text: str, request_id: str | None, where: str) -> ApiEditError:
    kw: dict[str, Any] = {"provider": PROVIDER, "request_id": request_id, "code": reason}
    if where == "the prompt":
        message = (f"Gemini refused the prompt ({reason}). Rephrase the prompt, change the input "
                   "images, or use another provider.")
    elif reason == "IMAGE_SAFETY":
        message = (f"Gemini blocked the generated image ({reason}). Harmless requests are sometimes "
                   "flagged too: rephrase the prompt or change the input images.")
    elif reason in ("RECITATION", "IMAGE_RECITATION"):
        message = (f"Gemini stopped because the result resembled existing material ({reason}). "
                   "Rephrase the prompt.")
    else:
        message = (f"Gemini refused {where} ({reason}). Rephrase the prompt, change the input "
                   "images, or use another provider.")
    return ContentBlockedError(message + _said(text), reason=reason, text=text, **kw)


def _no_image(reason: str | None, text: str, request_id: str | None) -> NoImageReturnedError:
    kw: dict[str, Any] = {"provider": PROVIDER, "request_id": request_id, "code": reason}
    if reason in (None, "STOP", "FINISH_REASON_UNSPECIFIED") and text:
        message = ("Gemini answered with text but no image." + _said(text) + " Ask explicitly for an "
                   "image (e.g. 'Generate an image of ...') and try again.")
    elif reason is None:
        message = "Gemini returned no candidates and no reason. Try again, or rephrase the prompt."
    elif reason == "MAX_TOKENS":
        message = "Gemini ran out of output tokens before finishing the image (MAX_TOKENS). Try a simpler request." + _said(text)
    else:
        message = (f"Gemini finished without an image ({reason}). Try again or rephrase the prompt."
                   + _said(text))
    return NoImageReturnedError(message, text=text, reason=reason, **kw)


def parse_answer(data: Any) -> GeminiAnswer:
    """Images, text and replayable state from a 200 answer; refusals become typed errors."""
    if not isinstance(data, dict):
        raise NoImageReturnedError(
            "Gemini answered with something that is not a generateContent response. Check the "
            "base URL.", provider=PROVIDER,
        )
    request_id = _get(data, "responseId")
    candidates = [c for c in (_get(data, "candidates") or []) if isinstance(c, dict)]
    feedback = _get(data, "promptFeedback") or {}
    block = _get(feedback, "blockReason") if isinstance(feedback, dict) else None

    images: list[ImageData] = []
    texts: list[str] = []
    thought_parts = 0
    finish_reasons: list[str] = []
    for candidate in candidates:
        if _get(candidate, "finishReason"):
            finish_reasons.append(str(_get(candidate, "finishReason")))
        content = _get(candidate, "content") or {}
        for part in (_get(content, "parts") or []) if isinstance(content, dict) else []:
            if _get(part, "thought"):
                thought_parts += 1  # interim thinking text and images are not the answer
                continue
            inline = _get(part, "inlineData")
            if isinstance(inline, dict) and _get(inline, "data"):
                mime = str(_get(inline, "mimeType") or "")
                if mime and not mime.startswith("image/"):
                    continue
                images.append(normalize_output(b64decode_any(_get(inline, "data")), mime or None))
            elif isinstance(_get(part, "text"), str):
                texts.append(_get(part, "text"))
    text = "\n".join(t for t in texts if t.strip()).strip()
    finish = finish_reasons[0] if finish_reasons else None

    if not images:
        if block:
            raise _refusal(str(block), text, request_id, "the prompt")
        if finish in _BLOCKING_REASONS:
            raise _refusal(finish, text, request_id, "the request")
        raise _no_image(finish, text, request_id)

    warnings = []
    if finish and finish != "STOP":
        warnings.append(f"Gemini finished with {finish}; the image may be incomplete.")
    first_content = _get(candidates[0], "content") or {}
    state = {
        "parts": list(_get(first_content, "parts") or []),  # as received, for the next turn
        "model_version": _get(data, "modelVersion"),
        "response_id": request_id,
    }
    info = {"finish_reason": finish, "model_version": _get(data, "modelVersion"), "thought_parts": thought_parts}
    return GeminiAnswer(images, text, state, _usage(data), info, request_id, warnings)


# ---------------------------------------------------------------------------- errors


def _duration(value: Any) -> float | None:
    """Seconds from a proto Duration JSON string like '37s' or '1.5s'."""
    if isinstance(value, str) and value.endswith("s"):
        try:
            return max(0.0, float(value[:-1]))
        except ValueError:
            return None
    return None


def _details(error: Mapping[str, Any], kind: str) -> list[Mapping[str, Any]]:
    found: list[Mapping[str, Any]] = []
    for item in error.get("details") or []:
        if isinstance(item, dict) and str(item.get("@type", "")).endswith(kind):
            found.append(item)
    return found


def _daily_quota(error: Mapping[str, Any]) -> str | None:
    """The quota id when a 429 is a daily (or zero) quota, which waiting will not clear."""
    for failure in _details(error, "google.rpc.QuotaFailure"):
        for violation in failure.get("violations") or []:
            quota = str(violation.get("quotaId") or violation.get("quotaMetric") or "")
            if "perday" in quota.lower().replace("_", "") or str(violation.get("quotaValue")) == "0":
                return quota
    if "limit: 0" in str(error.get("message", "")):
        return "limit 0"
    return None


class FileGoneError(ProviderError):
    """A request referred to a Files API file that is gone (expired, deleted, another
    project's); the request did not run. `generate` uploads it again and resends once."""


def map_error(response: requests.Response, label: str = "Gemini") -> ApiEditError:
    """Google's `{"error":{code,message,status,details}}` envelope as a typed error."""
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    status = response.status_code
    request_id = request_id_from(response.headers, None)
    if not isinstance(error, dict):
        text = response.text.strip()[:300]
        return error_from_status(label, status, text, provider=PROVIDER, request_id=request_id,
                                 retry_after=parse_retry_after(response.headers))
    message = str(error.get("message") or "").strip()
    code = str(error.get("status") or error.get("code") or "") or None
    reasons = {str(d.get("reason")) for d in _details(error, "google.rpc.ErrorInfo")}
    kw: dict[str, Any] = {"provider": PROVIDER, "status": status, "code": code,
                          "request_id": request_id, "details": error}
    said = f" {label} said: {message}" if message else ""

    if status in (400, 403, 404) and _FILE_GONE.search(message) and "API_KEY_INVALID" not in reasons:
        return FileGoneError(
            f"{label} no longer has a file this request referred to (expired, deleted, or made "
            f"with another key; HTTP {status}).{said} Conversations upload a gone history image "
            "again and resend the turn once; if this persists, set "
            "APIEDIT_GEMINI_HISTORY_FILES=off to send history images inline.",
            **kw,
        )
    if "API_KEY_INVALID" in reasons or status in (401, 403) or "API key not valid" in message:
        return AuthenticationError(
            f"{label} rejected the API key (HTTP {status} {code or ''}).{said} Check the key "
            "(keys are made at https://aistudio.google.com/apikey) and set it with "
            "`apiedit keys set gemini`.".replace(" )", ")"),
            **kw,
        )
    if status == 429:
        daily = _daily_quota(error)
        if daily:
            return QuotaExceededError(
                f"{label}'s quota for this model is used up ({daily}); waiting a minute will not "
                f"help.{said} Enable billing on the Google AI Studio project, wait for the daily "
                "reset, or use another model or provider.",
                **kw,
            )
        header = parse_retry_after(response.headers)
        delay = header if header is not None else next(
            (_duration(d.get("retryDelay")) for d in _details(error, "google.rpc.RetryInfo")), None
        )
        wait = f" Wait {delay:.0f} s and try again." if delay is not None else " Wait and try again."
        return RateLimitError(
            f"{label} is rate-limiting requests (HTTP 429 {code or 'RESOURCE_EXHAUSTED'}).{said}{wait}",
            retry_after=delay,
            **kw,
        )
    if status == 503:
        # "The model is overloaded": the request was not run, so core may resend it.
        return ProviderUnavailableError(
            f"{label} is overloaded right now (HTTP 503 {code or 'UNAVAILABLE'}).{said} "
            "Try again in a minute, or use another model.",
            retryable=True,
            **kw,
        )
    if status == 404 and _UNKNOWN_MODEL.search(message):
        # "models/x is not found for API version v1beta, or is not supported for generateContent"
        return UnknownModelError(
            f"{label} does not serve this model (HTTP 404 {code or 'NOT_FOUND'}).{said}", **kw
        )
    if status == 400 and code == "FAILED_PRECONDITION":
        return ConfigurationError(
            f"{label} cannot serve this request from your account or region (HTTP 400 "
            f"FAILED_PRECONDITION).{said} Check that the API is available in your country and "
            "that billing is enabled for this model.",
            **kw,
        )
    return error_from_status(label, status, message.rstrip("."), provider=PROVIDER, code=code,
                             request_id=request_id, details=error)
