"""A one-line spinner on stderr: elapsed time and the provider's latest phase.

Only on a terminal; when stderr is a file or a pipe it stays quiet, so logs hold no `\\r` noise.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from typing import TextIO

__all__ = ["Spinner"]

_FRAMES = "|/-\\"


class Spinner:
    """`with Spinner("openai") as s: ... s.update("queued")`; `s.update` is a progress sink."""

    def __init__(self, label: str, stream: TextIO | None = None, interval: float = 0.1) -> None:
        self.stream = stream or sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.label = label
        self.phase = f"{label}: checking the request"
        self.interval = interval
        self._start = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._width = 0

    def update(self, text: str) -> None:
        self.phase = " ".join(str(text).split())

    def _draw(self, frame: str) -> None:
        elapsed = time.monotonic() - self._start
        line = f"{frame} {elapsed:5.1f}s  {self.phase}"
        columns = shutil.get_terminal_size((80, 24)).columns - 1
        line = line[:columns]
        self.stream.write("\r" + line.ljust(self._width))
        self.stream.flush()
        self._width = len(line)

    def _run(self) -> None:
        tick = 0
        while not self._stop.wait(self.interval):
            self._draw(_FRAMES[tick % len(_FRAMES)])
            tick += 1

    def __enter__(self) -> Spinner:
        if self.enabled:
            self._thread = threading.Thread(target=self._run, name="apiedit-spinner", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self.stream.write("\r" + " " * self._width + "\r")  # leave a clean line behind
            self.stream.flush()
