"""Secrets never live in an exception's attributes or chain, nor in logs; a plugin bug after a
paid answer says it may have been billed, gives the request id and keeps the answer. Real HTTP against the emulators."""

from __future__ import annotations

import logging
import re
import socket
from importlib.metadata import entry_points
from pathlib import Path

import pytest

import apiedit
from apiedit.errors import ApiEditError, ProviderError, ProviderUnavailableError
from apiedit.host import Host
from apiedit.testing.emulator import Emulator, Fault, RecordedRequest, Response
from apiedit.types import EditRequest

from .test_fault_matrix import PROVIDERS, emulator_class

PASSWORD = "pw-SENTINEL-url-secret"


def _everything(exc: BaseException) -> str:
    """Every place an exception and its chain can hold text."""
    parts = []
    seen: list[BaseException] = []
    link: BaseException | None = exc
    while link is not None and link not in seen:
        seen.append(link)
        parts += [str(link), repr(link), repr(link.args), repr(vars(link))]
        link = link.__cause__ or link.__context__
    return "\n".join(parts)


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_a_key_echoed_in_an_error_body_is_in_no_exception_attribute(
    provider: str, emulator_factory, apiedit_home, sentinel_key
) -> None:
    host = Host(env={"APIEDIT_LOAD_PLUGINS": provider})
    emulator = emulator_factory(emulator_class(provider))
    model, path = PROVIDERS[provider]
    echo = {"error": {"message": f"Incorrect API key provided: {sentinel_key}", "code": 400,
                      "status": "INVALID_ARGUMENT", "type": "invalid_request_error",
                      "param": sentinel_key}}
    emulator.inject(Fault(method="POST", path=path, status=400, body=echo))
    with pytest.raises(ApiEditError) as caught:
        host.edit(provider, EditRequest(model=model, prompt="a fox"), api_key=sentinel_key,
                  base_url=emulator.base_url)
    assert sentinel_key not in _everything(caught.value)
    assert emulator.billable_count == 0


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_a_password_in_the_base_url_is_in_no_log_line_or_error(
    provider: str, apiedit_home, sentinel_key, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    host = Host(env={"APIEDIT_LOAD_PLUGINS": provider})
    model, _ = PROVIDERS[provider]
    with pytest.raises(ProviderUnavailableError) as caught:
        host.edit(provider, EditRequest(model=model, prompt="a fox"), api_key=sentinel_key,
                  base_url=f"http://user:{PASSWORD}@127.0.0.1:{port}", allow_unlisted=True)
    assert "127.0.0.1" in str(caught.value)
    assert PASSWORD not in _everything(caught.value)
    assert caplog.records, "expected log lines (the connection retries)"
    for record in caplog.records:
        assert PASSWORD not in record.getMessage() and sentinel_key not in record.getMessage()


class PaidEmulator(Emulator):
    def setup_routes(self) -> None:
        self.route("POST", "/v1/paint", lambda r, m: Response.json({"images": ["..."]},
                                                                   headers={"x-request-id": "req-42"}),
                   billable=True)


class BuggyPlugin:
    """Calls the paid endpoint, then trips over the answer like a plugin with a parsing bug."""

    @apiedit.hookimpl
    def provider_info(self) -> apiedit.ProviderInfo:
        return apiedit.ProviderInfo(id="buggy", label="Buggy", key_env_vars=("BUGGY_KEY",),
                                    default_base_url="https://buggy.invalid/v1")

    @apiedit.hookimpl
    def list_models(self) -> list[apiedit.ModelInfo]:
        return [apiedit.ModelInfo(id="m1", label="M1", capabilities=apiedit.Capability.GENERATE)]

    @apiedit.hookimpl
    def edit(self, request, settings):
        answer = settings.http.request("POST", "paint", billable=True, json={}).json()
        return answer["data"][0]  # KeyError: the answer says "images"


def test_a_plugin_bug_after_a_paid_answer_says_billed_and_keeps_the_answer(
    emulator_factory, apiedit_home: Path, sentinel_key
) -> None:
    emulator = emulator_factory(PaidEmulator)
    host = Host(load_entry_points=False)
    host.register(BuggyPlugin(), "buggy")
    with pytest.raises(ProviderError) as caught:
        host.edit("buggy", EditRequest(model="m1", prompt="a fox"), api_key=sentinel_key,
                  base_url=emulator.base_url + "/v1")
    text = str(caught.value)
    assert "KeyError" in text and "may have been billed" in text and "bug in" in text
    assert caught.value.request_id == "req-42" and "request id req-42" in text
    saved = re.search(r"saved to (\S+\.bin)", text)
    assert saved and Path(saved[1]).read_bytes() == emulator.answers[0][1].render()[0]
    assert Path(saved[1]).stat().st_mode & 0o077 == 0
    assert emulator.billable_count == 1


def test_a_plugin_bug_before_any_request_does_not_claim_billing(apiedit_home) -> None:
    class EarlyBug(BuggyPlugin):
        @apiedit.hookimpl
        def edit(self, request, settings):
            return {}["oops"]

    host = Host(load_entry_points=False)
    host.register(EarlyBug(), "buggy")
    with pytest.raises(ProviderError) as caught:
        host.edit("buggy", EditRequest(model="m1", prompt="a fox"), api_key="sk-SENTINEL-early1")
    assert "billed" not in str(caught.value) and "bug in" in str(caught.value)


