"""Turn a provider's HTTP error answer into the typed error tree.

Plugins pass their own envelope parsing in when a provider has quirks; the status mapping and
the Retry-After reading are shared so every provider behaves alike.
"""

from __future__ import annotations

import email.utils
import time
from typing import Any, Callable, Mapping, Optional

import attrs
import requests

from .errors import (
    ApiEditError,
    AuthenticationError,
    ContentBlockedError,
    InvalidInputError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    QuotaExceededError,
    RateLimitError,
)

__all__ = [
    "ERROR_KIND_STATUS",
    "Envelope",
    "EnvelopeParser",
    "error_from_response",
    "error_from_status",
    "error_message",
    "json_object",
    "parse_retry_after",
    "request_id_from",
]

_REQUEST_ID_HEADERS = (
    "x-request-id",
    "request-id",
    "x-goog-request-id",
    "x-amzn-requestid",
    "cf-ray",
)


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from `retry-after-ms`, or `Retry-After` as seconds or an HTTP date."""
    lower = {k.lower(): v for k, v in headers.items()}
    if "retry-after-ms" in lower:
        try:
            return max(0.0, float(lower["retry-after-ms"]) / 1000)
        except ValueError:
            pass
    value = lower.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        if parsed is None:
            return None
        return max(0.0, parsed.timestamp() - time.time())


def request_id_from(headers: Mapping[str, str], body: Any = None) -> str | None:
    lower = {k.lower(): v for k, v in headers.items()}
    for name in _REQUEST_ID_HEADERS:
        if lower.get(name):
            return lower[name]
    if isinstance(body, dict):
        for key in ("request_id", "requestId", "id"):
            if isinstance(body.get(key), str) and key != "id":
                return body[key]
    return None


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def json_object(response: requests.Response, label: str, provider: str | None, *,
                expected: str = "JSON", hint: str = "Check the base URL.") -> dict[str, Any]:
    """The JSON object a 2xx answer carries; anything else (a proxy's page, a wrong base URL)
    is a ProviderError naming the status, what was expected and `hint` for what to check."""
    body = _json(response)
    if not isinstance(body, dict):
        raise ProviderError(
            f"{label} answered HTTP {response.status_code} with a body that is not {expected}. {hint}",
            provider=provider, status=response.status_code,
            request_id=request_id_from(response.headers),
        )
    return body


def error_message(body: Any, fallback: str = "") -> tuple[str, str | None]:
    """(message, code) from the common envelopes: {"error":{...}}, {"error":"..."}, {"message"}."""
    if isinstance(body, dict):
        err = body.get("error", body.get("errors"))
        if isinstance(err, dict):
            code = err.get("code") or err.get("status") or err.get("type")
            return str(err.get("message") or fallback), str(code) if code is not None else None
        if isinstance(err, str):
            return err, None
        if isinstance(body.get("message"), str):
            code = body.get("code")
            return body["message"], str(code) if code is not None else None
    return fallback.strip()[:500], None


@attrs.frozen
class Envelope:
    """What a provider's error body says, read by a plugin's own parser.

    `kind` (one of `apiedit.testing.emulator.ERROR_KINDS`: auth, quota, rate_limit, blocked,
    bad_request, overloaded, server_error) wins over the HTTP status: for providers that answer
    200 or 400 with the real reason in a code field."""

    message: str = ""
    code: Optional[str] = None
    kind: Optional[str] = None


EnvelopeParser = Callable[[Any], Optional[Envelope]]
"""body (parsed JSON, or None when the body is not JSON) -> Envelope, or None for the default."""

ERROR_KIND_STATUS: Mapping[str, int] = {
    "auth": 401, "quota": 402, "rate_limit": 429, "bad_request": 400,
    "overloaded": 503, "server_error": 500,
}
"""The status each error kind is mapped like ("blocked" has its own class)."""


def error_from_status(
    provider_label: str,
    status: int,
    message: str,
    *,
    provider: str | None = None,
    code: str | None = None,
    request_id: str | None = None,
    retry_after: float | None = None,
    details: Any = None,
    kind: str | None = None,
) -> ApiEditError:
    """The typed error for an HTTP status (or, when given, an error `kind`), with a message
    that says what to do next. With a `kind` the message is the kind's; `status` keeps the real one."""
    kw: dict[str, Any] = {
        "provider": provider,
        "status": status,
        "request_id": request_id,
        "code": code,
        "details": details,
    }
    message = message.strip().rstrip(".")
    said = f"{provider_label} said: {message}" if message else f"{provider_label} gave no reason"
    if kind == "blocked":
        return ContentBlockedError(
            f"{provider_label} blocked the request or its result (content policy). {said}. "
            "Change the prompt or the input images.",
            reason=code, text=message, **kw,
        )
    if kind in ERROR_KIND_STATUS and ERROR_KIND_STATUS[kind] != status:
        same = {k: v for k, v in kw.items() if k != "status"}
        error = error_from_status(provider_label, ERROR_KIND_STATUS[kind], message,
                                  retry_after=retry_after, **same)
        error.status = status
        return error
    if status in (401, 403):
        return AuthenticationError(
            f"{provider_label} rejected the API key (HTTP {status}). {said}. "
            "Check the key, or set a new one with `apiedit keys set`.",
            **kw,
        )
    if status == 402:
        return QuotaExceededError(
            f"{provider_label} needs credit (HTTP 402). {said}. Add credit, then try again.", **kw
        )
    if status == 429:
        wait = f" Wait {retry_after:.0f} s and try again." if retry_after else " Wait and try again."
        return RateLimitError(
            f"{provider_label} is rate-limiting requests (HTTP 429). {said}.{wait}",
            retry_after=retry_after,
            **kw,
        )
    if status == 408:
        return ProviderTimeoutError(f"{provider_label} timed out (HTTP 408). {said}.", **kw)
    if status == 413:
        return InvalidInputError(
            f"{provider_label} says the request is too large (HTTP 413). {said}. "
            "Use fewer or smaller input images.",
            **kw,
        )
    if status == 404:
        return ProviderError(
            f"{provider_label} answered 404 Not Found. {said}. Check the model id and the base URL.",
            **kw,
        )
    if 400 <= status < 500:
        return InvalidInputError(f"{provider_label} rejected the request (HTTP {status}). {said}.", **kw)
    return ProviderUnavailableError(
        f"{provider_label} had a server error (HTTP {status}). {said}. Try again later.",
        retryable=status == 503,
        **kw,
    )


def error_from_response(
    response: requests.Response, provider_label: str, *, provider: str | None = None,
    envelope: EnvelopeParser | None = None,
) -> ApiEditError:
    """The typed error for an error answer. `envelope` reads a provider's own error body
    (message, code, kind); without it, or when it returns None, the common JSON envelopes."""
    body = _json(response)
    parsed = envelope(body) if envelope is not None else None
    if parsed is None:
        message, code = error_message(body, response.text if body is None else "")
        kind = None
    else:
        message, code, kind = parsed.message, parsed.code, parsed.kind
    return error_from_status(
        provider_label,
        response.status_code,
        message,
        provider=provider,
        code=code,
        request_id=request_id_from(response.headers, body),
        retry_after=parse_retry_after(response.headers),
        details=body,
        kind=kind,
    )
