"""poll_task: the schedule, deadline, cancellation and failure handling of async task polling."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from apiedit.errors import (
    AuthenticationError,
    CancelledError,
    ContentBlockedError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitError,
)
from apiedit.protocols.async_tasks import TaskState, poll_delays, poll_task
from apiedit.settings import ProviderSettings
from apiedit.testing.emulator import Emulator, Fault, RecordedRequest


def make_settings(base_url: str = "http://127.0.0.1:9", **kw: Any) -> ProviderSettings:
    kw.setdefault("cancel", threading.Event())
    return ProviderSettings(provider="toy", label="Toy", base_url=base_url, read_timeout=5.0, **kw)


class Script:
    """A fetch_status that answers from a list and records when it was called."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.calls: list[float] = []

    def __call__(self) -> tuple[TaskState | str, Any]:
        self.calls.append(time.monotonic())
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, BaseException):
            raise answer
        if callable(answer):
            return answer()
        return answer


def cancel_after(settings: ProviderSettings, seconds: float) -> threading.Timer:
    assert settings.cancel is not None
    timer = threading.Timer(seconds, settings.cancel.set)
    timer.start()
    return timer


def test_returns_the_payload_of_a_succeeded_task() -> None:
    fetch = Script((TaskState.QUEUED, None), (TaskState.RUNNING, None), (TaskState.SUCCEEDED, {"url": "u"}))
    assert poll_task(make_settings(), fetch, task_id="t1", first_delay=0.01) == {"url": "u"}
    assert len(fetch.calls) == 3


def test_state_may_be_given_as_plain_strings() -> None:
    fetch = Script(("running", None), ("succeeded", 42))
    assert poll_task(make_settings(), fetch, first_delay=0.01) == 42


def test_first_poll_comes_about_half_a_second_after_the_start() -> None:
    fetch = Script((TaskState.SUCCEEDED, "done"))
    start = time.monotonic()
    poll_task(make_settings(), fetch, task_id="t1")
    assert 0.4 <= fetch.calls[0] - start < 0.7


def test_the_default_schedule_looks_soon_after_3_s_and_polls_little() -> None:
    delays = poll_delays()
    waits = [next(delays) for _ in range(20)]
    times = [sum(waits[: i + 1]) for i in range(len(waits))]
    assert times[0] == 0.5
    assert any(3.0 < t <= 3.3 for t in times)  # a task done at 3.0 s is seen within 0.3 s
    assert len([t for t in times if t <= 10]) <= 6
    assert waits == sorted(waits) and waits[-1] == 5.0  # then one poll per 5 s, no faster


def test_poll_delays_back_off_to_the_cap() -> None:
    delays = poll_delays(first_delay=0.5, max_delay=3.0, backoff=1.5)
    first = [next(delays) for _ in range(8)]
    assert first[0] == 0.5
    assert first == sorted(first)
    assert first[-1] == 3.0 and first[-2] == 3.0


def test_failed_task_raises_what_on_failure_builds() -> None:
    fetch = Script((TaskState.FAILED, {"code": 422}))
    with pytest.raises(ContentBlockedError, match="422"):
        poll_task(
            make_settings(), fetch, task_id="t1", first_delay=0.01,
            on_failure=lambda payload: ContentBlockedError(f"blocked {payload['code']}", provider="toy"),
        )


def test_failed_task_without_on_failure_is_a_provider_error_naming_the_task() -> None:
    fetch = Script((TaskState.FAILED, None))
    with pytest.raises(ProviderError, match="Toy task t-77 failed"):
        poll_task(make_settings(), fetch, task_id="t-77", first_delay=0.01)


def test_deadline_raises_a_timeout_that_names_the_task_and_says_it_may_still_finish() -> None:
    fetch = Script((TaskState.RUNNING, None))
    start = time.monotonic()
    with pytest.raises(ProviderTimeoutError) as caught:
        poll_task(make_settings(), fetch, task_id="task-123", first_delay=0.05, max_delay=0.1, deadline=0.6)
    assert time.monotonic() - start < 1.0
    text = str(caught.value)
    assert "task-123" in text and "may still finish" in text and "not resubmitted" in text
    assert caught.value.details == {"task_id": "task-123"}


def test_cancel_wakes_the_wait_within_a_tenth_of_a_second() -> None:
    settings = make_settings()
    fetch = Script((TaskState.RUNNING, None))
    cancel_after(settings, 0.3)
    start = time.monotonic()
    with pytest.raises(CancelledError, match="may still finish"):
        poll_task(settings, fetch, task_id="t1", first_delay=5.0)
    assert time.monotonic() - start < 0.4
    assert fetch.calls == []


def test_cancel_interrupts_a_poll_that_hangs() -> None:
    settings = make_settings()
    release = threading.Event()

    def hang() -> tuple[TaskState, None]:
        release.wait(5)
        return TaskState.RUNNING, None

    cancel_after(settings, 0.3)
    start = time.monotonic()
    try:
        with pytest.raises(CancelledError):
            poll_task(settings, hang, task_id="t1", first_delay=0.01)
        assert time.monotonic() - start < 0.45
    finally:
        release.set()


def test_a_hung_poll_is_cut_at_the_deadline() -> None:
    release = threading.Event()

    def hang() -> tuple[TaskState, None]:
        release.wait(5)
        return TaskState.RUNNING, None

    start = time.monotonic()
    try:
        with pytest.raises(ProviderTimeoutError, match="t-9"):
            poll_task(make_settings(), hang, task_id="t-9", first_delay=0.01, deadline=0.4)
        assert time.monotonic() - start < 0.7
    finally:
        release.set()


def test_already_cancelled_call_polls_nothing() -> None:
    settings = make_settings()
    assert settings.cancel is not None
    settings.cancel.set()
    fetch = Script((TaskState.SUCCEEDED, 1))
    with pytest.raises(CancelledError):
        poll_task(settings, fetch, first_delay=0.01)
    assert fetch.calls == []


def test_progress_reports_state_and_elapsed_seconds() -> None:
    lines: list[str] = []
    settings = make_settings(progress=lines.append)
    fetch = Script((TaskState.QUEUED, None), (TaskState.RUNNING, None), (TaskState.SUCCEEDED, 1))
    poll_task(settings, fetch, first_delay=0.01)
    assert [re.sub(r"\d+ s$", "N s", line) for line in lines] == ["Toy: queued N s", "Toy: running N s"]


def test_transient_poll_failures_are_polled_again() -> None:
    lines: list[str] = []
    fetch = Script(
        ProviderUnavailableError("down", provider="toy"),
        ProviderTimeoutError("slow", provider="toy"),
        (TaskState.SUCCEEDED, "ok"),
    )
    assert poll_task(make_settings(progress=lines.append), fetch, first_delay=0.01) == "ok"
    assert len(fetch.calls) == 3
    assert any("status check failed" in line for line in lines)


def test_a_rate_limited_poll_waits_at_least_retry_after() -> None:
    fetch = Script(RateLimitError("429", retry_after=0.4, provider="toy"), (TaskState.SUCCEEDED, "ok"))
    poll_task(make_settings(), fetch, first_delay=0.01, max_delay=0.02)
    assert fetch.calls[1] - fetch.calls[0] >= 0.38


def test_a_permanent_poll_error_is_raised_at_once() -> None:
    fetch = Script(AuthenticationError("bad key", provider="toy"), (TaskState.SUCCEEDED, "never"))
    with pytest.raises(AuthenticationError):
        poll_task(make_settings(), fetch, first_delay=0.01)
    assert len(fetch.calls) == 1


def test_timeout_after_failing_polls_says_what_failed_last() -> None:
    fetch = Script(ProviderUnavailableError("the relay is down", provider="toy"))
    with pytest.raises(ProviderTimeoutError, match="the relay is down"):
        poll_task(make_settings(), fetch, task_id="t1", first_delay=0.05, max_delay=0.05, deadline=0.3)


# ---- over real HTTP: polls are free GETs, retried by core, and never resubmit ----------------


class TaskEmulator(Emulator):
    """A toy async API: POST /tasks submits (billable), GET /tasks/{id} answers RUNNING twice."""

    def setup_routes(self) -> None:
        self.polls = 0
        self.route("POST", r"/tasks", lambda request, match: {"id": "task-1"}, billable=True)
        self.route("GET", r"/tasks/(?P<id>[\w-]+)", self.status)

    def status(self, request: RecordedRequest, match: re.Match[str]) -> dict[str, str]:
        self.polls += 1
        return {"state": "running" if self.polls <= 2 else "succeeded", "id": match["id"]}


@pytest.fixture
def task_emulator() -> Iterator[TaskEmulator]:
    with TaskEmulator() as emulator:
        yield emulator


def http_fetch(settings: ProviderSettings, task_id: str) -> Callable[[], tuple[str, Any]]:
    def fetch() -> tuple[str, Any]:
        body = settings.http.get_json(f"tasks/{task_id}")
        return body["state"], body

    return fetch


def test_polls_over_http_survive_a_500_and_a_dropped_connection(task_emulator: TaskEmulator) -> None:
    settings = make_settings(task_emulator.base_url)
    task_id = settings.http.request("POST", "tasks", billable=True).json()["id"]
    task_emulator.inject(Fault(method="GET", path=r"^/tasks/", status=500, times=1))
    task_emulator.inject(Fault(method="GET", path=r"^/tasks/", drop="after_body", times=1))
    payload = poll_task(settings, http_fetch(settings, task_id), task_id=task_id, first_delay=0.05)
    assert payload["state"] == "succeeded"
    assert task_emulator.billable_count == 1
    assert len(task_emulator.requests_to(r"^/tasks$", "POST")) == 1
    assert len(task_emulator.requests_to(r"^/tasks/", "GET")) == 5  # 500, drop, running x2, done


# ---- kit: state map, shortened schedule, failed-job payload -> typed error -----------------
from apiedit.errors import ApiEditError, InvalidInputError, QuotaExceededError  # noqa: E402
from apiedit.errormap import Envelope  # noqa: E402
from apiedit.protocols.async_tasks import PollSchedule, failed_task_error  # noqa: E402

FAST = PollSchedule(first=(0.01,), max_delay=0.02)
WORDS = {"PENDING": TaskState.QUEUED, "PROCESSING": TaskState.RUNNING,
         "SUCCEED": TaskState.SUCCEEDED, "FAIL": TaskState.FAILED}


def test_the_state_map_turns_the_providers_words_into_task_states() -> None:
    fetch = Script(("PENDING", None), ("processing", None), ("SUCCEED", {"url": "u"}))
    started = time.monotonic()
    assert poll_task(make_settings(), fetch, states=WORDS, schedule=FAST) == {"url": "u"}
    assert len(fetch.calls) == 3 and time.monotonic() - started < 0.5


def test_an_unknown_state_word_is_a_provider_error_naming_it() -> None:
    with pytest.raises(ProviderError, match="task state 'WEIRD'.*known: FAIL, PENDING"):
        poll_task(make_settings(), Script(("WEIRD", None)), states=WORDS, schedule=FAST)


def test_the_default_schedule_object_is_todays_schedule() -> None:
    delays = PollSchedule().delays()
    assert [round(next(delays), 3) for _ in range(6)] == [0.5, 1.0, 1.65, 2.64, 4.224, 5.0]
    assert [round(d, 3) for d, _ in zip(poll_delays(), range(6))] == [0.5, 1.0, 1.65, 2.64, 4.224, 5.0]


@pytest.mark.parametrize("kind, cls", [("blocked", ContentBlockedError), ("bad_request", InvalidInputError),
                                       ("quota", QuotaExceededError), (None, ProviderError)])
def test_a_failed_job_payload_becomes_a_typed_error(kind: str | None, cls: type) -> None:
    settings = make_settings()

    def envelope(payload: Any) -> Envelope:
        return Envelope(message=payload["reason"], code=payload["code"], kind=kind)

    fetch = Script(("FAIL", {"reason": "nope, said the job", "code": "E42"}))
    with pytest.raises(ApiEditError) as caught:
        poll_task(settings, fetch, task_id="t7", states=WORDS, schedule=FAST,
                  on_failure=lambda p: failed_task_error(settings, p, task_id="t7", envelope=envelope))
    assert type(caught.value) is cls
    assert "Toy task t7 failed" in str(caught.value) and "nope, said the job" in str(caught.value)
    assert caught.value.code == "E42" and caught.value.details == {"task_id": "t7"}


def test_a_failed_job_payload_in_a_common_envelope_needs_no_parser() -> None:
    error = failed_task_error(make_settings(), {"error": {"message": "GPU fell over", "code": "gpu"}})
    assert type(error) is ProviderError and "GPU fell over" in str(error) and error.code == "gpu"
