"""Native mode: one provider job set per (provider, model), journaled before it is polled.

The token handed to `submit_batch` is derived from the run id, provider and model, so a resume
after a crash between "job created" and "job journaled" passes the same token and the plugin
returns the existing job instead of paying for a second one.
"""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from typing import Any, Callable, Iterable, Sequence

from ..errors import ApiEditError, ProviderError
from .types import BatchJob, BatchLine

__all__ = ["POLL_SCHEDULE", "run_native", "token_for"]

POLL_SCHEDULE: Sequence[float] = (5, 10, 20, 30, 60)
"""Seconds between polls; the last value repeats. Tests shorten it (`runner.poll_schedule`)."""


def token_for(run_id: str, provider: str, model: str) -> str:
    return "apiedit-" + hashlib.sha256(f"{run_id}\0{provider}\0{model}".encode()).hexdigest()[:24]


def _wait_times(schedule: Sequence[float]) -> Iterable[float]:
    yield from schedule
    while True:
        yield schedule[-1]


def run_native(runner: Any, lines: list[Any], report: Callable[[], None]) -> None:
    """Submit the pending native lines, then poll and fetch every unfinished journaled job."""
    host, journal = runner.host, runner.journal
    run_id = journal.get_meta("run_id") or ""
    groups: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for line in lines:
        groups[(line.provider, line.model)].append(line)
    for (provider, model), group in groups.items():
        batch_lines = []
        for line in group:
            try:
                request = line.build_request(runner._fetcher(provider))
            except ApiEditError as exc:
                runner._fail(line.id, exc)
                continue
            from .manifest import request_hash

            digest = request_hash(line, request)
            journal.update(line.id, hash=digest, mode="native")
            if not runner._reuse(line.id, digest):
                batch_lines.append(BatchLine(custom_id=line.id, request=request))
        if not batch_lines:
            continue
        token = token_for(run_id, provider, model)

        def record(job: BatchJob, provider: str = provider) -> None:
            journal.add_job(job.job_id, provider, job.token, job.to_json())
            for ident in job.custom_ids:
                journal.update(ident, state="submitted", job_id=job.job_id)

        settings = host.settings(provider)
        try:
            jobs = host._guarded(provider, "submit_batch", model=model, lines=batch_lines,
                                 token=token, journal=record, settings=settings) or []
        except ApiEditError as exc:
            # The job may or may not exist: the lines stay pending (with the error), and a
            # resume passes the same token, so the plugin finds a job it made instead of
            # paying for a second one.
            for line in batch_lines:
                if any(r["id"] == line.custom_id for r in journal.rows("pending")):
                    journal.update(line.custom_id, error_type=type(exc).__name__,
                                   error_message=f"not submitted yet ({exc}); resume retries "
                                   "with the same token")
            report()
            continue
        for job in jobs:  # a plugin that forgot to call `journal`
            record(job)
        report()
    poll_jobs(runner, report)


def poll_jobs(runner: Any, report: Callable[[], None]) -> None:
    """Poll every journaled, unfinished job on the backoff schedule; fetch each when done."""
    host, journal = runner.host, runner.journal
    schedule = getattr(runner, "poll_schedule", POLL_SCHEDULE)
    open_jobs = {j["job_id"]: (BatchJob.from_json(j["data"]), _wait_times(schedule))
                 for j in journal.jobs("submitted")}
    due = {job_id: 0.0 for job_id in open_jobs}
    while open_jobs and not runner._cancel.is_set():
        now = time.monotonic()
        job_id = min(due, key=due.get)
        if due[job_id] > now:
            runner._cancel.wait(due[job_id] - now)
            continue
        job, waits = open_jobs[job_id]
        try:
            status = host._guarded(job.provider, "poll_batch", job=job,
                                   settings=host.settings(job.provider))
        except ApiEditError:
            due[job_id] = time.monotonic() + next(waits)  # a failed poll is retried later
            continue
        if not status.state.terminal:
            due[job_id] = time.monotonic() + next(waits)
            continue
        fetch(runner, job)
        journal.set_job_state(job_id, status.state.value)
        del open_jobs[job_id], due[job_id]
        report()


def fetch(runner: Any, job: BatchJob) -> None:
    """Stream the job's results into files and the journal; lines not answered fail."""
    journal, host = runner.journal, runner.host
    seen = set()
    for item in host._guarded(job.provider, "fetch_batch_results", job=job,
                              settings=host.settings(job.provider)):
        seen.add(item.custom_id)
        if item.result is not None:
            runner.store(item.custom_id, item.result)
        else:
            exc = item.error
            journal.update(item.custom_id, state="failed", error_type=type(exc).__name__,
                           error_message=str(exc)[:2000])
    for ident in set(job.custom_ids) - seen:
        journal.update(ident, state="failed", error_type=ProviderError.__name__,
                       error_message=f"job {job.job_id} returned no result for this line")
