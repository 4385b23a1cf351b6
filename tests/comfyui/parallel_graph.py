"""Graphs of several API Image Edit nodes, and a watcher of an emulator's paid requests in flight.

Shared by `test_async_nodes_e2e.py` and `benchmarks/bench_nodes.py`, so the benchmark measures
the graph the test proves concurrent.
"""

from __future__ import annotations

import threading
import time
from typing import Any

OPENAI_MODEL = "gpt-image-1.5"


def edit_inputs(index: int, tag: str = "", **inputs: Any) -> dict[str, Any]:
    """The new node's inputs for node `index` (each node its own prompt and seed)."""
    return {"provider": "openai", "model": OPENAI_MODEL, "prompt": f"a red fox, take {index}{tag}",
            "seed": index + 1, "conversation_mode": False, **inputs}


def legacy_inputs(index: int, tag: str = "") -> dict[str, Any]:
    """The original node's inputs (`APIImageEditNode`) for node `index`."""
    return {"api_provider": "OpenAI", "api_key": "", "model": OPENAI_MODEL,
            "prompt": f"a grey wolf, take {index}{tag}", "generation_mode": "single", "image_count": 1,
            "seed": index + 1}


def parallel_graph(count: int = 4, *, legacy: int = 0, chained: bool = False,
                   tag: str = "") -> dict[str, Any]:
    """`count` independent edit nodes ("10", "11", ...) each with a PreviewAny ("30", "31", ...)
    of its info output (the original node's text); the last `legacy` are original nodes.

    `chained=True` makes the same nodes depend on each other (node i+1 edits node i's image),
    which ComfyUI must run one after the other: the sequential figure beside the parallel one.
    `tag` is appended to every prompt: a graph queued again with a new tag is not answered
    from ComfyUI's cache.
    """
    graph: dict[str, Any] = {}
    for i in range(count):
        node = str(10 + i)
        if i >= count - legacy:
            graph[node] = {"class_type": "APIImageEditNode", "inputs": legacy_inputs(i, tag)}
            output = 1
        else:
            extra = {"image1": [str(9 + i), 0]} if chained and i > 0 else {}
            graph[node] = {"class_type": "APIImageEdit", "inputs": edit_inputs(i, tag, **extra)}
            output = 2
        graph[str(30 + i)] = {"class_type": "PreviewAny", "inputs": {"source": [node, output]}}
    return graph


class InFlightWatcher:
    """Samples an emulator every 10 ms: the most paid requests it held unanswered at once."""

    def __init__(self, emulator: Any) -> None:
        self.emulator = emulator
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def in_flight(self) -> int:
        received = sum(1 for r in list(self.emulator.requests) if r.billable)
        answered = sum(1 for r, _ in list(self.emulator.answers) if r.billable)
        return received - answered

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.in_flight())
            time.sleep(0.01)

    def __enter__(self) -> InFlightWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def wait_for(self, n: int, timeout: float = 30.0) -> bool:
        """True once `n` paid requests are in flight together."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.in_flight() >= n:
                return True
            time.sleep(0.01)
        return False
