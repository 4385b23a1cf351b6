"""The process-wide per-provider limit on paid requests, over real HTTP against `ChatEmulator`."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, ClassVar

import pytest
from apiedit import limits
from apiedit.errors import ConfigurationError
from apiedit.protocols.openai_chat import build_messages, chat_edit
from apiedit.settings import ProviderSettings
from apiedit.testing.chat_emulator import ChatEmulator
from apiedit.testing.emulator import Response
from apiedit.types import EditRequest, EditResult

PROVIDER = "limited-relay"


class StrictRelay(ChatEmulator):
    """A relay that answers 429 to any request beyond `limit` in flight, and records the peak."""

    models: ClassVar[list[dict[str, Any]]] = [{"id": "relay-image", "object": "model"}]

    def __init__(self) -> None:
        super().__init__()
        self.limit = 3
        self.work_s = 0.15
        self.in_flight = 0
        self.peak = 0
        self.refused = 0
        self.started: list[float] = []
        self._count_lock = threading.Lock()

    def setup_routes(self) -> None:
        self.route("POST", self.path_prefix + r"/chat/completions", self._strict, billable=True)
        super().setup_routes()

    def _strict(self, request: Any, match: Any) -> Response:
        with self._count_lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            over = self.in_flight > self.limit
            self.refused += over
            self.started.append(time.monotonic())
        try:
            if over:
                return Response.json({"error": {"message": "too many requests", "code": 429}},
                                     status=429, headers={"Retry-After": "1"})
            time.sleep(self.work_s)
            return self.chat_completion(request, match)
        finally:
            with self._count_lock:
                self.in_flight -= 1


@pytest.fixture
def relay(emulator_factory: Any) -> StrictRelay:
    return emulator_factory(StrictRelay)


@pytest.fixture
def settings(relay: StrictRelay, sentinel_key: str, tmp_path: Path) -> ProviderSettings:
    yield ProviderSettings(provider=PROVIDER, label="Relay", base_url=relay.base_url,
                           api_key=sentinel_key, cache_dir=tmp_path, read_timeout=30)
    limits.set_max_parallel(PROVIDER, None)


def ask(settings: ProviderSettings, n: int) -> EditResult:
    request = EditRequest(model="relay-image", prompt="a fox", n=n)
    body = {"model": "relay-image", "messages": build_messages(request, provider=PROVIDER)}
    return chat_edit(request, settings, body)


def in_threads(count: int, fn: Any) -> list[Any]:
    results: list[Any] = [None] * count

    def run(i: int) -> None:
        try:
            results[i] = fn()
        except Exception as exc:  # noqa: BLE001 - asserted on below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_two_callers_asking_for_8_each_never_exceed_the_limit(relay: StrictRelay, settings: ProviderSettings) -> None:
    limits.set_max_parallel(PROVIDER, 3)
    results = in_threads(2, lambda: ask(settings, 8))
    assert all(isinstance(r, EditResult) and len(r.images) == 8 for r in results), results
    assert relay.refused == 0 and relay.peak == 3  # the limit, used in full and never exceeded
    assert relay.billable_count == 16


def test_the_limit_comes_from_the_environment(
    relay: StrictRelay, settings: ProviderSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APIEDIT_LIMITED_RELAY_MAX_PARALLEL", "2")
    relay.limit = 2
    results = in_threads(3, lambda: ask(settings, 2))
    assert all(isinstance(r, EditResult) for r in results), results
    assert relay.refused == 0 and relay.peak == 2


def test_a_bad_limit_in_the_environment_is_a_clear_error(
    settings: ProviderSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APIEDIT_MAX_PARALLEL", "lots")
    with pytest.raises(ConfigurationError, match="APIEDIT_MAX_PARALLEL='lots'.*whole number"):
        ask(settings, 1)


def test_a_retry_after_pauses_every_caller_of_the_provider(relay: StrictRelay, settings: ProviderSettings) -> None:
    limits.set_max_parallel(PROVIDER, 4)
    relay.limit, relay.work_s = 0, 0.0  # the first request is refused with Retry-After: 1
    first = threading.Thread(target=lambda: in_threads(1, lambda: ask(settings, 1)))
    start = time.monotonic()
    first.start()
    time.sleep(0.2)
    relay.limit = 10
    other = ask(settings, 1)  # another caller, started during the pause
    first.join(10)
    assert len(other.images) == 1
    assert relay.started[1] - start >= 0.95  # nothing was sent before the provider's time


def test_rate_limit_headers_pause_new_requests() -> None:
    limiter = limits.ProviderLimiter(4)
    limiter.note_headers({"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "300ms"})
    start = time.monotonic()
    with limiter.slot():
        pass
    assert 0.25 <= time.monotonic() - start < 2
    limiter.note_headers({"x-ratelimit-remaining-requests": "5", "x-ratelimit-reset-requests": "6m0s"})
    start = time.monotonic()
    with limiter.slot():
        pass
    assert time.monotonic() - start < 0.1


@pytest.mark.parametrize(("text", "seconds"), [("1s", 1.0), ("6m0s", 360.0), ("250ms", 0.25),
                                               ("2", 2.0), ("1h2m3s", 3723.0), ("soon", None)])
def test_reset_times_are_read_in_every_spelling(text: str, seconds: float | None) -> None:
    assert limits.reset_seconds(text) == seconds


def test_a_cancelled_wait_for_a_slot_ends_at_once() -> None:
    limiter = limits.ProviderLimiter(1)
    cancel = threading.Event()
    with limiter.slot():
        cancel.set()
        start = time.monotonic()
        with limiter.slot(cancel):
            pass
    assert time.monotonic() - start < 0.2


def test_forget_pauses_lifts_a_long_retry_after_pause() -> None:
    """What `emulator_factory`'s teardown calls: a 429 with a long Retry-After in one test
    (another emulated account) must not hold the next test's first request for 120 s."""
    from apiedit.limits import forget_pauses, limiter_for

    limiter = limiter_for("pause-leak-check")
    limiter.pause_for(600)
    forget_pauses()
    started = time.monotonic()
    with limiter.slot():
        pass
    assert time.monotonic() - started < 1.0
