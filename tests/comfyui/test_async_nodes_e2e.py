"""Several API Image Edit nodes of one graph wait for their providers at the same time.

The node's `execute` is a coroutine; the blocking call runs in a worker. Proved by what the
OpenAI emulator (answering each paid request after a set latency) saw: every node's request in
flight at once. `/interrupt` must stop all of them within about a second, with nothing resent.
"""

from __future__ import annotations

import json
import time
from typing import Any, Iterator

import pytest

from apiedit.testing.pytest_plugin import SENTINEL_KEY
from parallel_graph import InFlightWatcher, parallel_graph

pytestmark = pytest.mark.comfyui


@pytest.fixture()
def openai(emulators) -> Iterator[Any]:
    emulator = emulators["openai"]
    emulator.reset()
    yield emulator
    emulator.latency = 0.0


def events(entry: dict[str, Any]) -> list[str]:
    return [event for event, _ in entry["status"]["messages"]]


def error_message(entry: dict[str, Any]) -> str:
    for event, data in entry.get("status", {}).get("messages", []):
        if event == "execution_error":
            return f"{data.get('exception_type')}: {data.get('exception_message')}"
    return ""


def test_four_nodes_have_their_requests_in_flight_at_once(server, openai) -> None:
    openai.latency = 1.0
    with InFlightWatcher(openai) as watcher:
        entry = server.wait(server.queue(parallel_graph(4)), timeout=60)
    assert entry["status"]["status_str"] == "success", error_message(entry)
    assert watcher.peak == 4, f"at most {watcher.peak} of 4 requests were in flight together"
    assert openai.billable_count == 4 and openai.concurrency_refusals == 0
    infos = [json.loads(entry["outputs"][str(30 + i)]["text"][0]) for i in range(4)]
    assert [info["images"] for info in infos] == [1, 1, 1, 1]
    prompts = sorted(call.prompt for call in openai.calls)
    assert prompts == [f"a red fox, take {i}" for i in range(4)]  # each node's own answer
    assert SENTINEL_KEY not in json.dumps(entry) and SENTINEL_KEY not in server.log_text()


def test_original_nodes_run_concurrently_too(server, openai) -> None:
    openai.latency = 1.0
    with InFlightWatcher(openai) as watcher:
        entry = server.wait(server.queue(parallel_graph(4, legacy=2, tag=" (mixed)")), timeout=60)
    assert entry["status"]["status_str"] == "success", error_message(entry)
    assert watcher.peak == 4
    assert sorted(c.prompt for c in openai.calls)[:2] == ["a grey wolf, take 2 (mixed)",
                                                             "a grey wolf, take 3 (mixed)"]


def test_chained_nodes_still_run_one_after_the_other(server, openai) -> None:
    openai.latency = 0.5
    with InFlightWatcher(openai) as watcher:
        entry = server.wait(server.queue(parallel_graph(3, chained=True, tag=" (chained)")), timeout=60)
    assert entry["status"]["status_str"] == "success", error_message(entry)
    assert watcher.peak == 1
    assert [c.endpoint for c in openai.calls] == ["generations", "edits", "edits"]


def test_interrupt_stops_all_four_within_a_second_and_resends_nothing(server, openai) -> None:
    latency = 6.0
    openai.latency = latency
    with InFlightWatcher(openai) as watcher:
        prompt_id = server.queue(parallel_graph(4, tag=" (interrupted)"))
        assert watcher.wait_for(4), f"only {watcher.in_flight()} requests reached the provider"
        started = time.monotonic()
        server.interrupt()
        entry = server.wait(prompt_id, timeout=15)
        elapsed = time.monotonic() - started
    assert entry["status"]["status_str"] == "error"
    assert "execution_interrupted" in events(entry)
    assert elapsed < 1.5, f"the prompt ended {elapsed:.2f} s after /interrupt"
    # the abandoned requests finish at the emulator; none is sent again
    time.sleep(latency + 1.0)
    assert openai.billable_count == 4
    assert len(openai.requests) == 4
    # the interrupt does not leak onto the next prompt
    openai.latency = 0.0
    after = server.wait(server.queue(parallel_graph(2, tag=" (after)")), timeout=60)
    assert after["status"]["status_str"] == "success", error_message(after)
    assert openai.billable_count == 6
