"""Wait for a provider's asynchronous task: submit once, then poll until it ends.

Async image APIs (ModelScope and others like it) take one paid submit and answer with a task
id; the result is fetched with free status polls. This module owns the waiting, so that every
such provider behaves alike:
  * an adaptive schedule (`DEFAULT_SCHEDULE`): looks at 0.5, 1.5 and 3.15 s after the submit,
    where quick tasks end, then backs off x1.6 to 5 s: a task done at 3.0 s is returned about
    0.25 s later, and a long one costs 4 polls in its first 10 s and one per 5 s after;
  * a total deadline, after which the user is told the task may still finish;
  * cancellation (ComfyUI's interrupt) that wakes within about 0.1 s, even mid-poll;
  * progress lines ("queued 2 s", "running 12 s") through `settings.report`;
  * a poll that fails transiently (network, 5xx, 429, after core's own retries) is polled
    again on the schedule: a submitted task is never resubmitted because polling failed.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from ..errormap import EnvelopeParser, error_message
from ..errors import (
    ApiEditError,
    ContentBlockedError,
    InvalidInputError,
    QuotaExceededError,
    CancelledError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitError,
)
from ..redact import get_logger

if TYPE_CHECKING:
    from ..settings import ProviderSettings

__all__ = ["DEFAULT_SCHEDULE", "PollSchedule", "TaskState", "failed_task_error", "map_state",
           "poll_delays", "poll_task"]

log = get_logger("apiedit.protocols.async_tasks")

_WAKE_INTERVAL = 0.05  # how often a running poll checks for cancellation and the deadline
_TRANSIENT = (ProviderUnavailableError, ProviderTimeoutError, RateLimitError)


class TaskState(str, enum.Enum):
    """Where a task is; `fetch_status` maps the provider's own words onto these."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


DEFAULT_SCHEDULE: tuple[float, ...] = (0.5, 1.0, 1.65)
"""The first waits between polls (read at call time: tests may shorten it); then `backoff`."""


@attrs.frozen
class PollSchedule:
    """When to poll: the `first` waits, then growing by `backoff` up to `max_delay`.

    The default is today's schedule (0.5, 1.0, 1.65 s, then x1.6 up to 5 s); a test passes a
    short one, e.g. `PollSchedule(first=(0.01,), max_delay=0.02)`, so a poll costs milliseconds."""

    first: tuple[float, ...] = ()  # empty = DEFAULT_SCHEDULE, read at call time
    backoff: float = 1.6
    max_delay: float = 5.0

    def delays(self) -> Iterator[float]:
        return poll_delays(max_delay=self.max_delay, backoff=self.backoff, early=self.first or None)


def poll_delays(first_delay: float | None = None, max_delay: float = 5.0, backoff: float = 1.6,
                *, early: tuple[float, ...] | None = None) -> Iterator[float]:
    """The waits before each poll: `early` (default `DEFAULT_SCHEDULE`, or just `first_delay`
    when given), then growing by `backoff` up to `max_delay`."""
    if early is None:
        early = DEFAULT_SCHEDULE if first_delay is None else (first_delay,)
    yield from early
    delay = early[-1]
    while True:
        delay = min(delay * backoff, max_delay)
        yield delay


def poll_task(
    settings: ProviderSettings,
    fetch_status: Callable[[], tuple[TaskState | str, Any]],
    *,
    task_id: str = "",
    first_delay: float | None = None,
    max_delay: float = 5.0,
    backoff: float = 1.6,
    deadline: float = 300.0,
    on_failure: Callable[[Any], ApiEditError] | None = None,
    states: Mapping[str, TaskState] | None = None,
    schedule: PollSchedule | None = None,
) -> Any:
    """Poll until the task ends and return the payload `fetch_status` gave with SUCCEEDED.

    `fetch_status()` does one free status request and returns `(state, payload)`; it may raise
    typed errors. `state` is a TaskState, or the provider's own word when `states` maps its words
    (case-insensitive) onto TaskState; an unmapped word is a ProviderError naming it. FAILED
    raises `on_failure(payload)` (a generic ProviderError without it; see `failed_task_error`).
    `schedule` replaces `first_delay`/`max_delay`/`backoff`. Raises ProviderTimeoutError after
    `deadline` seconds and CancelledError on `settings.cancel`.
    """
    label = settings.label
    what = f"{label} task {task_id}".rstrip()
    start = time.monotonic()
    end = start + deadline
    last_error: ApiEditError | None = None
    delays = schedule.delays() if schedule is not None else poll_delays(first_delay, max_delay, backoff)
    for delay in delays:
        remaining = end - time.monotonic()
        if remaining <= 0:
            raise _timed_out(settings, what, task_id, deadline, last_error)
        if isinstance(last_error, RateLimitError) and last_error.retry_after:
            delay = max(delay, last_error.retry_after)
        _wait(settings, min(delay, remaining), what)
        try:
            state, payload = _run_cancellable(settings, fetch_status, what, end, task_id)
        except _DeadlinePassed:
            raise _timed_out(settings, what, task_id, deadline, last_error) from None
        except _TRANSIENT as exc:
            last_error = exc
            elapsed = time.monotonic() - start
            log.info("%s: status check failed (%s); polling again", what, type(exc).__name__)
            settings.report(
                f"{label}: status check failed ({type(exc).__name__}), still waiting {elapsed:.0f} s"
            )
            continue
        state = map_state(state, states, settings, task_id)
        elapsed = time.monotonic() - start
        log.debug("%s: %s after %.1f s", what, state.value, elapsed)
        if state is TaskState.SUCCEEDED:
            return payload
        if state is TaskState.FAILED:
            if on_failure is not None:
                raise on_failure(payload)
            raise ProviderError(
                f"{what} failed without a reason. Try again, or try another model.",
                provider=settings.provider,
                details={"task_id": task_id},
            )
        last_error = None
        settings.report(f"{label}: {state.value} {elapsed:.0f} s")
    raise AssertionError("unreachable: poll_delays never ends")  # pragma: no cover


def map_state(word: TaskState | str, states: Mapping[str, TaskState] | None,
              settings: ProviderSettings, task_id: str = "") -> TaskState:
    """The TaskState for a provider's job-state word (`states`, case-insensitive) or a TaskState."""
    if isinstance(word, TaskState):
        return word
    if states:
        lowered = {k.lower(): v for k, v in states.items()}
        if str(word).lower() in lowered:
            return lowered[str(word).lower()]
    try:
        return TaskState(word)
    except ValueError:
        known = ", ".join(sorted(states)) if states else ", ".join(s.value for s in TaskState)
        raise ProviderError(
            f"{settings.label} reported task state {word!r}, which apiedit does not know "
            f"(known: {known}). The task was not resubmitted; check your {settings.label} "
            "account, and report this so the plugin learns the word.",
            provider=settings.provider, details={"task_id": task_id, "state": str(word)},
        ) from None


_FAILURE_KINDS: dict[str, type[ApiEditError]] = {
    "blocked": ContentBlockedError, "bad_request": InvalidInputError, "quota": QuotaExceededError,
}


def failed_task_error(
    settings: ProviderSettings, payload: Any, *, task_id: str = "",
    envelope: EnvelopeParser | None = None,
) -> ApiEditError:
    """The typed error for a FAILED task's payload: pass as `on_failure=lambda p:
    failed_task_error(settings, p, task_id=..., envelope=...)`.

    `envelope(payload)` reads the provider's message, code and kind (default: the common JSON
    envelopes, e.g. {"error": {"message", "code"}} or {"message"}). kind "blocked" is a
    ContentBlockedError, "bad_request" an InvalidInputError, "quota" a QuotaExceededError; any
    other a ProviderError. A failed task is never resubmitted: it may have been billed."""
    parsed = envelope(payload) if envelope is not None else None
    if parsed is None:
        message, code = error_message(payload)
        kind = None
    else:
        message, code, kind = parsed.message, parsed.code, parsed.kind
    label, what = settings.label, f"{settings.label} task {task_id}".rstrip()
    said = f" {label} said: {message.strip().rstrip('.')}." if message.strip() else ""
    cls: type[ApiEditError] = _FAILURE_KINDS.get(kind or "", ProviderError)
    advice = {
        ContentBlockedError: " Change the prompt or the input images.",
        InvalidInputError: " Change the request (size, count, inputs) and try again.",
        QuotaExceededError: f" Add credit to your {label} account, then try again.",
    }.get(cls, " Try again, or try another model.")
    kw: dict[str, Any] = {"provider": settings.provider, "code": code,
                          "details": {"task_id": task_id}}
    if cls is ContentBlockedError:
        kw.update(reason=code, text=message)
    return cls(f"{what} failed.{said}{advice}", **kw)


class _DeadlinePassed(Exception):
    """A poll was still running when the deadline passed (kept apart from poll errors)."""


def _cancelled(settings: ProviderSettings, what: str) -> CancelledError:
    return CancelledError(
        f"Cancelled while waiting for {what}. It had already been submitted, so it may still "
        "finish and be billed.",
        provider=settings.provider,
    )


def _timed_out(
    settings: ProviderSettings, what: str, task_id: str, deadline: float, last_error: ApiEditError | None
) -> ProviderTimeoutError:
    why = f" The last status check failed: {last_error}" if last_error is not None else ""
    return ProviderTimeoutError(
        f"{what} did not finish within {deadline:.0f} s. It was not resubmitted and may still "
        f"finish (and be billed): check your {settings.label} account before trying again, or "
        f"allow a longer timeout.{why}",
        provider=settings.provider,
        details={"task_id": task_id},
    )


def _wait(settings: ProviderSettings, seconds: float, what: str) -> None:
    """Sleep that ends at once on cancellation."""
    if settings.cancel is None:
        time.sleep(seconds)
    elif settings.cancel.wait(seconds):
        raise _cancelled(settings, what)


def _run_cancellable(
    settings: ProviderSettings,
    fetch_status: Callable[[], tuple[TaskState | str, Any]],
    what: str,
    end: float,
    task_id: str,
) -> tuple[TaskState | str, Any]:
    """Run one poll on a helper thread so a hung request cannot delay cancel or the deadline.

    An abandoned poll is a free GET that ends on its own read timeout.
    """
    if settings.cancelled:
        raise _cancelled(settings, what)
    box: dict[str, Any] = {}
    done = threading.Event()

    def run() -> None:
        try:
            box["value"] = fetch_status()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the waiting thread
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=run, name=f"apiedit-poll-{task_id[:12]}", daemon=True).start()
    while not done.wait(_WAKE_INTERVAL):
        if settings.cancelled:
            raise _cancelled(settings, what)
        if time.monotonic() > end:
            raise _DeadlinePassed
    if settings.cancelled:
        raise _cancelled(settings, what)
    if "error" in box:
        raise box["error"]
    return box["value"]
