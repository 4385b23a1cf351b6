"""The billing-safe retry policy, over real HTTP against the emulator framework."""

from __future__ import annotations

import re
import socket
import threading
import time

import pytest

from apiedit.errors import (
    CancelledError,
    InvalidInputError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    QuotaExceededError,
    RateLimitError,
)
from apiedit.http import HttpClient, RetryPolicy
from apiedit.settings import ProviderSettings
from apiedit.testing.emulator import Emulator, Fault, RecordedRequest, Response


class PaidEmulator(Emulator):
    """One billable endpoint and one free one."""

    def setup_routes(self) -> None:
        self.route("POST", "/paid", self.ok, billable=True)
        self.route("GET", "/free", self.ok)

    def ok(self, request: RecordedRequest, _match: re.Match) -> Response:
        return Response.json({"ok": True})


@pytest.fixture
def emulator(emulator_factory) -> PaidEmulator:
    return emulator_factory(PaidEmulator)


def settings_for(base_url: str, **kw) -> ProviderSettings:
    defaults = dict(provider="paid", label="Paid", base_url=base_url, read_timeout=5.0, connect_timeout=2.0)
    return ProviderSettings(**{**defaults, **kw})


def client(base_url: str, **kw) -> HttpClient:
    return HttpClient(settings_for(base_url, **kw), session=__import__("requests").Session())


def test_429_with_retry_after_is_resent_exactly_once_after_the_delay(emulator: PaidEmulator) -> None:
    emulator.inject(Fault(method="POST", path="/paid", status=429, retry_after=1, times=1,
                          body={"error": {"message": "slow down"}}))
    started = time.monotonic()
    response = client(emulator.base_url).request("POST", "/paid", billable=True, json={})
    elapsed = time.monotonic() - started
    assert response.json() == {"ok": True}
    assert len(emulator.requests_to("/paid")) == 2
    assert emulator.billable_count == 1
    assert elapsed >= 1.0


def test_429_retries_are_capped(emulator: PaidEmulator) -> None:
    emulator.inject(Fault(method="POST", path="/paid", status=429, retry_after=0, times=0))
    with pytest.raises(RateLimitError):
        client(emulator.base_url).request("POST", "/paid", billable=True, json={})
    assert len(emulator.requests_to("/paid")) == 3  # first try + 2 retries


def test_retry_after_beyond_the_cap_is_not_waited_for(emulator: PaidEmulator) -> None:
    emulator.inject(Fault(method="POST", path="/paid", status=429, retry_after=3600, times=0))
    started = time.monotonic()
    with pytest.raises(RateLimitError) as caught:
        client(emulator.base_url).request("POST", "/paid", billable=True, json={})
    assert time.monotonic() - started < 2
    assert caught.value.retry_after == pytest.approx(3600)
    assert len(emulator.requests_to("/paid")) == 1


def test_read_timeout_after_sending_a_paid_request_is_not_resent(emulator: PaidEmulator) -> None:
    emulator.inject(Fault(method="POST", path="/paid", delay=3, times=0))
    with pytest.raises(ProviderTimeoutError, match="may have been billed"):
        client(emulator.base_url, read_timeout=0.5).request("POST", "/paid", billable=True, json={})
    assert emulator.billable_count == 1
    assert len(emulator.requests_to("/paid")) == 1


def test_connection_dropped_after_the_body_is_not_resent(emulator: PaidEmulator) -> None:
    emulator.inject(Fault(method="POST", path="/paid", drop="after_body", times=0))
    with pytest.raises(ProviderUnavailableError, match="may have been billed"):
        client(emulator.base_url).request("POST", "/paid", billable=True, json={"x": 1})
    assert emulator.billable_count == 1
    assert len(emulator.requests_to("/paid")) == 1


def test_truncated_answer_to_a_paid_request_is_not_resent(emulator: PaidEmulator) -> None:
    emulator.inject(Fault(method="POST", path="/paid", truncate=True, times=0))
    with pytest.raises(ProviderUnavailableError):
        client(emulator.base_url).request("POST", "/paid", billable=True, json={})
    assert len(emulator.requests_to("/paid")) == 1


def test_free_requests_are_retried_after_a_read_timeout(emulator: PaidEmulator) -> None:
    emulator.inject(Fault(method="GET", path="/free", delay=2, times=1))
    response = client(emulator.base_url, read_timeout=0.5).request("GET", "/free", billable=False)
    assert response.json() == {"ok": True}
    assert len(emulator.requests_to("/free")) == 2


def test_connection_refused_is_retried() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens yet: start a server on that port while the client is backing off.
    late = PaidEmulator(port=port)
    timer = threading.Timer(0.3, late.start)
    timer.start()
    try:
        response = client(f"http://127.0.0.1:{port}").request("POST", "/paid", billable=True, json={})
        assert response.json() == {"ok": True}
        assert late.billable_count == 1
    finally:
        timer.join()
        late.stop()


def test_connection_refused_gives_up_with_a_clear_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ProviderUnavailableError, match="Could not connect to Paid"):
        HttpClient(settings_for(f"http://127.0.0.1:{port}"), policy=RetryPolicy(backoff=0.01)).request(
            "POST", "/paid", billable=True, json={}
        )


def test_server_error_on_a_paid_request_is_not_resent(emulator: PaidEmulator) -> None:
    emulator.inject(Fault(method="POST", path="/paid", status=500, times=0))
    with pytest.raises(ProviderUnavailableError):
        client(emulator.base_url).request("POST", "/paid", billable=True, json={})
    assert len(emulator.requests_to("/paid")) == 1


def test_explicit_overloaded_answer_is_retried(emulator: PaidEmulator) -> None:
    emulator.inject(Fault(method="POST", path="/paid", status=503, times=1,
                          body={"error": {"message": "overloaded, try again"}}))
    response = client(emulator.base_url).request("POST", "/paid", billable=True, json={})
    assert response.json() == {"ok": True}
    assert len(emulator.requests_to("/paid")) == 2


def test_status_mapping_to_typed_errors(emulator: PaidEmulator) -> None:
    emulator.inject(Fault(method="POST", path="/paid", status=402, times=1, body={"error": {"message": "no credit"}}))
    with pytest.raises(QuotaExceededError, match="no credit"):
        client(emulator.base_url).request("POST", "/paid", billable=True, json={})
    emulator.inject(Fault(method="POST", path="/paid", status=400, times=1, body={"error": {"message": "bad size"}}))
    with pytest.raises(InvalidInputError, match="bad size"):
        client(emulator.base_url).request("POST", "/paid", billable=True, json={})


def test_cancel_interrupts_a_retry_wait(emulator: PaidEmulator) -> None:
    emulator.inject(Fault(method="POST", path="/paid", status=429, retry_after=30, times=0))
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(CancelledError):
        client(emulator.base_url, cancel=cancel).request("POST", "/paid", billable=True, json={})
    assert time.monotonic() - started < 2
