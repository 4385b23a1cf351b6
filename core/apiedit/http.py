"""HTTP transport with a billing-safe retry policy, shared by every provider.

Users pay per image, so a request is resent only when it provably did not run:
  * the connection was never established (refused, DNS, connect timeout);
  * the provider answered 429 (honouring Retry-After, capped) or said "overloaded, not started"
    (an error whose `retryable` flag the mapper set);
A paid request whose outcome is unknown (read timeout, connection dropped or body cut off after
the request was sent) is never resent: the user gets an error saying it may have been billed.
Requests that cost nothing (`billable=False`: model lists, task polling) are retried on those
failures too. Paid requests also share their provider's process-wide concurrency limit and
pause (see `limits`). Whether a request was sent is decided by the transport (`apiedit.transport`:
were any of its bytes written?), and every exchange ends at its overall deadline, however
slowly the server trickles its answer.
"""

from __future__ import annotations

import contextlib
import http.client
import threading
from typing import TYPE_CHECKING, Any, Callable

import requests
import urllib3.exceptions

from .errormap import error_from_response
from .limits import limiter_for
from .errors import (
    ApiEditError,
    CancelledError,
    ConfigurationError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitError,
)
from .origins import display_url, same_origin
from .redact import contains_secret, get_logger, redact
from .settings import PaidAnswer
from .transport import Watch, WatchedAdapter, watch

if TYPE_CHECKING:
    from .settings import ProviderSettings

__all__ = ["CREDENTIAL_HEADERS", "HttpClient", "RetryPolicy", "ScopedSession", "client_for", "session_for"]

log = get_logger("apiedit.http")
# urllib3 logs full URLs at DEBUG; a `?key=` in one must be masked there too.
for _name in ("urllib3.connectionpool", "urllib3.connection", "urllib3.util.retry"):
    get_logger(_name)

ErrorMapper = Callable[[requests.Response], ApiEditError]

# Headers that carry a credential for some provider. `requests` itself strips only
# Authorization on a redirect to another host (and keeps it on http -> https).
CREDENTIAL_HEADERS = frozenset({
    "authorization", "proxy-authorization", "x-goog-api-key", "x-api-key", "api-key", "cookie",
})


class ScopedSession(requests.Session):
    """A session whose credentials never follow a redirect to another origin.

    On a redirect that changes scheme, host or port, every header in `CREDENTIAL_HEADERS` and
    every header whose value holds a registered key (a plugin's own header name) is dropped.
    """

    def rebuild_auth(self, prepared_request: requests.PreparedRequest,
                     response: requests.Response) -> None:
        if not same_origin(response.request.url or "", prepared_request.url or ""):
            headers = prepared_request.headers
            for name in list(headers):
                if name.lower() in CREDENTIAL_HEADERS or contains_secret(str(headers[name])):
                    del headers[name]
        super().rebuild_auth(prepared_request, response)


_sessions: dict[str, requests.Session] = {}
_sessions_lock = threading.Lock()


def session_for(provider: str) -> requests.Session:
    """One pooled session per provider, shared by every call in the process."""
    with _sessions_lock:
        session = _sessions.get(provider)
        if session is None:
            session = ScopedSession()
            # urllib3 must not retry on its own: this module owns the policy.
            adapter = WatchedAdapter(pool_connections=4, pool_maxsize=16, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.headers["User-Agent"] = "apiedit/0.1"
            _sessions[provider] = session
        return session


class RetryPolicy:
    """Limits of the retry policy; the defaults suit interactive use."""

    def __init__(
        self,
        *,
        connect_attempts: int = 3,
        rate_limit_retries: int = 2,
        retry_after_cap: float = 60.0,
        backoff: float = 0.5,
    ) -> None:
        self.connect_attempts = connect_attempts
        self.rate_limit_retries = rate_limit_retries
        self.retry_after_cap = retry_after_cap
        self.backoff = backoff


DEFAULT_POLICY = RetryPolicy()


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop()
        if item is None or item in seen:
            continue
        seen.append(item)
        todo.extend([item.__cause__, item.__context__, *[a for a in item.args if isinstance(a, BaseException)]])
        reason = getattr(item, "reason", None)
        if isinstance(reason, BaseException):
            todo.append(reason)
    return seen


# What `session.request` raises when the transport fails (http.client and encoding errors
# pass through requests unwrapped, e.g. a key that is not Latin-1 in a header).
_TRANSPORT_ERRORS = (requests.RequestException, http.client.HTTPException, UnicodeError,
                     ValueError, OSError)
_REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-goog-request-id", "x-amzn-requestid",
                       "x-generation-id", "cf-ray")


def _request_id(response: requests.Response) -> str | None:
    for name in _REQUEST_ID_HEADERS:
        if response.headers.get(name):
            return str(response.headers[name])
    return None


def _refused_here(exc: BaseException) -> bool:
    """Errors `requests` raises while preparing a request, before any connection."""
    return isinstance(exc, (requests.exceptions.InvalidHeader, requests.exceptions.InvalidURL,
                            requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema,
                            UnicodeError))


def _adapter(session: requests.Session, url: str) -> Any:
    try:
        return session.get_adapter(url)
    except requests.RequestException:
        return None


def _billed_note(billable: bool, sent: bool) -> str:
    if not billable:
        return ""
    if not sent:
        return " Nothing was sent, so nothing was billed."
    return (" The request was sent and may have been billed, so it was not resent; "
            "check your provider dashboard before trying again.")


def _never_connected(exc: BaseException) -> bool:
    if isinstance(exc, requests.ConnectTimeout):
        return True
    return any(
        isinstance(e, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.NameResolutionError,
                       urllib3.exceptions.ConnectTimeoutError, ConnectionRefusedError))
        for e in _chain(exc)
    )


class HttpClient:
    """Sends one logical request, retrying only what the policy allows."""

    def __init__(
        self,
        settings: ProviderSettings,
        *,
        session: requests.Session | None = None,
        policy: RetryPolicy = DEFAULT_POLICY,
    ) -> None:
        self.settings = settings
        self.session = session or session_for(settings.provider)
        self.policy = policy

    def url(self, path: str) -> str:
        """`path` joined to the provider's base URL (absolute URLs pass through)."""
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.settings.base_url}/{path.lstrip('/')}"

    def request(
        self,
        method: str,
        path: str,
        *,
        billable: bool,
        map_error: ErrorMapper | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """Send and return a 2xx response, or raise a typed error.

        `billable` marks a request that may cost money if it runs; such requests are never
        resent once the provider may have started on them. `timeout` (default: the settings'
        read timeout, i.e. the request's `timeout_s`) bounds each exchange as a whole:
        connect, send and every byte of the answer, however slowly the server trickles it.
        Retries (at most the policy's few) each get the same bound.
        """
        url = self.url(path)
        s = self.settings
        read_timeout = timeout or s.read_timeout
        mapper = map_error or (lambda r: error_from_response(r, s.label, provider=s.provider))
        counts = {"rate": 0, "connect": 0, "transient": 0}
        watched = isinstance(_adapter(self.session, url), WatchedAdapter)

        limiter = limiter_for(s.provider) if billable else None

        def attempt() -> requests.Response:
            s.check_cancelled()
            if billable:
                s.note_billable_sent()  # from here on, a cancel may leave a billed request
            failure: ApiEditError | None = None
            # a paid request waits for a slot of the provider's process-wide limit
            with limiter.slot(s.cancel) if limiter else contextlib.nullcontext():
                s.check_cancelled()
                with watch(read_timeout) as call:
                    try:
                        response = self.session.request(
                            method, url, timeout=(min(s.connect_timeout, read_timeout), read_timeout),
                            **kwargs,
                        )
                    except _TRANSPORT_ERRORS as exc:
                        # A foreign session cannot tell what it wrote: assume it was sent.
                        sent = call.sent if watched else not _refused_here(exc)
                        failure = self._transport_error(exc, billable, call, sent=sent)
            if failure is not None:  # raised outside `except`: no chained exception holds a secret
                raise failure
            if limiter is not None:
                limiter.note_headers(response.headers)
            if response.status_code >= 400:
                error = mapper(response)
                if limiter is not None and isinstance(error, RateLimitError) and error.retry_after:
                    limiter.pause_for(error.retry_after)  # every caller waits, not just this one
                raise error
            if billable:
                s.paid.append(PaidAnswer(response.status_code, _request_id(response),
                                         response.content if not kwargs.get("stream") else b""))
            return response

        def should_retry(exc: ApiEditError) -> bool:
            if isinstance(exc, CancelledError):
                return False
            if isinstance(exc, RateLimitError):
                if not exc.retryable:  # e.g. OpenAI's `x-should-retry: false`
                    return False
                counts["rate"] += 1
                wait = exc.retry_after
                return counts["rate"] <= self.policy.rate_limit_retries and (
                    wait is None or wait <= self.policy.retry_after_cap
                )
            if getattr(exc, "_never_connected", False):
                counts["connect"] += 1
                return counts["connect"] < self.policy.connect_attempts
            if getattr(exc, "retryable", False) or (
                not billable and isinstance(exc, (ProviderUnavailableError, ProviderTimeoutError))
            ):
                counts["transient"] += 1
                return counts["transient"] < self.policy.connect_attempts
            return False

        def wait_for(exc: ApiEditError, attempt_number: int) -> float:
            backoff = self.policy.backoff * (2 ** (attempt_number - 1))
            if isinstance(exc, RateLimitError) and exc.retry_after is not None:
                return max(exc.retry_after, 0.0)
            return min(backoff, 8.0)

        # A plain loop (tenacity's import cost 10-40 ms on a process's first call): only
        # `should_retry` decides, and every resend is bounded by the policy.
        attempt_number = 1
        while True:
            try:
                return attempt()
            except ApiEditError as exc:
                if not should_retry(exc):
                    raise
                delay = wait_for(exc, attempt_number)
                log.info("%s %s: %s; retrying in %.1f s", method, redact(display_url(url)),
                         type(exc).__name__, delay)
                s.report(f"{s.label}: {type(exc).__name__}, retrying in {delay:.0f} s")
            s.sleep(delay)
            attempt_number += 1

    def _deadline_error(self, call: Watch, billable: bool, *, sent: bool = True) -> ApiEditError:
        s = self.settings
        billed = _billed_note(billable, sent)
        return ProviderTimeoutError(
            f"{s.label} did not finish answering within the call's deadline of "
            f"{call.seconds:g} s (timeout_s), so the call was ended.{billed}",
            provider=s.provider,
        )

    def _transport_error(
        self, exc: BaseException, billable: bool, call: Watch, *, sent: bool
    ) -> ApiEditError:
        s = self.settings
        where = display_url(s.base_url)
        if call.expired:
            return self._deadline_error(call, billable, sent=sent)
        if not sent and (_refused_here(exc)
                         or not isinstance(exc, (requests.RequestException, OSError))):
            # Refused by this machine before any byte was written: a bad key or base URL.
            return ConfigurationError(
                f"The request to {s.label} could not be sent ({type(exc).__name__}): the key "
                f"or the base URL {where!r} holds characters HTTP does not allow. Nothing was "
                "sent, so nothing was billed. Check the key (`apiedit keys set "
                f"{s.provider}`) and the base URL.",
                provider=s.provider,
            )
        if _never_connected(exc) or not sent:
            err: ApiEditError = ProviderUnavailableError(
                f"Could not connect to {s.label} at {where} ({type(exc).__name__}). "
                "Check the network, proxy and base URL. Nothing was sent, so nothing was billed.",
                provider=s.provider,
            )
            err._never_connected = True  # type: ignore[attr-defined]
            return err
        billed = _billed_note(billable, sent)
        if isinstance(exc, requests.ReadTimeout):
            return ProviderTimeoutError(
                f"{s.label} did not answer within {call.seconds:g} s.{billed}",
                provider=s.provider,
            )
        return ProviderUnavailableError(
            f"The connection to {s.label} broke before the answer was complete "
            f"({type(exc).__name__}).{billed}",
            provider=s.provider,
        )

    def get_json(self, path: str, **kwargs: Any) -> Any:
        """GET that costs nothing (retried on transient failures) and returns parsed JSON."""
        return self.request("GET", path, billable=False, **kwargs).json()


def client_for(settings: ProviderSettings) -> HttpClient:
    return HttpClient(settings)
