"""Run a provider call inside ComfyUI: in a worker thread, awaited, interruptible, with progress.

The node's `execute` is a coroutine (ComfyUI 0.3.75 and 0.33 both await V3 coroutines as tasks
and stage the next ready node meanwhile), so several API Image Edit nodes of one graph wait for
their providers at the same time; the blocking HTTP call runs in a worker of this module's own
pool (not asyncio's default executor, whose shutdown at the end of a prompt would wait for
calls that an interrupt abandoned).

ComfyUI's interrupt sets a flag; each waiting node checks it every 0.1 s, sets its call's cancel
event (which wakes any retry wait or task poll at once, and stops anything not yet sent) and
raises ComfyUI's interrupt exception. The flag is *read*, never cleared here (ComfyUI's own
`throw_exception_if_processing_interrupted` clears it), so every running node sees it; ComfyUI
resets it when the next prompt starts. A paid request already on the wire is not resent: its
worker finishes or fails on its own and the answer is dropped (apiedit.http never retries a
billable request after a cancel).
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, TypeVar

T = TypeVar("T")

# Paid requests are capped per provider by apiedit.limits (default 4 in flight); the pool only
# needs to be large enough that nodes waiting for that gate do not block other providers' nodes.
_pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="apiedit")
POLL_SECONDS = 0.1
GRACE_SECONDS = 0.5  # how long an interrupted node lets its worker unwind before it raises


def _interrupted() -> bool:
    try:
        import comfy.model_management as mm
    except ImportError:
        return False
    return bool(mm.processing_interrupted())


def _interrupt_exception() -> BaseException:
    import comfy.model_management as mm

    return mm.InterruptProcessingException()


def progress_sender(node_id: str | None) -> Callable[[str], None]:
    """A progress sink showing text under the node (no-op outside a ComfyUI server)."""

    def send(text: str) -> None:
        try:
            from server import PromptServer

            PromptServer.instance.send_progress_text(text, node_id)
        except Exception:
            pass

    return send


def _wake_on_done(future: Future[T], loop: asyncio.AbstractEventLoop) -> asyncio.Event:
    """An event set (on `loop`) when the worker's future finishes; safe after the loop closed."""
    done = asyncio.Event()

    def wake(_: Future[T]) -> None:
        try:
            loop.call_soon_threadsafe(done.set)
        except RuntimeError:  # the prompt's event loop is gone: nobody is waiting any more
            pass

    future.add_done_callback(wake)
    return done


async def run_interruptible(call: Callable[[threading.Event], T], *,
                            grace: float = GRACE_SECONDS) -> T:
    """Await `call(cancel_event)` run in a worker; raise ComfyUI's interrupt promptly when the
    user interrupts, and cancel the call when the awaiting task itself is cancelled."""
    cancel = threading.Event()
    future: Future[T] = _pool.submit(call, cancel)
    done = _wake_on_done(future, asyncio.get_running_loop())
    try:
        while not future.done():
            try:
                await asyncio.wait_for(done.wait(), POLL_SECONDS)
            except asyncio.TimeoutError:
                pass
            if not future.done() and _interrupted():
                cancel.set()
                try:
                    await asyncio.wait_for(done.wait(), grace)  # let the worker notice and unwind
                except asyncio.TimeoutError:
                    pass
                raise _interrupt_exception()
    except asyncio.CancelledError:  # the prompt ended (another node failed or was interrupted)
        cancel.set()
        future.cancel()  # not started yet: never starts
        raise
    return future.result()


def shutdown() -> None:
    _pool.shutdown(wait=False, cancel_futures=True)


__all__ = ["progress_sender", "run_interruptible", "shutdown"]
