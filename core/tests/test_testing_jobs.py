"""apiedit.testing.jobs: the async-job board emulators share, driven over real HTTP."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
import requests

from apiedit.testing.emulator import Emulator, RecordedRequest
from apiedit.testing.jobs import MODELSCOPE_WORDS, JobBoard, JobFailed, JobWords, Schedule
from apiedit.testing.painter import paint_output, painted_index


class JobsEmulator(Emulator):
    """The smallest job API: POST /jobs {"prompt", "n"}, GET /jobs/{id}."""

    serves_output_urls = True
    words = JobWords()
    mode = "url"

    def setup_routes(self) -> None:
        self.board = JobBoard(self, words=self.words, outputs=self.mode)  # type: ignore[arg-type]
        self.route("POST", r"/jobs", self.submit, billable=True)
        self.route("GET", r"/jobs/(?P<job>[^/]+)", self.poll)

    def submit(self, request: RecordedRequest, _m: re.Match) -> Any:
        body = request.json()
        if body.get("explode"):
            def render() -> list[bytes]:
                raise JobFailed({"error": {"message": "exploded", "code": "boom"}})
        else:
            def render() -> list[bytes]:
                return [paint_output(body["prompt"], index=i) for i in range(body.get("n", 1))]
        return {"id": self.board.submit(render, data=body).id}

    def poll(self, _request: RecordedRequest, match: re.Match) -> Any:
        job = self.board.poll(match["job"])
        if job is None:
            return 404, {"error": "no such job"}
        return {"status": self.board.word(job), "outputs": job.outputs, **(job.failure or {})}


def _submit(emulator: Emulator, **body: Any) -> str:
    return requests.post(f"{emulator.base_url}/jobs", json={"prompt": "p", **body}, timeout=5).json()["id"]


def _poll(emulator: Emulator, job_id: str) -> dict[str, Any]:
    return requests.get(f"{emulator.base_url}/jobs/{job_id}", timeout=5).json()


def test_by_default_the_first_poll_answers_the_end_with_output_urls(emulator_factory) -> None:
    emulator = emulator_factory(JobsEmulator)
    answer = _poll(emulator, _submit(emulator, n=3))
    assert answer["status"] == "succeeded"
    fetched = [requests.get(url, timeout=5).content for url in answer["outputs"]]
    assert [painted_index(image) for image in fetched] == [0, 1, 2]
    assert fetched == emulator.outputs == emulator.board.last().output_bytes
    assert emulator.board.polls == 1


def test_a_schedule_walks_queued_running_succeeded_and_counts_polls(emulator_factory) -> None:
    emulator = emulator_factory(JobsEmulator)
    emulator.board.schedule = Schedule(queued_polls=2, running_polls=1)
    job_id = _submit(emulator)
    seen = [_poll(emulator, job_id)["status"] for _ in range(5)]
    assert seen == ["queued", "queued", "running", "succeeded", "succeeded"]
    assert emulator.board.polls == 5 and emulator.board.get(job_id).polls == 5
    assert len(emulator.outputs) == 1, "outputs are rendered once, not per poll"


def test_timed_states_last_their_seconds(emulator_factory) -> None:
    emulator = emulator_factory(JobsEmulator)
    emulator.board.schedule = Schedule(queued_s=0.2, running_s=0.2)
    job_id = _submit(emulator)
    assert _poll(emulator, job_id)["status"] == "queued"
    time.sleep(0.25)
    assert _poll(emulator, job_id)["status"] == "running"
    time.sleep(0.25)
    assert _poll(emulator, job_id)["status"] == "succeeded"


def test_one_job_can_have_its_own_schedule_and_never_end(emulator_factory) -> None:
    import math

    emulator = emulator_factory(JobsEmulator)
    slow = emulator.board.submit([b"never"], schedule=Schedule(running_s=math.inf))
    quick = _submit(emulator)
    assert [_poll(emulator, slow.id)["status"] for _ in range(3)] == ["running"] * 3
    assert _poll(emulator, quick)["status"] == "succeeded"
    assert slow.output_bytes == [] and not slow.done


def test_the_words_are_the_providers_own(emulator_factory) -> None:
    class ModelScopeLike(JobsEmulator):
        words = MODELSCOPE_WORDS

    emulator = emulator_factory(ModelScopeLike)
    emulator.board.schedule = Schedule(queued_polls=1)
    job_id = _submit(emulator)
    assert [_poll(emulator, job_id)["status"] for _ in range(2)] == ["PENDING", "SUCCEED"]
    emulator.board.fail_next({"errors": {"code": 422}})
    job_id = _submit(emulator)
    assert [_poll(emulator, job_id)["status"] for _ in range(2)] == ["PENDING", "FAILED"]


def test_fail_next_fails_exactly_the_next_job_with_its_payload(emulator_factory) -> None:
    emulator = emulator_factory(JobsEmulator)
    emulator.board.fail_next({"error": {"message": "refused", "code": "blocked"}})
    failed, ok = _submit(emulator), _submit(emulator)
    assert _poll(emulator, failed) == {"status": "failed", "outputs": [],
                                       "error": {"message": "refused", "code": "blocked"}}
    assert _poll(emulator, ok)["status"] == "succeeded"
    assert len(emulator.outputs) == 1


def test_a_render_that_raises_job_failed_ends_the_job_failed(emulator_factory) -> None:
    emulator = emulator_factory(JobsEmulator)
    answer = _poll(emulator, _submit(emulator, explode=True))
    assert answer["status"] == "failed" and answer["error"]["code"] == "boom"


def test_inline_outputs_are_base64_and_recorded(emulator_factory) -> None:
    import base64

    class Inline(JobsEmulator):
        mode = "base64"

    emulator = emulator_factory(Inline)
    answer = _poll(emulator, _submit(emulator, n=2))
    assert [base64.b64decode(o) for o in answer["outputs"]] == emulator.outputs
    assert len(emulator.outputs) == 2


def test_answer_outputs_via_rewrites_the_urls_the_board_answers(emulator_factory) -> None:
    emulator = emulator_factory(JobsEmulator)
    emulator.answer_outputs_via(lambda url: url.replace("127.0.0.1", "10.255.255.1"))
    (url,) = _poll(emulator, _submit(emulator))["outputs"]
    assert url.startswith("http://10.255.255.1:")


def test_unknown_jobs_are_none_and_bad_modes_refused(emulator_factory) -> None:
    emulator = emulator_factory(JobsEmulator)
    assert requests.get(f"{emulator.base_url}/jobs/nope", timeout=5).status_code == 404
    assert emulator.board.polls == 0
    with pytest.raises(ValueError, match="outputs must be"):
        JobBoard(emulator, outputs="inline")  # type: ignore[arg-type]
    with pytest.raises(AssertionError, match="no job"):
        JobBoard(emulator).last()


def test_a_job_polled_concurrently_is_rendered_once(emulator_factory) -> None:
    from concurrent.futures import ThreadPoolExecutor

    emulator = emulator_factory(JobsEmulator)
    job_id = _submit(emulator, n=2)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: _poll(emulator, job_id), range(16)))
    assert {a["status"] for a in answers} <= {"running", "succeeded"}
    assert any(a["status"] == "succeeded" for a in answers)
    assert len(emulator.outputs) == 2
