"""Waiting for ModelScope tasks: the poll schedule, cancellation, poll failures and the deadline."""

from __future__ import annotations

import dataclasses
import re
import threading
import time
from collections.abc import Callable

import pytest
from apiedit import (
    AuthenticationError,
    CancelledError,
    EditResult,
    ImageData,
    ProviderError,
    ProviderTimeoutError,
)
from apiedit.testing.conformance import sample_png
from apiedit.testing.emulator import Fault, RecordedRequest, Response
from apiedit_modelscope.emulator import ModelScopeEmulator

Call = Callable[..., EditResult]
TASKS = r"^/v1/tasks/"


def test_a_task_that_takes_several_polls_is_polled_on_a_backing_off_schedule(call: Call, emu: ModelScopeEmulator) -> None:
    emu.polls_until_done = 3
    lines: list[str] = []
    result = call(model="Qwen/Qwen-Image", progress=lines.append)
    (task,) = emu.tasks
    assert task.statuses == ["PENDING", "RUNNING", "RUNNING", "SUCCEED"]
    assert task.poll_times[0] - task.submitted_at < 0.7
    gaps = [b - a for a, b in zip(task.poll_times, task.poll_times[1:])]
    assert gaps == sorted(gaps) and gaps[-1] > gaps[0] * 1.5
    assert result.images and emu.billable_count == 1
    assert any(line.startswith("ModelScope: queued") for line in lines)
    assert any(line.startswith("ModelScope: running") for line in lines)


def test_a_processing_status_counts_as_running(call: Call, emu: ModelScopeEmulator) -> None:
    emu.polls_until_done = 2
    result = call(model="Qwen/Qwen-Image", prompt="emulate:processing a lighthouse")
    assert emu.tasks[0].statuses == ["PENDING", "PROCESSING", "SUCCEED"]
    assert result.images


def test_a_task_that_ends_after_some_seconds_is_waited_for(call: Call, emu: ModelScopeEmulator) -> None:
    emu.polls_until_done = None
    emu.task_seconds = 1.2
    result = call(model="Qwen/Qwen-Image-Edit", images=(ImageData(sample_png()),))
    assert result.images and emu.tasks[0].statuses[-1] == "SUCCEED"


def test_a_task_done_at_3_s_is_returned_within_a_third_of_a_second(call: Call, emu: ModelScopeEmulator) -> None:
    emu.polls_until_done = None
    emu.task_seconds = 3.0
    start = time.monotonic()
    result = call(model="Qwen/Qwen-Image")
    assert result.images and time.monotonic() - start < 3.45
    assert len(emu.tasks[0].poll_times) <= 4


def test_cancel_while_waiting_returns_promptly_after_one_submission(call: Call, emu: ModelScopeEmulator) -> None:
    cancel = threading.Event()
    timer = threading.Timer(1.0, cancel.set)
    timer.start()
    try:
        with pytest.raises(CancelledError, match="may still finish"):
            call(model="Qwen/Qwen-Image", prompt="emulate:slow", cancel=cancel)
        cancelled_for = time.monotonic()
    finally:
        timer.cancel()
    assert emu.billable_count == 1
    assert len(emu.requests_to(r"^/v1/images/generations$")) == 1
    polls_before = len(emu.requests_to(TASKS))
    time.sleep(0.5)
    assert len(emu.requests_to(TASKS)) == polls_before  # nothing keeps polling
    assert cancelled_for  # raised, not hung


def test_cancel_returns_within_a_second(call: Call, emu: ModelScopeEmulator) -> None:
    cancel = threading.Event()
    threading.Timer(1.0, cancel.set).start()
    start = time.monotonic()
    with pytest.raises(CancelledError):
        call(model="Qwen/Qwen-Image", prompt="emulate:slow", cancel=cancel)
    assert time.monotonic() - start < 2.0


def test_cancel_during_a_hung_poll_returns_promptly(call: Call, emu: ModelScopeEmulator) -> None:
    emu.inject(Fault(method="GET", path=TASKS, delay=5.0, times=0))
    cancel = threading.Event()
    threading.Timer(1.0, cancel.set).start()
    start = time.monotonic()
    with pytest.raises(CancelledError):
        call(model="Qwen/Qwen-Image", cancel=cancel)
    assert time.monotonic() - start < 1.5
    assert emu.billable_count == 1


def test_a_500_and_a_dropped_connection_on_polls_are_retried_without_resubmitting(call: Call, emu: ModelScopeEmulator) -> None:
    emu.polls_until_done = 1
    emu.inject(emu.fault_for("server_error", method="GET", path=TASKS, times=1))
    emu.inject(Fault(method="GET", path=TASKS, drop="after_body", times=1))
    result = call(model="Qwen/Qwen-Image")
    assert result.images
    assert emu.billable_count == 1
    assert len(emu.requests_to(r"^/v1/images/generations$")) == 1
    assert len(emu.requests_to(TASKS)) == 4  # 500, dropped, PENDING, SUCCEED


def test_polls_that_keep_failing_end_at_the_deadline_without_resubmitting(call: Call, emu: ModelScopeEmulator) -> None:
    emu.inject(emu.fault_for("server_error", method="GET", path=TASKS, times=0))
    with pytest.raises(ProviderTimeoutError, match="Internal server error"):
        call(model="Qwen/Qwen-Image", timeout_s=2.5)
    assert emu.billable_count == 1


def test_the_deadline_gives_up_with_the_task_id_and_no_resubmission(call: Call, emu: ModelScopeEmulator) -> None:
    start = time.monotonic()
    with pytest.raises(ProviderTimeoutError) as caught:
        call(model="Qwen/Qwen-Image", prompt="emulate:slow", timeout_s=1.5)
    elapsed = time.monotonic() - start
    (task,) = emu.tasks
    text = str(caught.value)
    assert task.task_id in text and "may still finish" in text and "not resubmitted" in text
    assert 1.3 < elapsed < 2.5
    assert emu.billable_count == 1


def test_a_poll_refused_for_auth_is_raised_at_once(call: Call, emu: ModelScopeEmulator) -> None:
    emu.inject(emu.fault_for("auth", method="GET", path=TASKS, times=0))
    with pytest.raises(AuthenticationError, match="Alibaba Cloud"):
        call(model="Qwen/Qwen-Image")
    assert len(emu.requests_to(TASKS)) == 1 and emu.billable_count == 1


def test_an_unknown_task_is_a_provider_error(call: Call, emu: ModelScopeEmulator) -> None:
    emu.inject(Fault(method="GET", path=TASKS, status=404, body={"error": {"message": "Task not found."}}))
    with pytest.raises(ProviderError, match="Task not found"):
        call(model="Qwen/Qwen-Image")
    assert emu.billable_count == 1


def test_several_images_are_submitted_before_any_wait(call: Call, emu: ModelScopeEmulator) -> None:
    emu.polls_until_done = 1
    result = call(model="Qwen/Qwen-Image", n=2)
    first_poll = min(t.poll_times[0] for t in emu.tasks)
    assert all(t.submitted_at < first_poll for t in emu.tasks)
    assert len(result.images) == 2


def test_later_tasks_get_a_last_look_after_the_first_used_up_the_time(call: Call, emu: ModelScopeEmulator) -> None:
    emu.outcomes = ["slow", "succeed"]
    result = call(model="Qwen/Qwen-Image", n=2, timeout_s=1.0)
    assert len(result.images) == 1 and emu.tasks[1].statuses[-1] == "SUCCEED"
    assert any("Only 1 of 2 images" in w and emu.tasks[0].task_id in w for w in result.warnings)
    assert emu.billable_count == 2


def test_the_legacy_synchronous_answer_is_understood(call: Call, emu: ModelScopeEmulator) -> None:
    """A relay that strips the async header gets the old synchronous shape (images[].url)."""
    emu.require_async_header = False
    submit = emu._submit

    def strip_async_header(request: RecordedRequest, match: re.Match[str]) -> Response:
        headers = {k: v for k, v in request.headers.items() if k != "x-modelscope-async-mode"}
        return submit(dataclasses.replace(request, headers=headers), match)

    emu.route("POST", r"/v1/images/generations", strip_async_header, billable=True)
    result = call(model="Qwen/Qwen-Image")
    assert result.images and emu.requests_to(TASKS) == []
    assert emu.billable_count == 1
