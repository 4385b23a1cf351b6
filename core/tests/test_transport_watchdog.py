"""The deadline watchdog: one thread for every call, each watch expired at its own deadline."""

from __future__ import annotations

import threading
import time

from apiedit.transport import watch


def _watchdog_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "apiedit-deadlines"]


def test_calls_share_one_watchdog_thread() -> None:
    with watch(30):
        pass
    before = threading.active_count()
    for _ in range(200):
        with watch(30) as current:
            assert not current.expired
    assert threading.active_count() == before
    assert len(_watchdog_threads()) == 1


def test_a_short_deadline_fires_while_a_longer_one_waits() -> None:
    """A watch due sooner than the one the thread sleeps towards wakes it."""
    outcome: dict[str, bool] = {}

    def long_call() -> None:
        with watch(60) as current:
            time.sleep(1.5)
            outcome["long"] = current.expired

    thread = threading.Thread(target=long_call)
    thread.start()
    time.sleep(0.1)
    started = time.monotonic()
    with watch(0.3) as current:
        while not current.expired and time.monotonic() - started < 5:
            time.sleep(0.01)
        waited = time.monotonic() - started
    thread.join()
    assert current.expired and 0.25 <= waited < 1.5
    assert outcome["long"] is False


def test_a_finished_call_is_never_expired_later() -> None:
    with watch(0.2) as current:
        pass
    time.sleep(0.5)
    assert not current.expired


def test_a_nested_watch_keeps_the_outer_deadline() -> None:
    with watch(0.3) as outer:
        with watch(60) as inner:
            assert inner.seconds <= 0.3
            deadline = time.monotonic() + 5
            while not inner.expired and time.monotonic() < deadline:
                time.sleep(0.01)
            assert inner.expired
        while not outer.expired and time.monotonic() < deadline:
            time.sleep(0.01)
        assert outer.expired
