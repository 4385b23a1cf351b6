"""The Python API of `apiedit batch`: submit, resume, status, results, cancel.

Everything lives in the output folder DIR (journal.sqlite, outputs/, report.json), so any
process may call these on a DIR; one DIR is one journal shard, driven by one process at a time.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

from ..errors import InvalidInputError
from .journal import Journal
from .runner import Progress, Runner, report

__all__ = ["cancel", "estimate_run", "resume", "results", "status", "submit"]


def submit(manifest: str | Path, out: str | Path, *, mode: str = "auto",
           concurrency: int | None = None, budget: Decimal | float | str | None = None,
           allow_unknown_prices: bool = False, host: Any = None,
           progress: Progress | None = None, on_estimate: Any = None) -> dict[str, Any]:
    """Run MANIFEST into OUT and return the report (also written to OUT/report.json).

    Every manifest line is checked first (InvalidInputError listing bad lines); the cost is
    estimated and checked against `budget` before anything is sent. A line already journaled
    in OUT is not sent again; per-line failures are in the report, never raised.
    """
    runner = Runner(out, host=host)
    try:
        lines = runner.load(manifest)
        return _go(runner, lines, mode, concurrency, budget, allow_unknown_prices, progress,
                   on_estimate)
    finally:
        runner.journal.close()


def resume(out: str | Path, *, retry_unknown: bool = False, mode: str | None = None,
           concurrency: int | None = None, host: Any = None,
           progress: Progress | None = None) -> dict[str, Any]:
    """Continue the run in OUT: poll journaled jobs, send lines never sent; lines whose outcome
    is unknown (may have been billed) are sent again only with `retry_unknown`."""
    if not Journal.exists(out):
        raise InvalidInputError(f"{out} holds no batch run (no journal.sqlite). Start one with "
                                "`apiedit batch run MANIFEST --out DIR`.")
    runner = Runner(out, host=host)
    try:
        runner.journal.mark_interrupted()
        if retry_unknown:
            runner.journal.retry_unknown()
        return _go(runner, runner.pending_lines(), mode or runner.journal.get_meta("mode") or "auto",
                   concurrency, None, True, progress, None)
    finally:
        runner.journal.close()


def _go(runner: Runner, lines: list, mode: str, concurrency: int | None, budget: Any,
        allow_unknown: bool, progress: Progress | None, on_estimate: Any) -> dict[str, Any]:
    runner.journal.mark_interrupted()
    mode_of = runner.modes(lines, mode)
    if budget is not None:
        try:
            budget = Decimal(str(budget))
        except ArithmeticError:
            raise InvalidInputError(f"The budget must be an amount like 12.50, not {budget!r}.") from None
        if not budget.is_finite() or budget < 0:
            raise InvalidInputError(f"The budget must be an amount like 12.50, not {budget}.")
    costs = runner.check_budget(lines, mode_of, budget, allow_unknown)
    extra = {f"estimated_cost_{k}": v.label() for k, v in costs.items()}
    for key, value in extra.items():
        runner.journal.set_meta(key, value)
    runner.journal.set_meta("mode", mode)
    if on_estimate:
        on_estimate(costs)
    runner.run(lines, mode_of, concurrency=concurrency, progress=progress)
    from .native import poll_jobs

    poll_jobs(runner, lambda: None)  # jobs journaled by an earlier process
    return report(runner.journal, extra)


def status(out: str | Path) -> dict[str, Any]:
    """The run's counts and per-line states, from the journal (no network)."""
    if not Journal.exists(out):
        raise InvalidInputError(f"{out} holds no batch run (no journal.sqlite).")
    journal = Journal(out)
    try:
        rows = journal.rows()
        return {"total": len(rows), "counts": journal.counts(), "jobs": journal.jobs(),
                "lines": [{k: r[k] for k in ("id", "provider", "model", "state", "mode",
                                             "job_id", "request_id", "outputs", "error_type",
                                             "error_message")} for r in rows]}
    finally:
        journal.close()


def results(out: str | Path) -> Iterator[dict[str, Any]]:
    """Each line's outcome, one dict at a time: id, state, output paths (absolute), error."""
    for line in status(out)["lines"]:
        line["outputs"] = [{**o, "path": str(Path(out) / o["path"])} for o in line["outputs"]]
        yield line


def cancel(out: str | Path, *, host: Any = None) -> dict[str, Any]:
    """Ask the provider to cancel the run's unfinished native jobs; unsent lines are marked
    failed (CancelledError). Finished lines and their files stay. A provider that finishes the
    lines it already ran hands them over on the next `resume` (or to a `run` still polling).

    The report's `cancelled_jobs` lists, per job, the state the provider answered or the error
    it refused with: a refused cancel is shown, not swallowed, since that job may still bill."""
    from ..errors import ApiEditError
    from .types import BatchJob

    runner = Runner(out, host=host)
    outcomes: list[dict[str, Any]] = []
    try:
        for job in runner.journal.jobs("submitted"):
            batch_job = BatchJob.from_json(job["data"])
            try:
                answer = runner.host._guarded(batch_job.provider, "cancel_batch", job=batch_job,
                                              settings=runner.host.settings(batch_job.provider))
                outcomes.append({"job_id": batch_job.job_id, "provider": batch_job.provider,
                                 "state": getattr(getattr(answer, "state", None), "value", None)})
            except ApiEditError as exc:
                outcomes.append({"job_id": batch_job.job_id, "provider": batch_job.provider,
                                 "error": f"{type(exc).__name__}: {exc}"})
        for row in runner.journal.rows("pending"):
            runner.journal.update(row["id"], state="failed", error_type="CancelledError",
                                  error_message="cancelled before it was sent")
        return {**report(runner.journal), "cancelled_jobs": outcomes}
    finally:
        runner.journal.close()


def estimate_run(manifest: str | Path, *, host: Any = None) -> dict[str, Any]:
    """The estimated cost of a manifest, live and native, without running it."""
    from .manifest import read_manifest
    from .runner import estimate

    if host is None:
        from ..host import default_host

        host = default_host()
    return estimate(host, read_manifest(manifest, host.providers().keys()))
