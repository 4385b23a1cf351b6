"""The typed errors every failure ends in. Messages say what happened and what to do next.

Each message passes the redactor when it is rendered, so a key that slipped into provider text
never reaches a user, a log or ComfyUI's `/history`.
"""

from __future__ import annotations

from typing import Any

from .redact import contains_secret, redact, redact_data

__all__ = [
    "scrub_chain",
    "ApiEditError",
    "AuthenticationError",
    "CancelledError",
    "ConfigurationError",
    "ContentBlockedError",
    "InvalidInputError",
    "MissingKeyError",
    "NoImageReturnedError",
    "PluginLoadError",
    "ProviderError",
    "ProviderTimeoutError",
    "ProviderUnavailableError",
    "QuotaExceededError",
    "RateLimitError",
    "UnknownModelError",
    "UnknownProviderError",
    "UnsupportedFeatureError",
    "UntrustedBaseURLError",
]


class ApiEditError(Exception):
    """Root of every error apiedit raises; shown to the user as-is."""

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        status: int | None = None,
        request_id: str | None = None,
        code: str | None = None,
        details: Any = None,
        hint: str | None = None,
        hint_id: str | None = None,
    ) -> None:
        # Redacted when made, so that `args`, `message` and `details` never hold a key that
        # a provider echoed (keys are registered before any request is sent).
        message = redact(message)
        hint = redact(hint) if hint else hint
        full = f"{message} {hint}" if hint else message
        super().__init__(full)
        self.fact = message  # what happened, without the advice
        self.hint = hint  # what to do, in the node's words; a front end may word it its own way
        self.hint_id = hint_id  # names the advice, so `apiedit.cli` can give it in flag names
        self.message = full
        self.provider = provider
        self.status = status
        self.request_id = request_id
        self.code = None if code is None else redact(code)
        self.details = redact_data(details)

    def __str__(self) -> str:
        text = self.message
        if self.request_id and self.request_id not in text:
            text = f"{text} (request {self.request_id})"
        return redact(text)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


def scrub_chain(exc: BaseException) -> BaseException:
    """Cut `exc`'s `__cause__`/`__context__` chain when any exception in it holds a key
    (an encoding error quoting a header, an SDK error quoting a request); returns `exc`."""
    seen: list[BaseException] = []
    link: BaseException | None = exc.__cause__ or exc.__context__
    while link is not None and link not in seen:
        seen.append(link)
        try:
            text = f"{link!r} {link.args!r} {vars(link)!r}"
        except Exception:  # an exotic exception that cannot be shown: drop it to be safe
            text = ""
        if not text or contains_secret(text):
            exc.__cause__ = None
            exc.__context__ = None
            exc.__suppress_context__ = True
            break
        link = link.__cause__ or link.__context__
    return exc


class ConfigurationError(ApiEditError):
    """Local setup is incomplete or wrong (missing key, bad base URL)."""


class MissingKeyError(ConfigurationError):
    """No API key was found for a provider that needs one."""


class UntrustedBaseURLError(ConfigurationError):
    """A base URL from a workflow names a host the user never trusted; nothing was sent."""


class InvalidInputError(ApiEditError, ValueError):
    """The request itself is wrong: corrupt image, bad size, empty prompt.

    Also a ValueError, so code written before the typed tree existed still catches it.
    """

    __str__ = ApiEditError.__str__


class UnsupportedFeatureError(InvalidInputError):
    """The model cannot do what was asked (too many images, mask, size...)."""


class UnknownProviderError(ApiEditError, KeyError):
    """No installed plugin provides this provider id."""

    __str__ = ApiEditError.__str__


class UnknownModelError(ApiEditError, KeyError):
    """The provider does not know this model id; `suggestions` are the closest known ids."""

    suggestions: tuple[str, ...] = ()
    __str__ = ApiEditError.__str__


class PluginLoadError(ApiEditError):
    """A plugin failed to import or lacks a required hook."""


class CancelledError(ApiEditError):
    """The user cancelled the call (e.g. ComfyUI's interrupt)."""


class ProviderError(ApiEditError):
    """The provider answered with an error not covered by a narrower class."""


class AuthenticationError(ProviderError):
    """The provider rejected the key."""


class QuotaExceededError(ProviderError):
    """Billing or quota is exhausted; retrying will not help."""


class RateLimitError(ProviderError):
    """Too many requests right now; `retry_after` says how long to wait, when known."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ContentBlockedError(ProviderError):
    """The provider refused the prompt or the output; `reason` is the provider's own word."""

    def __init__(self, message: str, *, reason: str | None = None, text: str = "", **kw: Any):
        super().__init__(message, **kw)
        self.reason = reason
        self.text = redact(text)


class NoImageReturnedError(ProviderError):
    """The call succeeded but no image came back; `text` is what the model said instead."""

    def __init__(self, message: str, *, text: str = "", reason: str | None = None, **kw: Any):
        super().__init__(message, **kw)
        self.text = redact(text)
        self.reason = reason


class ProviderTimeoutError(ProviderError, TimeoutError):
    """No answer in time. If the request was sent it may have been billed, so it is not resent."""

    __str__ = ApiEditError.__str__


class ProviderUnavailableError(ProviderError):
    """The provider could not be reached, or said it is overloaded or down."""

    def __init__(self, message: str, *, retryable: bool = False, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retryable = retryable
