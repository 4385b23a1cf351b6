"""OpenAI-compatible chat completions with images, as reusable wire code.

OpenRouter, PixelWords and most resellers generate images through `POST /chat/completions`: the
prompt and input images go in as `text` and `image_url` parts of a user message, and the image
comes back as `message.images[].image_url.url`, as `image_url` content parts, or as a Markdown
link, bare URL or `data:` URI inside `message.content`. This module builds those messages from an
`EditRequest` (conversation history included), sends one paid POST per wanted image (chat has no
`n`), parses every answer shape and maps the `{"error": {code, message, metadata}}` envelope.
A plugin adds only configuration: headers, `modalities`, `image_config`, its model table.
References: `providers.md` §3 (OpenRouter) and §6 (relays); OpenRouter's OpenAPI `ChatRequest`,
`ChatAssistantMessage`, `ChatAssistantImages`, `ChatFinishReasonEnum`.
"""

from __future__ import annotations

import concurrent.futures
import os
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import attrs

from .. import limits
from ..download import download_image
from ..errormap import error_from_status, error_message, json_object, parse_retry_after, request_id_from
from ..errors import (
    ApiEditError,
    AuthenticationError,
    CancelledError,
    ConfigurationError,
    ContentBlockedError,
    InvalidInputError,
    NoImageReturnedError,
    ProviderError,
    ProviderUnavailableError,
    QuotaExceededError,
    RateLimitError,
    UnknownModelError,
)
from ..images import b64decode_any, normalize_output, parse_data_url, prepare_upload, to_data_url
from .jsonbody import json_body
from ..redact import get_logger
from ..types import EditRequest, EditResult, ImageData, ModelInfo, Turn

if TYPE_CHECKING:
    import requests

    from ..settings import ProviderSettings

__all__ = [
    "CHAT_PATH",
    "ChatAnswer",
    "HISTORY_IMAGES_ENV",
    "assistant_message",
    "build_messages",
    "chat_edit",
    "error_from_envelope",
    "error_mapper",
    "fetch_model_list",
    "find_images_in_text",
    "history_image_budget",
    "image_part",
    "map_error",
    "parse_answer",
    "raise_for_missing_image",
    "send_chat",
    "user_message",
]

CHAT_PATH = "chat/completions"
HISTORY_IMAGES_ENV = "APIEDIT_HISTORY_IMAGES"
DEFAULT_HISTORY_IMAGES = 4  # the last two edits' input and answer, or the last four answers
UPLOAD_FORMATS = ("image/png", "image/jpeg", "image/webp")
DEFAULT_RETRYABLE = frozenset({503})

log = get_logger("apiedit.protocols.openai_chat")

# Gemini's finish reasons as OpenRouter passes them on in `native_finish_reason` (§4.5).
_BLOCKED_NATIVE = {
    "SAFETY", "IMAGE_SAFETY", "PROHIBITED_CONTENT", "IMAGE_PROHIBITED_CONTENT", "BLOCKLIST",
    "SPII", "RECITATION", "IMAGE_RECITATION", "CONTENT_FILTER", "MODERATION_BLOCKED",
}
_BLOCK_TYPES = {
    "moderation", "moderation_blocked", "content_policy_violation", "content_filter",
    "refusal", "guardrail", "flagged",
}
_QUOTA_CODES = {
    "insufficient_quota", "insufficient_user_quota", "insufficient_credits", "payment_required",
    "billing_hard_limit_reached", "billing_not_active", "quota_exceeded",
}
_IMAGE_TYPES = {
    "invalid_image", "image_too_large", "image_too_small", "unsupported_image_format",
    "image_download_failed", "image_not_found",
}
_IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp")
_MARKDOWN_IMAGE = re.compile(
    r"!\[[^\]]*\]\(\s*<?(?P<url>data:image/[^)\s>]+|https?://[^)\s>]+)>?"
    r"(?:\s+[\"'][^\"']*[\"'])?\s*\)"
)
_DATA_URI = re.compile(r"data:image/[A-Za-z0-9.+-]+;base64,[A-Za-z0-9+/=_-]+")
_BARE_URL = re.compile(r"https?://[^\s<>\"'()\[\]]+")

# ---- requests --------------------------------------------------------------------------------


def image_part(image: ImageData, *, max_pixels: int | None = None,
               formats: tuple[str, ...] = UPLOAD_FORMATS) -> dict[str, Any]:
    """One `image_url` content part with a `data:` URL (downscaled to `max_pixels` if needed)."""
    upload = prepare_upload(image, max_pixels=max_pixels, formats=formats)
    return {"type": "image_url", "image_url": {"url": to_data_url(upload)}}


def user_message(text: str, images: Sequence[ImageData] = (), *, max_pixels: int | None = None,
                 formats: tuple[str, ...] = UPLOAD_FORMATS) -> dict[str, Any]:
    """A user message: plain text, or a text part followed by one part per image, in order."""
    if not images:
        return {"role": "user", "content": text}
    parts: list[dict[str, Any]] = [{"type": "text", "text": text}]
    parts.extend(image_part(i, max_pixels=max_pixels, formats=formats) for i in images)
    return {"role": "user", "content": parts}


def assistant_message(turn: Turn, *, replay_images: bool = True,
                      replay_state: bool = True) -> dict[str, Any]:
    """An earlier answer as OpenRouter's `ChatAssistantMessage`: text, `images`, and the
    `reasoning_details` from `turn.state` verbatim (Gemini 3 thought signatures ride there)."""
    message: dict[str, Any] = {"role": "assistant", "content": turn.text or ""}
    if replay_images and turn.images:
        # The exact bytes received, as a data URL in standard base64 (as OpenRouter sends them).
        message["images"] = [
            {"type": "image_url", "image_url": {"url": to_data_url(i)}} for i in turn.images
        ]
    if replay_state:
        details = turn.state.get("reasoning_details")
        if details:
            from ..conversation.lazyimage import materialize  # plain JSON, even from a lazy load

            message["reasoning_details"] = materialize(details)
    return message


def history_image_budget() -> int:
    """How many history images a chat request resends: `APIEDIT_HISTORY_IMAGES`, default 4."""
    raw = os.environ.get(HISTORY_IMAGES_ENV, "").strip()
    if not raw:
        return DEFAULT_HISTORY_IMAGES
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise ConfigurationError(
            f"{HISTORY_IMAGES_ENV}={raw!r} is not a whole number of images (0 or more); "
            f"unset it for the default of {DEFAULT_HISTORY_IMAGES}."
        )
    return value


def _images_within(history: Sequence[Turn], budget: int,
                   replay_assistant_images: bool) -> set[tuple[int, int]]:
    """(turn index, image index) of the newest `budget` history images that would be sent."""
    kept: set[tuple[int, int]] = set()
    for t in range(len(history) - 1, -1, -1):
        turn = history[t]
        if turn.role == "assistant" and not replay_assistant_images:
            continue
        for i in range(len(turn.images) - 1, -1, -1):
            if len(kept) >= budget:
                return kept
            kept.add((t, i))
    return kept


def build_messages(
    request: EditRequest,
    *,
    provider: str | None = None,
    max_pixels: int | None = None,
    formats: tuple[str, ...] = UPLOAD_FORMATS,
    replay_assistant_images: bool = True,
    attach_last_image: bool = True,
    system: str | None = None,
    history_images: int | None = None,
) -> list[dict[str, Any]]:
    """`messages` for a request: optional system text, the history, then the new user turn.

    Provider state (`reasoning_details`) is replayed only to the provider and model that made
    it. When the new turn brings no image, the conversation's last image is attached to it:
    whether assistant `images` reach the upstream model is unconfirmed (`providers.md` §3.5),
    and this way the model always sees the picture it is asked to change.

    Chat APIs keep no files, so every history image would be resent each turn (17.5 MB at
    turn 20 at 1024², benchmarks/README.md). Only the newest `history_images` of them are
    (default `history_image_budget()`: `APIEDIT_HISTORY_IMAGES`, 4); older turns keep their
    text and state, their images left out (a user turn that was only images says so in
    words). The image attached to the new turn is not counted.
    """
    budget = history_image_budget() if history_images is None else max(0, history_images)
    keep = _images_within(request.history, budget, replay_assistant_images)
    messages: list[dict[str, Any]] = []
    if system:
        messages.append({"role": "system", "content": system})
    last_image: ImageData | None = None
    for index, turn in enumerate(request.history):
        if turn.images:
            last_image = turn.images[-1] if turn.role == "assistant" else last_image
        sent = tuple(image for i, image in enumerate(turn.images) if (index, i) in keep)
        if turn.role == "user":
            text = turn.text
            if not text and turn.images and not sent:
                text = f"({len(turn.images)} earlier image(s), not resent)"
            messages.append(user_message(text, sent, max_pixels=max_pixels, formats=formats))
            continue
        own = (provider is None or turn.provider in ("", provider)) and turn.model in ("", request.model)
        messages.append(
            assistant_message(attrs.evolve(turn, images=sent), replay_images=replay_assistant_images,
                              replay_state=own)
        )
    images = tuple(request.images)
    if not images and attach_last_image and last_image is not None:
        images = (last_image,)
    messages.append(user_message(request.prompt, images, max_pixels=max_pixels, formats=formats))
    return messages


def send_chat(
    settings: ProviderSettings,
    body: Mapping[str, Any],
    *,
    path: str = CHAT_PATH,
    headers: Mapping[str, str] | None = None,
    map_error: Callable[[requests.Response], ApiEditError] | None = None,
) -> tuple[dict[str, Any], Mapping[str, str]]:
    """One paid POST (never resent once it may have run): the JSON answer and its headers."""
    key = settings.require_key()
    response = settings.http.request(
        "POST", path, billable=True, map_error=map_error or error_mapper(settings),
        data=json_body(body),  # what `json=` sends, without re-encoding the inline images
        headers={**(headers or {}), "Authorization": f"Bearer {key}",
                 "Content-Type": "application/json"},
    )
    payload = json_object(
        response, settings.label, settings.provider, expected="a chat completion",
        hint="Check that the base URL points at an OpenAI-compatible API (it usually ends in /v1).",
    )
    return payload, response.headers


def fetch_model_list(
    settings: ProviderSettings,
    *,
    parse: Callable[[dict[str, Any]], ModelInfo | None],
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    hint: str = "check the base URL.",
) -> list[ModelInfo]:
    """An OpenAI-style `GET /models` list (`{"data": [...]}`), one free GET; `parse` turns an
    entry into a ModelInfo or None to skip it, `hint` ends the error when there is no list."""
    key = settings.require_key()
    body = settings.http.get_json(
        "models", params=params, headers={"Authorization": f"Bearer {key}", **(headers or {})},
        map_error=error_mapper(settings),
    )
    entries = body.get("data") if isinstance(body, dict) else None
    if not isinstance(entries, list):
        raise ProviderError(
            f"{settings.label} answered /models without a `data` list; {hint}",
            provider=settings.provider,
        )
    found = (parse(e) for e in entries if isinstance(e, dict))
    return [m for m in found if m is not None]


# ---- answers ---------------------------------------------------------------------------------


@attrs.frozen
class ChatAnswer:
    """One parsed chat completion: the images it carried and everything said around them."""

    images: tuple[ImageData, ...]
    text: str = ""
    finish_reason: str | None = None
    native_finish_reason: str | None = None
    refusal: str | None = None
    request_id: str | None = None
    model: str | None = None
    upstream: str | None = None  # OpenRouter's `provider`: who really served the call
    usage: Mapping[str, Any] = attrs.field(factory=dict)
    state: Mapping[str, Any] = attrs.field(factory=dict)  # what the next turn must replay
    raw: Any = attrs.field(default=None, repr=False)  # the body, image payloads elided


def _is_image_link(url: str) -> bool:
    return urlsplit(url).path.lower().endswith(_IMAGE_EXTENSIONS)


def find_images_in_text(text: str) -> tuple[list[str], str]:
    """Image URLs in model text (Markdown images, `data:` URIs, links to image files) and the
    text left once Markdown images and `data:` URIs are taken out. A URL that is the whole
    answer counts as an image even without a file suffix."""
    urls: list[str] = []

    def take(match: re.Match[str]) -> str:
        urls.append(match.group("url") if "url" in match.groupdict() else match.group(0))
        return ""

    remaining = _DATA_URI.sub(take, _MARKDOWN_IMAGE.sub(take, text))
    alone = remaining.strip()
    for match in _BARE_URL.finditer(remaining):
        url = match.group(0).rstrip(".,;:!?")
        if _is_image_link(url) or (not urls and alone == url):
            urls.append(url)
    return urls, re.sub(r"\n{3,}", "\n\n", remaining).strip()


def _url_of(item: Any) -> str | None:
    """The URL in an `images[]` item or an `image_url` part, whatever spelling a relay uses."""
    if isinstance(item, str):
        return item
    if not isinstance(item, dict):
        return None
    inner = item.get("image_url", item.get("imageUrl"))
    if isinstance(inner, dict):
        inner = inner.get("url")
    if isinstance(inner, str):
        return inner
    if isinstance(item.get("url"), str):
        return item["url"]
    if isinstance(item.get("b64_json"), str):
        return "data:image/png;base64," + item["b64_json"]
    return None


def _collect(message: Mapping[str, Any], body: Mapping[str, Any]) -> tuple[list[str], str]:
    """Image URLs in answer order (message.images, then content) and the model's text."""
    urls: list[str] = []
    said: list[str] = []
    for item in message.get("images") or ():
        url = _url_of(item)
        if url:
            urls.append(url)
    content = message.get("content")
    if isinstance(content, str):
        found, text = find_images_in_text(content)
        urls.extend(found)
        said.append(text)
    elif isinstance(content, list):
        for part in content:
            kind = part.get("type") if isinstance(part, dict) else None
            if kind in ("text", "output_text") and isinstance(part.get("text"), str):
                found, text = find_images_in_text(part["text"])
                urls.extend(found)
                said.append(text)
            elif kind in ("image_url", "image", "output_image"):
                url = _url_of(part)
                if url:
                    urls.append(url)
    if isinstance(body.get("data"), list):  # an Images-API-shaped answer from a relay
        urls.extend(u for u in map(_url_of, body["data"]) if u)
    unique: list[str] = []
    for url in urls:  # comparing strings is cheaper than hashing a multi-MB data URL
        if url not in unique:
            unique.append(url)
    return unique, "\n".join(t for t in said if t).strip()


def _fetch(url: str, settings: ProviderSettings) -> ImageData:
    if url[:5].lower() == "data:":
        image = parse_data_url(url)
        return normalize_output(image.data, image.mime_type)
    if not url.lower().startswith(("http://", "https://")):
        return normalize_output(b64decode_any(url))  # bare base64, as some relays send it
    settings.report(f"{settings.label}: downloading the image")
    return download_image(url, settings)


def _elide(value: Any) -> Any:
    """The body with `data:` URLs shortened, so `raw` stays small and loggable."""
    if isinstance(value, dict):
        return {k: _elide(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_elide(v) for v in value]
    if isinstance(value, str) and len(value) > 200 and value[:5].lower() == "data:":
        return f"{value[:40]}...<{len(value)} chars>"  # a whole data URL: no regex over MBs
    if isinstance(value, str) and len(value) > 200 and "base64," in value:
        return _DATA_URI.sub(lambda m: f"{m.group(0)[:40]}...<{len(m.group(0))} chars>", value)
    return value


def parse_answer(body: Mapping[str, Any], settings: ProviderSettings,
                 headers: Mapping[str, str] | None = None) -> ChatAnswer:
    """Decode every image of a chat completion; https links go through the safe downloader.

    A 200 carrying an `error` object (OpenRouter reports failures during generation that way)
    raises the matching typed error. An answer without images is returned as such:
    `raise_for_missing_image` tells a refusal from a plain text answer.
    """
    request_id = body.get("id") if isinstance(body.get("id"), str) else None
    request_id = request_id or request_id_from(headers or {}, body)
    choices = body.get("choices") if isinstance(body.get("choices"), list) else []
    choice: dict[str, Any] = choices[0] if choices and isinstance(choices[0], dict) else {}
    if body.get("error") and choice.get("finish_reason") in (None, "error"):
        status = body["error"].get("code") if isinstance(body["error"], dict) else None
        status = status if isinstance(status, int) and status >= 400 else 502
        error = error_from_envelope(settings.label, settings.provider, status, body, headers or {})
        error.retryable = False  # the call ran and may have been billed: never resend it
        error.request_id = error.request_id or request_id
        raise error
    message: dict[str, Any] = choice["message"] if isinstance(choice.get("message"), dict) else {}
    urls, text = _collect(message, body)
    images: list[ImageData] = []
    for url in urls:
        image = _fetch(url, settings)
        if all(image.sha256 != seen.sha256 for seen in images):
            images.append(image)
    state: dict[str, Any] = {}
    if message.get("reasoning_details"):
        state["reasoning_details"] = message["reasoning_details"]
    refusal = message.get("refusal") if isinstance(message.get("refusal"), str) else None
    usage: dict[str, Any] = body["usage"] if isinstance(body.get("usage"), dict) else {}
    return ChatAnswer(
        images=tuple(images),
        text=text,
        finish_reason=choice.get("finish_reason"),
        native_finish_reason=choice.get("native_finish_reason"),
        refusal=refusal or None,
        request_id=request_id,
        model=body.get("model") if isinstance(body.get("model"), str) else None,
        upstream=body.get("provider") if isinstance(body.get("provider"), str) else None,
        usage=dict(usage),
        state=state,
        raw=_elide(dict(body)),
    )


def raise_for_missing_image(answer: ChatAnswer, settings: ProviderSettings) -> None:
    """Raise ContentBlockedError or NoImageReturnedError (with the model's text) if no image."""
    if answer.images:
        return
    label, text = settings.label, answer.refusal or answer.text
    kw: dict[str, Any] = {
        "provider": settings.provider, "request_id": answer.request_id, "details": answer.raw,
    }
    native = (answer.native_finish_reason or "").upper()
    said = f" The model said: {text}" if text else ""
    if answer.refusal or answer.finish_reason == "content_filter" or native in _BLOCKED_NATIVE:
        if native in _BLOCKED_NATIVE:
            reason = native
        else:
            reason = "content_filter" if answer.finish_reason == "content_filter" else "refusal"
        raise ContentBlockedError(
            f"{label} refused to make this image ({reason}).{said} "
            "Rephrase the prompt, use other input images, or use another model.",
            reason=reason, text=text, **kw,
        )
    # The rule for text-only answers, the same for every provider: a refusal is what the
    # provider flags as one (a `refusal` field, a content-filter or safety finish reason);
    # anything else is NoImageReturnedError carrying the text, never a guess from wording.
    finish = answer.native_finish_reason or answer.finish_reason
    why = f" (finish reason {finish})" if finish not in (None, "stop", "STOP") else ""
    if answer.finish_reason == "length":
        hint = "The answer was cut off; shorten the conversation and try again."
    else:
        hint = ("If the text declines the request, rephrase the prompt; otherwise ask "
                "explicitly for an image, or pick a model that outputs images.")
    raise NoImageReturnedError(
        f"{label} answered without an image{why}.{said} {hint}",
        text=text, reason=finish, **kw,
    )


# ---- errors ----------------------------------------------------------------------------------


def _lower(value: Any) -> str:
    return value.lower() if isinstance(value, str) else ""


def error_from_envelope(
    label: str,
    provider: str | None,
    status: int,
    body: Any,
    headers: Mapping[str, str],
    *,
    retryable_statuses: frozenset[int] = DEFAULT_RETRYABLE,
) -> ApiEditError:
    """The typed error for an OpenRouter `{"error":{code,message,metadata}}` or OpenAI-style
    `{"error":{message,type,code}}` envelope, whatever HTTP status carried it."""
    message, _ = error_message(body, body if isinstance(body, str) else "")
    found = body.get("error") if isinstance(body, dict) else None
    err: dict[str, Any] = found if isinstance(found, dict) else {}
    metadata: dict[str, Any] = err["metadata"] if isinstance(err.get("metadata"), dict) else {}
    found = err.get("availability") or metadata.get("availability")
    availability: dict[str, Any] = found if isinstance(found, dict) else {}
    code = err.get("code") if isinstance(err.get("code"), str) else None
    kind = err.get("type") if isinstance(err.get("type"), str) else None
    error_type = metadata.get("error_type") if isinstance(metadata.get("error_type"), str) else None
    words = {_lower(code), _lower(kind), _lower(error_type), _lower(availability.get("code"))} - {""}
    request_id = request_id_from(headers, body)
    kw: dict[str, Any] = {
        "provider": provider, "status": status, "request_id": request_id,
        "code": error_type or code or kind, "details": body,
    }
    said = f" {label} said: {message.rstrip('.')}." if message else ""
    lowered = message.lower()
    reasons = metadata.get("reasons")

    flagged = status == 403 and (
        reasons or metadata.get("flagged_input")
        or any(w in lowered for w in ("moderation", "flagged", "guardrail"))
    )
    if words & _BLOCK_TYPES or flagged:
        if isinstance(reasons, list) and reasons:
            reason = ", ".join(str(r) for r in reasons)
        else:
            reason = error_type or code or kind or "moderation"
        by = f" ({metadata['provider_name']} moderation)" if metadata.get("provider_name") else ""
        return ContentBlockedError(
            f"{label} refused the request{by} ({reason}).{said} "
            "Rephrase the prompt, use other input images, or use another model.",
            reason=reason, text=message, **kw,
        )
    if status == 402 or words & _QUOTA_CODES:
        return QuotaExceededError(
            f"{label} says the account is out of credit or quota (HTTP {status}).{said} "
            "Add credit or raise the key's limit, then try again; retrying now will not help.",
            **kw,
        )
    if status == 429 and re.search(r"per[- ]day|daily", lowered):
        return QuotaExceededError(
            f"{label} says the daily limit is used up (HTTP 429).{said} "
            "Wait until tomorrow, add credit, or use a paid model.",
            **kw,
        )
    if "model_not_found" in words or (status in (400, 404) and (
        "not a valid model" in lowered or "no endpoints found" in lowered
    )):
        return UnknownModelError(
            f"{label} does not know this model or serves it nowhere right now (HTTP {status})."
            f"{said} Refresh the model list and pick another model.",
            **kw,
        )
    if status in (400, 404, 413) and words & _IMAGE_TYPES:
        return InvalidInputError(
            f"{label} could not use an input image ({error_type or code}).{said} "
            "Use PNG, JPEG or WebP images of moderate size.",
            **kw,
        )
    if status == 401:
        return AuthenticationError(
            f"{label} rejected the API key (HTTP 401).{said} "
            "Check the key, or set a new one with `apiedit keys set`.",
            **kw,
        )
    retry_after = parse_retry_after(headers)
    if retry_after is None and isinstance(availability.get("retry_after"), (int, float)):
        retry_after = float(availability["retry_after"])
    if status == 429:
        wait = f" Wait {retry_after:.0f} s and try again." if retry_after else " Wait and try again."
        return RateLimitError(
            f"{label} is rate-limiting requests (HTTP 429).{said}{wait}",
            retry_after=retry_after, **kw,
        )
    if status >= 500:
        flag = availability.get("retryable")
        retryable = status in retryable_statuses if flag is None else bool(flag)
        what = {
            502: "the model's upstream provider failed",
            503: "no provider can serve the model right now",
            504: "the upstream provider timed out",
            524: "its gateway gave up waiting for the model",  # Cloudflare, common with resellers
        }.get(status, "it had a server error")
        billed = (" The image may still have been made and billed, so it was not resent."
                  if status in (504, 524) else "")
        return ProviderUnavailableError(
            f"{label} says {what} (HTTP {status}).{said}{billed} Try again later or pick another model.",
            retryable=retryable, **kw,
        )
    return error_from_status(
        label, status, message, provider=provider, code=kw["code"], request_id=request_id,
        retry_after=retry_after, details=body,
    )


def map_error(response: requests.Response, label: str, provider: str | None = None, *,
              retryable_statuses: frozenset[int] = DEFAULT_RETRYABLE) -> ApiEditError:
    """The typed error for a chat-completions error answer."""
    try:
        body: Any = response.json()
    except ValueError:
        text = response.text.strip()
        # An HTML page means a proxy or gateway answered, not the API: say so, not the markup.
        body = "an HTML error page (a proxy or gateway answered)" if text.startswith("<") else text[:500]
    return error_from_envelope(label, provider, response.status_code, body, response.headers,
                               retryable_statuses=retryable_statuses)


def error_mapper(settings: ProviderSettings, *,
                 retryable_statuses: frozenset[int] = DEFAULT_RETRYABLE,
                 ) -> Callable[[requests.Response], ApiEditError]:
    """`map_error` bound to a provider, ready for `HttpClient.request(map_error=...)`.

    `retryable_statuses` lists the 5xx answers that mean "not started, safe to resend"; for
    OpenRouter that is 502 and 503 (failed generations are not billed, `providers.md` §3.7, §8).
    """
    return lambda response: map_error(response, settings.label, settings.provider,
                                      retryable_statuses=retryable_statuses)


# ---- one edit --------------------------------------------------------------------------------


def _one_call(settings: ProviderSettings, body: Mapping[str, Any], path: str,
              headers: Mapping[str, str] | None,
              mapper: Callable[[requests.Response], ApiEditError]) -> ChatAnswer:
    payload, answer_headers = send_chat(settings, body, path=path, headers=headers, map_error=mapper)
    answer = parse_answer(payload, settings, answer_headers)
    raise_for_missing_image(answer, settings)
    return answer


def _sum_usage(answers: Sequence[ChatAnswer]) -> dict[str, Any]:
    if len(answers) == 1:
        return dict(answers[0].usage)
    total: dict[str, Any] = {}
    for answer in answers:
        for key, value in answer.usage.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                total[key] = total.get(key, 0) + value
    return total


def chat_edit(
    request: EditRequest,
    settings: ProviderSettings,
    body: Mapping[str, Any],
    *,
    path: str = CHAT_PATH,
    headers: Mapping[str, str] | None = None,
    map_error: Callable[[requests.Response], ApiEditError] | None = None,
    conversation: str = "native",
    warnings: Sequence[str] = (),
    max_parallel: int | None = None,
) -> EditResult:
    """Send `body` (messages included) `request.n` times, in parallel when n > 1, and merge.

    Each call is one paid request, sent once. With a seed, call i uses seed + i so the images
    differ. When some calls fail and others succeed, the images made are returned (they were
    paid for) with a warning per failure; when all fail, the first error is raised.
    """
    settings.require_key()
    mapper = map_error or error_mapper(settings)
    bodies = []
    for i in range(request.n):
        item = dict(body)
        if i and isinstance(item.get("seed"), int):
            item["seed"] = (item["seed"] + i) % 2**31
        bodies.append(item)
    log.debug("%s: %d chat call(s) to %s with %d message(s)", settings.label, len(bodies),
              body.get("model"), len(body.get("messages") or ()))
    several = f" ({request.n} images in parallel)" if request.n > 1 else ""
    settings.report(f"{settings.label}: waiting for {body.get('model')}{several}")
    outcomes: list[ChatAnswer | ApiEditError] = []
    if len(bodies) == 1:
        outcomes.append(_one_call(settings, bodies[0], path, headers, mapper))
    else:
        # The provider's process-wide limit (apiedit.limits) bounds what is in flight across
        # all callers; this only avoids threads that would just wait for it.
        workers = max(1, min(max_parallel or limits.max_parallel(settings.provider), len(bodies)))
        with concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="apiedit-chat") as pool:
            futures = [pool.submit(_one_call, settings, b, path, headers, mapper) for b in bodies]
            for future in futures:
                try:
                    outcomes.append(future.result())
                except ApiEditError as exc:
                    outcomes.append(exc)
    answers = [o for o in outcomes if isinstance(o, ChatAnswer)]
    failures = [o for o in outcomes if isinstance(o, ApiEditError)]
    cancelled = [f for f in failures if isinstance(f, CancelledError)]
    if cancelled or not answers:
        raise (cancelled or failures)[0]
    notes = list(warnings)
    notes.extend(
        f"Image {i + 1} of {len(outcomes)} failed and was not retried: {outcome}"
        for i, outcome in enumerate(outcomes) if isinstance(outcome, ApiEditError)
    )
    texts = list(dict.fromkeys(a.text for a in answers if a.text))
    first = answers[0]
    info: dict[str, Any] = {}
    if request.history:
        info["conversation"] = conversation
    if first.upstream:
        info["upstream_provider"] = first.upstream
    if first.model and first.model != request.model:
        info["served_model"] = first.model
    if len(answers) > 1:
        info["request_ids"] = [a.request_id for a in answers]
    reasons = [a.native_finish_reason or a.finish_reason for a in answers]
    if any(reasons):
        info["finish_reasons"] = reasons
    return EditResult(
        images=tuple(image for answer in answers for image in answer.images),
        provider=settings.provider,
        model=request.model,
        text="\n\n".join(texts),
        request_id=first.request_id,
        usage=_sum_usage(answers),
        warnings=tuple(notes),
        info=info,
        state=dict(first.state),
        raw=[a.raw for a in answers] if len(answers) > 1 else first.raw,
    )
