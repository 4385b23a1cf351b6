"""Run a provider call inside ComfyUI: in a worker thread, interruptible, with progress text.

ComfyUI's interrupt sets a flag; this loop checks it every 0.1 s, sets the call's cancel event
(which wakes any retry wait or task poll at once) and raises ComfyUI's interrupt exception, so
the node stops within about a second.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, TypeVar

T = TypeVar("T")

_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="apiedit")
POLL_SECONDS = 0.1


def _interrupted() -> bool:
    try:
        import comfy.model_management as mm
    except ImportError:
        return False
    return bool(mm.processing_interrupted())


def _raise_interrupt() -> None:
    import comfy.model_management as mm

    mm.throw_exception_if_processing_interrupted()
    raise mm.InterruptProcessingException()


def progress_sender(node_id: str | None) -> Callable[[str], None]:
    """A progress sink showing text under the node (no-op outside a ComfyUI server)."""

    def send(text: str) -> None:
        try:
            from server import PromptServer

            PromptServer.instance.send_progress_text(text, node_id)
        except Exception:
            pass

    return send


def run_interruptible(call: Callable[[threading.Event], T], *, grace: float = 1.0) -> T:
    """Run `call(cancel_event)` in a worker; stop promptly when ComfyUI is interrupted."""
    cancel = threading.Event()
    future: Future[T] = _pool.submit(call, cancel)
    while True:
        try:
            return future.result(timeout=POLL_SECONDS)
        except TimeoutError:
            pass
        if _interrupted():
            cancel.set()
            try:
                future.result(timeout=grace)  # let the worker notice and unwind
            except BaseException:
                pass
            _raise_interrupt()


def shutdown() -> None:
    _pool.shutdown(wait=False, cancel_futures=True)


__all__ = ["progress_sender", "run_interruptible", "shutdown"]
