"""A job board for emulators of asynchronous image APIs: submit -> queued -> running -> done.

Async providers (ModelScope and others like it) answer a paid submit with a job id and the
result with free status polls. Every such emulator needs the same state machine; this module
is it, so an emulator only writes its routes and the JSON shapes of its answers:

    class AcmeEmulator(Emulator):
        def setup_routes(self):
            self.jobs = JobBoard(self, words=JobWords("PENDING", "RUNNING", "SUCCEED", "FAILED"))
            self.route("POST", r"/jobs", self.submit, billable=True)
            self.route("GET", r"/jobs/(?P<job>[^/]+)", self.poll)

        def submit(self, request, match):
            body = request.json()
            job = self.jobs.submit(lambda: [paint_output(body["prompt"])], data=body)
            return {"id": job.id}

        def poll(self, request, match):
            job = self.jobs.poll(match["job"])
            if job is None:
                return 404, {"error": "no such job"}
            return {"id": job.id, "status": self.jobs.word(job), "images": job.outputs,
                    **(job.failure or {})}

Decisions a user of the kit can rely on:
  * Timing: a job is queued for `Schedule.queued_polls` polls and `Schedule.queued_s` seconds,
    then running for `running_polls` polls and `running_s` seconds, then it ends. Everything is
    zero by default, so in tests the first poll already answers the end; a test that wants to
    see the queue sets e.g. `board.schedule = Schedule(queued_polls=1, running_polls=1)`.
    `submit(..., schedule=...)` sets one job's own; `Schedule(running_s=math.inf)` is a job
    that never ends (cancel and deadline tests).
  * The state is worked out when a poll arrives (no timer threads), and each poll is counted
    (`board.polls`, `job.polls`), so a test can assert how often a client asked.
  * Outputs are rendered once, when the job succeeds: served from the emulator as absolute URLs
    (`Emulator.output_url`, the default, `outputs="url"`: set `serves_output_urls = True` on
    the emulator so the suite's private-address test runs) or inline base64 (`outputs="base64"`).
    Either way each is logged with `Emulator.record_output`; `job.output_bytes` keeps them too.
  * `board.fail_next(payload)` makes the next submitted job end FAILED with `payload` (the
    provider's own failure body); a job's render function may also raise `JobFailed(payload)`.
"""

from __future__ import annotations

import base64
import itertools
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Union

if TYPE_CHECKING:
    from .emulator import Emulator

__all__ = ["MODELSCOPE_WORDS", "Job", "JobBoard", "JobFailed", "JobWords", "Schedule"]

QUEUED, RUNNING, SUCCEEDED, FAILED = "queued", "running", "succeeded", "failed"
"""The board's neutral states (they equal `apiedit.protocols.async_tasks.TaskState` values)."""


@dataclass(frozen=True)
class JobWords:
    """The words an API uses for the four states, in its own spelling."""

    queued: str = QUEUED
    running: str = RUNNING
    succeeded: str = SUCCEEDED
    failed: str = FAILED

    def word(self, state: str) -> str:
        return {QUEUED: self.queued, RUNNING: self.running, SUCCEEDED: self.succeeded,
                FAILED: self.failed}[state]


MODELSCOPE_WORDS = JobWords("PENDING", "RUNNING", "SUCCEED", "FAILED")
"""ModelScope API-Inference's `task_status` words (reference providers.md §5)."""


@dataclass(frozen=True)
class Schedule:
    """How long a job stays in each state: both its poll count and its seconds must pass."""

    queued_polls: int = 0
    running_polls: int = 0
    queued_s: float = 0.0
    running_s: float = 0.0


class JobFailed(Exception):
    """Raised by a render function: the job ends FAILED with `payload` as its failure body."""

    def __init__(self, payload: Any) -> None:
        super().__init__("emulated job failure")
        self.payload = payload


Render = Callable[[], Sequence[bytes]]
OutputMode = Literal["url", "base64"]


@dataclass
class Job:
    """One submitted job and everything the board saw about it."""

    id: str
    data: Any  # what the emulator attached at submit (the request body, usually)
    render: Union[Render, None]
    submitted_at: float
    schedule: Union[Schedule, None] = None  # this job's own; None: the board's
    state: str = QUEUED
    polls: int = 0
    states_answered: list[str] = field(default_factory=list)  # one per poll, neutral words
    failure: Any = None  # the failure payload once FAILED
    fail_with: Any = None  # set at submit by fail_next: the failure it will end with
    output_bytes: list[bytes] = field(default_factory=list)  # the images, in order
    outputs: list[str] = field(default_factory=list)  # URLs or base64 strings, as answered
    _running_since: float | None = None
    _running_polls: int = 0
    _finishing: bool = False

    @property
    def done(self) -> bool:
        return self.state in (SUCCEEDED, FAILED)


class JobBoard:
    """The jobs of one emulator; thread-safe (the emulator answers on many threads)."""

    def __init__(self, emulator: Emulator, *, words: JobWords = JobWords(),
                 schedule: Schedule = Schedule(), outputs: OutputMode = "url",
                 content_type: str = "image/png", id_prefix: str = "job-") -> None:
        if outputs not in ("url", "base64"):
            raise ValueError(f"outputs must be 'url' or 'base64', not {outputs!r}")
        self.emulator = emulator
        self.words = words
        self.schedule = schedule
        self.output_mode: OutputMode = outputs
        self.content_type = content_type
        self.id_prefix = id_prefix
        self.jobs: list[Job] = []
        self._by_id: dict[str, Job] = {}
        self._failures: list[Any] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.polls = 0  # every poll of a known job, in all

    # -- tests' switches

    def fail_next(self, payload: Any) -> None:
        """The next submitted job ends FAILED with `payload` (queued ones: one per submit)."""
        with self._lock:
            self._failures.append(payload)

    def reset(self) -> None:
        """Forget the jobs, the pending failures and the poll count."""
        with self._lock:
            self.jobs.clear()
            self._by_id.clear()
            self._failures.clear()
            self.polls = 0

    # -- the emulator's side

    def submit(self, render: Render | Sequence[bytes] | None, *, data: Any = None,
               job_id: str | None = None, schedule: Schedule | None = None) -> Job:
        """A new queued job. `render()` makes its output images when it succeeds (or pass the
        images themselves); it may raise JobFailed. None: a job that succeeds with no images.
        `schedule` overrides the board's for this job only."""
        if render is not None and not callable(render):
            images = list(render)
            render = lambda: images  # noqa: E731 - a fixed answer
        with self._lock:
            job = Job(id=job_id or f"{self.id_prefix}{next(self._ids)}", data=data,
                      render=render, submitted_at=time.monotonic(), schedule=schedule)
            if self._failures:
                job.fail_with = self._failures.pop(0)
            self.jobs.append(job)
            self._by_id[job.id] = job
        return job

    def get(self, job_id: str) -> Job | None:
        """The job, without counting a poll."""
        with self._lock:
            return self._by_id.get(job_id)

    def poll(self, job_id: str) -> Job | None:
        """Count one poll of `job_id`, move the job on by the schedule and return it (None for
        an unknown id: the emulator answers its own 404)."""
        with self._lock:
            job = self._by_id.get(job_id)
            if job is None:
                return None
            self.polls += 1
            job.polls += 1
            finish = self._advance(job, time.monotonic())
        if finish:
            self._finish(job)
        with self._lock:
            job.states_answered.append(job.state)
        return job

    def word(self, job: Job) -> str:
        """The job's state in the API's words."""
        return self.words.word(job.state)

    def last(self) -> Job:
        """The newest job (AssertionError when none was submitted)."""
        with self._lock:
            if not self.jobs:
                raise AssertionError("no job was submitted to the emulator")
            return self.jobs[-1]

    # -- internals

    def _advance(self, job: Job, now: float) -> bool:
        """Move a job on (under the lock); True when it has just reached its end."""
        s = job.schedule or self.schedule
        if job.state == QUEUED:
            if job.polls <= s.queued_polls or now - job.submitted_at < s.queued_s:
                return False
            job.state, job._running_since = RUNNING, now
        if job.state == RUNNING:
            job._running_polls += 1
            since = job._running_since if job._running_since is not None else now
            if job._running_polls <= s.running_polls or now - since < s.running_s:
                return False
            if job._finishing:  # another poll is rendering it: still running for this one
                return False
            job._finishing = True
            return True
        return False

    def _finish(self, job: Job) -> None:
        """Render outside the lock (painting takes milliseconds), then publish the end."""
        failure, images = job.fail_with, []
        if failure is None and job.render is not None:
            try:
                images = list(job.render())
            except JobFailed as exc:
                failure = exc.payload
        outputs = [] if failure is not None else [self._publish(i) for i in images]
        with self._lock:
            if failure is not None:
                job.state, job.failure = FAILED, failure
            else:
                job.state, job.output_bytes, job.outputs = SUCCEEDED, images, outputs

    def _publish(self, image: bytes) -> str:
        """One output as answered, logged in `Emulator.outputs` (the suite checks their order)."""
        if self.output_mode == "base64":
            self.emulator.record_output(image)
            return base64.b64encode(image).decode("ascii")
        from .emulator import sniff_image

        return self.emulator.output_url(image, sniff_image(image) or self.content_type)
