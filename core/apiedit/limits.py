"""Process-wide limits on paid requests per provider: how many at once, and when to pause.

Every billable request of a provider, from any node, thread or batch worker, takes a slot of
that provider's limiter for as long as it is on the wire, so two nodes asking for 8 images each
never have more than the limit in flight together. When the provider says to slow down (a 429
with Retry-After, or `x-ratelimit-remaining-requests: 0` with a reset time), no new paid
request of that provider starts before the time it gave.

The limit is `APIEDIT_<PROVIDER>_MAX_PARALLEL`, else `APIEDIT_MAX_PARALLEL`, else 4; code (the
node's setting, a batch script) can change it with `set_max_parallel`.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from .errors import ConfigurationError

__all__ = ["DEFAULT_MAX_PARALLEL", "ProviderLimiter", "forget_pauses", "limiter_for", "max_parallel",
           "set_max_parallel"]

DEFAULT_MAX_PARALLEL = 4
_WAKE = 0.05  # how often a waiting request checks for cancellation
_MAX_PAUSE = 120.0  # a provider's reset time beyond this is not believed
_DURATION = re.compile(r"^(?:(?P<h>\d+(?:\.\d+)?)h)?(?:(?P<m>\d+(?:\.\d+)?)m(?!s))?"
                       r"(?:(?P<s>\d+(?:\.\d+)?)s)?(?:(?P<ms>\d+(?:\.\d+)?)ms)?$")


def _env_limit(provider: str) -> int | None:
    for name in (f"APIEDIT_{provider.upper().replace('-', '_')}_MAX_PARALLEL", "APIEDIT_MAX_PARALLEL"):
        value = os.environ.get(name, "").strip()
        if value:
            try:
                limit = int(value)
            except ValueError:
                limit = 0
            if limit < 1:
                raise ConfigurationError(f"{name}={value!r} is not valid: use a whole number of 1 or more.")
            return limit
    return None


def reset_seconds(value: str) -> float | None:
    """Seconds from a rate-limit reset header: '1s', '6m0s', '250ms', '2' (seconds) or an epoch."""
    text = value.strip().lower()
    try:
        number = float(text)
    except ValueError:
        match = _DURATION.match(text)
        if not text or match is None:
            return None
        parts = {k: float(v) for k, v in match.groupdict().items() if v}
        return parts.get("h", 0) * 3600 + parts.get("m", 0) * 60 + parts.get("s", 0) + parts.get("ms", 0) / 1000
    return max(0.0, number - time.time()) if number > 1e9 else max(0.0, number)


class ProviderLimiter:
    """A counting gate with an adjustable size and a 'not before' time."""

    def __init__(self, limit: int) -> None:
        self._cond = threading.Condition()
        self._limit = limit
        self._active = 0
        self._resume_at = 0.0
        self.peak = 0  # the most requests ever in flight at once (for tests and benchmarks)

    @property
    def limit(self) -> int:
        return self._limit

    @property
    def active(self) -> int:
        return self._active

    def set_limit(self, limit: int) -> None:
        if not isinstance(limit, int) or limit < 1:
            raise ValueError(f"the limit must be a whole number of 1 or more, not {limit!r}")
        with self._cond:
            self._limit = limit
            self._cond.notify_all()

    def pause_for(self, seconds: float) -> None:
        """Start no new request for `seconds` (capped); a later, longer pause wins."""
        seconds = min(max(seconds, 0.0), _MAX_PAUSE)
        with self._cond:
            self._resume_at = max(self._resume_at, time.monotonic() + seconds)

    def note_headers(self, headers: Mapping[str, str]) -> None:
        """Pause when the provider says no request is left until its reset time."""
        remaining = headers.get("x-ratelimit-remaining-requests")
        reset = headers.get("x-ratelimit-reset-requests")
        if remaining is None or reset is None:
            return
        try:
            exhausted = int(float(remaining)) <= 0
        except ValueError:
            return
        seconds = reset_seconds(reset) if exhausted else None
        if seconds:
            self.pause_for(seconds)

    @contextmanager
    def slot(self, cancelled: threading.Event | None = None) -> Iterator[None]:
        """Hold one of the slots while the body runs; waits (waking on `cancelled`) for one."""
        with self._cond:
            while True:
                if cancelled is not None and cancelled.is_set():
                    break  # the caller's own cancellation check raises the right error
                wait = self._resume_at - time.monotonic()
                if self._active < self._limit and wait <= 0:
                    break
                self._cond.wait(min(max(wait, 0.0) or _WAKE, _WAKE))
            self._active += 1
            self.peak = max(self.peak, self._active)
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1
                self._cond.notify()


_limiters: dict[str, ProviderLimiter] = {}
_overrides: dict[str, int] = {}
_lock = threading.Lock()


def max_parallel(provider: str) -> int:
    """The number of paid requests `provider` may have in flight at once in this process."""
    with _lock:
        if provider in _overrides:
            return _overrides[provider]
    return _env_limit(provider) or DEFAULT_MAX_PARALLEL


def limiter_for(provider: str) -> ProviderLimiter:
    """The process-wide limiter of `provider` (its size follows `max_parallel`)."""
    limit = max_parallel(provider)
    with _lock:
        limiter = _limiters.get(provider)
        if limiter is None:
            limiter = _limiters[provider] = ProviderLimiter(limit)
    if limiter.limit != limit:
        limiter.set_limit(limit)
    return limiter


def set_max_parallel(provider: str, limit: int | None) -> None:
    """Set `provider`'s limit for this process (None: back to the environment or the default)."""
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise ValueError(f"max_parallel must be a whole number of 1 or more, not {limit!r}")
    with _lock:
        if limit is None:
            _overrides.pop(provider, None)
        else:
            _overrides[provider] = limit
    limiter_for(provider)


def forget_pauses() -> None:
    """Lift every provider's pause (from Retry-After or exhausted rate-limit headers).

    For test harnesses: the pause belongs to the account that asked for it, and each test's
    emulator is a new account, so a 429 in one test must not stall the next one (it did, for
    the 120 s cap). Limits and requests in flight are left as they are."""
    with _lock:
        limiters = list(_limiters.values())
    for limiter in limiters:
        with limiter._cond:
            limiter._resume_at = 0.0
            limiter._cond.notify_all()
