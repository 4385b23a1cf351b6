"""Run a provider call so that Ctrl-C cancels it cleanly and says whether it may have cost money."""

from __future__ import annotations

import threading
from typing import Callable, TypeVar

from ..errors import CancelledError
from ..settings import CancelToken
from .progress import Spinner

__all__ = ["CancelledByUser", "run_cancellable"]

T = TypeVar("T")


class CancelledByUser(CancelledError):
    """Ctrl-C during a call; `billable_sent` says whether a paid request had gone out."""

    def __init__(self, label: str, billable_sent: bool) -> None:
        if billable_sent:
            text = (f"Cancelled. The request had already been sent to {label}, so it may have "
                    "been billed; check your provider dashboard before trying again.")
        else:
            text = "Cancelled before any paid request was sent: nothing was billed."
        super().__init__(text)
        self.billable_sent = billable_sent


def run_cancellable(label: str, call: Callable[[CancelToken, Callable[[str], None]], T]) -> T:
    """Run `call(cancel, progress)` in a worker while a spinner shows progress.

    The main thread only waits, so Ctrl-C reaches it at once: the call is told to stop and the
    command returns without waiting for a slow provider (the worker is a daemon thread).
    """
    cancel = CancelToken()
    outcome: dict[str, object] = {}

    with Spinner(label) as spinner:
        def work() -> None:
            try:
                outcome["value"] = call(cancel, spinner.update)
            except BaseException as exc:  # handed to the main thread, raised there
                outcome["error"] = exc

        worker = threading.Thread(target=work, name="apiedit-call", daemon=True)
        try:
            worker.start()  # inside the try: Ctrl-C may land while the thread starts
            while worker.is_alive():
                worker.join(0.1)
        except KeyboardInterrupt:
            cancel.set()
            worker.join(1.0)  # most waits wake at once; a blocking read is abandoned
            raise CancelledByUser(label, cancel.billable_sent) from None
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]
