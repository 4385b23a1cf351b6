"""The OpenAI Images API (`/images/generations`, `/images/edits`) as reusable wire code.

Any provider that speaks this API (OpenAI itself, Azure-style relays, local servers) builds its
plugin from these pieces: request bodies, the paid POST through core's billing-safe transport,
the `ImagesResponse` parser (`b64_json` or `url` outputs, `revised_prompt`, `usage`) and the
error mapper for the `{"error": {message, type, param, code}}` envelope.
Reference: the OpenAI OpenAPI spec (`CreateImageRequest`, `CreateImageEditRequest`,
`EditImageBodyJsonParam`, `ImagesResponse`, `ErrorResponse`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from ..download import download_image
from ..errormap import error_from_status, error_message, parse_retry_after, request_id_from
from ..errors import (
    ApiEditError,
    AuthenticationError,
    ContentBlockedError,
    NoImageReturnedError,
    ProviderError,
    QuotaExceededError,
    UnknownModelError,
)
from ..images import b64decode_any, normalize_output, to_data_url
from ..types import ImageData

if TYPE_CHECKING:
    import requests

    from ..settings import ProviderSettings

__all__ = [
    "EDITS_PATH",
    "GENERATIONS_PATH",
    "ImagesAnswer",
    "auth_headers",
    "edit_form",
    "edit_json_body",
    "error_mapper",
    "generation_body",
    "map_error",
    "parse_images_response",
    "post_edit",
    "post_generation",
]

GENERATIONS_PATH = "images/generations"
EDITS_PATH = "images/edits"

_BLOCK_CODES = {"moderation_blocked", "content_policy_violation", "content_filter"}
_QUOTA_CODES = {"insufficient_quota", "billing_hard_limit_reached", "billing_not_active"}
_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}
# OpenAI's 401 text echoes part of the key ("Incorrect API key provided: sk-ab***cd"): drop it.
_ECHOED_KEY = re.compile(r"(?i)(incorrect api key provided:?)\s*\S+")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")


@attrs.frozen
class ImagesAnswer:
    """A parsed `ImagesResponse`: decoded images plus what came with them."""

    images: tuple[ImageData, ...]
    text: str = ""  # revised prompts, one per line
    usage: Mapping[str, Any] = attrs.field(factory=dict)
    info: Mapping[str, Any] = attrs.field(factory=dict)  # size, quality, output_format, ...
    request_id: str | None = None
    raw: Any = attrs.field(default=None, repr=False)  # the JSON body, base64 payloads elided


# ---- requests --------------------------------------------------------------------------------


def auth_headers(settings: ProviderSettings) -> dict[str, str]:
    """`Authorization: Bearer <key>`; raises MissingKeyError when there is no key."""
    return {"Authorization": f"Bearer {settings.require_key()}"}


def _common(
    model: str, prompt: str, n: int | None, size: str | None, quality: str | None,
    options: Mapping[str, Any] | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "prompt": prompt}
    if n is not None and n != 1:
        body["n"] = n
    if size:
        body["size"] = size
    if quality:
        body["quality"] = quality
    for key, value in (options or {}).items():
        if value is not None and key not in body:
            body[key] = value
    return body


def generation_body(
    *, model: str, prompt: str, n: int | None = None, size: str | None = None,
    quality: str | None = None, options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """JSON for `POST /images/generations` (`CreateImageRequest`); `options` adds fields as-is."""
    return _common(model, prompt, n, size, quality, options)


def _filename(index: int, image: ImageData, stem: str = "image") -> str:
    return f"{stem}-{index}.{_EXTENSIONS.get(image.mime_type, 'png')}"


def edit_form(
    *, model: str, prompt: str, images: Sequence[ImageData], mask: ImageData | None = None,
    n: int | None = None, size: str | None = None, quality: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> tuple[list[tuple[str, str]], list[tuple[str, tuple[str, bytes, str]]]]:
    """(fields, files) for a multipart `POST /images/edits` (`CreateImageEditRequest`).

    One image goes as `image`, several as repeated `image[]`, in order (what the official SDK
    sends). Pass both to `requests` as `data=` and `files=`.
    """
    if not images:
        raise ValueError("an edit needs at least one image")
    body = _common(model, prompt, n, size, quality, options)
    fields = [(k, _form_value(v)) for k, v in body.items()]
    name = "image" if len(images) == 1 else "image[]"
    files = [(name, (_filename(i, img), img.data, img.mime_type)) for i, img in enumerate(images, 1)]
    if mask is not None:
        files.append(("mask", ("mask.png", mask.data, mask.mime_type)))
    return fields, files


def _form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def edit_json_body(
    *, model: str, prompt: str, images: Sequence[ImageData], mask: ImageData | None = None,
    n: int | None = None, size: str | None = None, quality: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """JSON for `POST /images/edits` (`EditImageBodyJsonParam`, GPT image models only).

    Images travel inline as data URLs; use it where multipart is awkward (some relays).
    """
    if not images:
        raise ValueError("an edit needs at least one image")
    body = _common(model, prompt, n, size, quality, options)
    body["images"] = [{"image_url": to_data_url(image)} for image in images]
    if mask is not None:
        body["mask"] = {"image_url": to_data_url(mask)}
    return body


def post_generation(
    settings: ProviderSettings, body: Mapping[str, Any], *, timeout: float | None = None,
) -> ImagesAnswer:
    """Send one paid generation request (never resent once it may have run) and parse it."""
    response = settings.http.request(
        "POST", GENERATIONS_PATH, billable=True, map_error=error_mapper(settings),
        timeout=timeout, headers=auth_headers(settings), json=dict(body),
    )
    return parse_images_response(response, settings)


def post_edit(
    settings: ProviderSettings,
    fields: Sequence[tuple[str, str]] | None = None,
    files: Sequence[tuple[str, tuple[str, bytes, str]]] | None = None,
    *,
    json_body: Mapping[str, Any] | None = None,
    timeout: float | None = None,
) -> ImagesAnswer:
    """Send one paid edit, multipart (`fields`, `files`) or JSON (`json_body`), and parse it."""
    kwargs: dict[str, Any] = (
        {"json": dict(json_body)} if json_body is not None
        else {"data": list(fields or ()), "files": list(files or ())}
    )
    response = settings.http.request(
        "POST", EDITS_PATH, billable=True, map_error=error_mapper(settings),
        timeout=timeout, headers=auth_headers(settings), **kwargs,
    )
    return parse_images_response(response, settings)


# ---- answers ---------------------------------------------------------------------------------


def _elide(body: Mapping[str, Any]) -> dict[str, Any]:
    """The body with base64 payloads replaced by their length, to keep `raw` small."""
    out = dict(body)
    if isinstance(body.get("data"), list):
        out["data"] = [
            {k: (f"<{len(v)} base64 chars>" if k == "b64_json" and isinstance(v, str) else v)
             for k, v in item.items()} if isinstance(item, dict) else item
            for item in body["data"]
        ]
    return out


def parse_images_response(response: requests.Response, settings: ProviderSettings) -> ImagesAnswer:
    """Decode every `data[]` item (`b64_json`, or `url` fetched with the safe downloader).

    Raises NoImageReturnedError when the answer holds no image at all.
    """
    label = settings.label
    try:
        body = response.json()
    except ValueError:
        body = None
    request_id = request_id_from(response.headers, body)
    if not isinstance(body, dict):
        raise ProviderError(
            f"{label} answered HTTP {response.status_code} with a body that is not JSON. "
            "Check the base URL points at an OpenAI-compatible Images API.",
            provider=settings.provider, status=response.status_code, request_id=request_id,
        )
    declared = f"image/{body['output_format']}" if isinstance(body.get("output_format"), str) else None
    images: list[ImageData] = []
    revised: list[str] = []
    for item in body.get("data") or ():
        if not isinstance(item, dict):
            continue
        if isinstance(item.get("revised_prompt"), str) and item["revised_prompt"]:
            revised.append(item["revised_prompt"])
        if isinstance(item.get("b64_json"), str) and item["b64_json"]:
            images.append(normalize_output(b64decode_any(item["b64_json"]), declared))
        elif isinstance(item.get("url"), str) and item["url"]:
            settings.report(f"{label}: downloading image {len(images) + 1}")
            images.append(download_image(item["url"], settings))
    text = "\n".join(revised)
    if not images:
        raise NoImageReturnedError(
            f"{label} answered without an image." + (f" It said: {text}" if text else "")
            + " Try again; if it keeps happening, try another model.",
            provider=settings.provider, request_id=request_id, text=text,
        )
    info = {
        k: body[k] for k in ("created", "size", "quality", "output_format", "background")
        if body.get(k) is not None
    }
    usage = body.get("usage")
    usage = dict(usage) if isinstance(usage, dict) else {}
    return ImagesAnswer(tuple(images), text, usage, info, request_id, _elide(body))


# ---- errors ----------------------------------------------------------------------------------


def _openai_duration(value: str | None) -> float | None:
    """Seconds from OpenAI's `x-ratelimit-reset-*` form ("1s", "6m0s", "20ms")."""
    if not value:
        return None
    parts = _DURATION_PART.findall(value.strip())
    if not parts:
        return None
    scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    return sum(float(number) * scale[unit] for number, unit in parts)


def _retry_after(response: requests.Response) -> float | None:
    wait = parse_retry_after(response.headers)
    if wait is None:
        resets = [
            _openai_duration(response.headers.get(h))
            for h in ("x-ratelimit-reset-requests", "x-ratelimit-reset-tokens")
        ]
        known = [r for r in resets if r is not None]
        wait = max(known) if known else None
    return wait


def map_error(response: requests.Response, label: str, provider: str | None = None) -> ApiEditError:
    """The typed error for an OpenAI-style error answer; the message says what to do next."""
    try:
        body = response.json()
    except ValueError:
        body = None
    message, _ = error_message(body, response.text if body is None else "")
    message = _ECHOED_KEY.sub(r"\1 (key hidden)", message).strip()
    err = body.get("error") if isinstance(body, dict) else None
    err = err if isinstance(err, dict) else {}
    code = err.get("code") if isinstance(err.get("code"), str) else None
    kind = err.get("type") if isinstance(err.get("type"), str) else None
    status = response.status_code
    request_id = request_id_from(response.headers, body)
    kw: dict[str, Any] = {
        "provider": provider, "status": status, "request_id": request_id,
        "code": code or kind, "details": body,
    }
    said = f" {label} said: {message.rstrip('.')}." if message else ""

    if code in _BLOCK_CODES or (kind or "").endswith("moderation_blocked"):
        moderation = err.get("moderation_details") or (body or {}).get("moderation_details")
        where = ""
        if isinstance(moderation, dict):
            stage = moderation.get("moderation_stage")
            categories = moderation.get("categories") or []
            bits = [f"stage {stage}"] if stage else []
            if categories:
                bits.append("categories " + ", ".join(str(c) for c in categories))
            where = f"; {'; '.join(bits)}" if bits else ""
        kw["details"] = moderation if isinstance(moderation, dict) else body
        return ContentBlockedError(
            f"{label} refused the request ({code or kind}{where}).{said} "
            "Rephrase the prompt, use other input images, or use another provider.",
            reason=code or kind, text=message, **kw,
        )
    if code in _QUOTA_CODES or kind in _QUOTA_CODES:
        return QuotaExceededError(
            f"{label} says the account is out of quota or credit ({code or kind}, HTTP {status})."
            f"{said} Add credit or raise the limit in the OpenAI billing settings; "
            "retrying will not help.",
            **kw,
        )
    if status == 403 and "verif" in message.lower():
        return AuthenticationError(
            f"{label} requires organization verification for this model (HTTP 403).{said} "
            "Verify the organization in the OpenAI platform settings; it can take about "
            "15 minutes to take effect. Or pick another model.",
            **kw,
        )
    if status == 404 and (code == "model_not_found" or "model" in message.lower()):
        return UnknownModelError(
            f"{label} does not offer this model to your key ({code or 'HTTP 404'}).{said} "
            "Refresh the model list and pick another model.",
            **kw,
        )
    error = error_from_status(
        label, status, message, provider=provider, code=code or kind, request_id=request_id,
        retry_after=_retry_after(response) if status == 429 else None, details=body,
    )
    if response.headers.get("x-should-retry", "").lower() == "false":
        error.retryable = False
    return error


def error_mapper(settings: ProviderSettings) -> Callable[[requests.Response], ApiEditError]:
    """`map_error` bound to a provider, ready for `HttpClient.request(map_error=...)`."""
    return lambda response: map_error(response, settings.label, settings.provider)
