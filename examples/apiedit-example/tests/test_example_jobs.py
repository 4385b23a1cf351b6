"""The example's job flow as a user sees it: progress while queued and running, one paid
submit, every output downloaded in order, a failed job as the error its code names."""

from __future__ import annotations

import pytest

import apiedit
from apiedit.testing.jobs import Schedule
from apiedit.testing.painter import painted_index
from apiedit_example.emulator import ExampleEmulator


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    from apiedit.protocols import async_tasks

    monkeypatch.setattr(async_tasks, "DEFAULT_SCHEDULE", (0.01, 0.01, 0.02))


@pytest.fixture
def emulator(emulator_factory, apiedit_home) -> ExampleEmulator:
    return emulator_factory(ExampleEmulator)


def test_a_queued_job_reports_progress_and_returns_every_output_in_order(
    emulator: ExampleEmulator, sentinel_key: str
) -> None:
    emulator.jobs.schedule = Schedule(queued_polls=1, running_polls=1)
    lines: list[str] = []
    result = apiedit.edit("example", model="example-image-1", prompt="three foxes", n=3,
                          api_key=sentinel_key, base_url=emulator.base_url, progress=lines.append)
    assert [painted_index(image.data) for image in result.images] == [0, 1, 2]
    assert [image.data for image in result.images] == emulator.outputs
    assert any("queued" in line for line in lines) and any("running" in line for line in lines)
    assert emulator.billable_count == 1 and emulator.jobs.polls == 3
    assert result.request_id == f"ex-{emulator.jobs.last().id}"
    assert not any(sentinel_key in line for line in lines)


def test_a_job_that_fails_on_quota_is_a_quota_error_and_is_not_resubmitted(
    emulator: ExampleEmulator, sentinel_key: str
) -> None:
    message = emulator.fail_next_answer("quota")
    with pytest.raises(apiedit.QuotaExceededError) as caught:
        apiedit.edit("example", model="example-image-1", prompt="a fox",
                     api_key=sentinel_key, base_url=emulator.base_url)
    assert message in str(caught.value) and emulator.jobs.last().id in str(caught.value)
    assert emulator.billable_count == 1
