"""What `apiedit batch` prints: the cost estimate, a progress bar (on a terminal) or plain
lines (off one), and the final table of the report."""

from __future__ import annotations

import shutil
import sys
import threading
import time
from typing import Any, TextIO

__all__ = ["BatchProgress", "print_estimate", "print_report"]


class BatchProgress:
    """A progress sink `(counts, total)`: a redrawn bar with ETA on a terminal; off a terminal
    one plain line each time a line finishes, at most one every `plain_every` seconds."""

    def __init__(self, stream: TextIO | None = None, plain_every: float = 5.0) -> None:
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.monotonic()
        self.plain_every = plain_every
        self._last = 0.0
        self._lock = threading.Lock()

    def __call__(self, counts: dict[str, int], total: int) -> None:
        finished = counts.get("done", 0) + counts.get("failed", 0) + counts.get("unknown", 0)
        elapsed = time.monotonic() - self.start
        rate = finished / elapsed if elapsed > 0 and finished else 0.0
        eta = f"{(total - finished) / rate:.0f}s" if rate else "?"
        text = (f"{finished}/{total} done={counts.get('done', 0)} failed={counts.get('failed', 0)} "
                f"unknown={counts.get('unknown', 0)} waiting={counts.get('submitted', 0)} "
                f"eta {eta}")
        with self._lock:
            if self.tty:
                width = max(10, min(30, shutil.get_terminal_size((80, 24)).columns - len(text) - 4))
                filled = int(width * finished / total) if total else width
                self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {text}")
                if finished >= total:
                    self.stream.write("\n")
            elif finished >= total or time.monotonic() - self._last >= self.plain_every:
                self._last = time.monotonic()
                self.stream.write(f"batch: {text}\n")
            self.stream.flush()


def print_estimate(costs: dict[str, Any], stream: TextIO | None = None) -> None:
    stream = stream or sys.stderr
    live, native, planned = costs["live"], costs["native"], costs["planned"]
    stream.write(f"estimated cost: live {live.label()} | native batch {native.label()} | "
                 f"this run {planned.label()}\n")
    for estimate in (live, native):
        if estimate.amount is None:
            stream.write(f"  note: {estimate.basis}\n")
    stream.flush()


def print_report(data: dict[str, Any], stream: TextIO | None = None) -> None:
    stream = stream or sys.stdout
    counts = data["counts"]
    rows = [("done", counts.get("done", 0)), ("failed", counts.get("failed", 0))]
    rows += [(f"  {kind}", n) for kind, n in sorted(data["failed_by_type"].items())]
    rows += [("unknown (may have been billed)", counts.get("unknown", 0)),
             ("not finished", counts.get("pending", 0) + counts.get("submitted", 0)
              + counts.get("sending", 0))]
    for label, n in rows:
        stream.write(f"{label:<32} {n:>7}\n")
    stream.write(f"{'reused (identical line)':<32} {data.get('reused', 0):>7}\n")
    cost = data.get("estimated_cost_planned") or "price unknown"
    stream.write(f"{'estimated cost':<32} {cost:>7}\n")
    if data.get("reported_cost"):
        stream.write(f"{'reported cost':<32} {data['reported_cost']:>7}\n")
    stream.write(f"{'time':<32} {data.get('elapsed_s', 0):>6.1f}s\n")
    for item in data.get("unknown", [])[:20]:
        stream.write(f"unknown: {item['id']}: {item['error']}\n")
