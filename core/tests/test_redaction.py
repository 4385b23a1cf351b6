"""A sentinel key never appears in logs (DEBUG), error text or reprs."""

from __future__ import annotations

import logging
import re

import pytest

from apiedit.errors import AuthenticationError, ProviderError
from apiedit.http import HttpClient
from apiedit.keys import resolve_key
from apiedit.redact import MASK, get_logger, redact, register_secret
from apiedit.settings import ProviderSettings
from apiedit.testing.emulator import Emulator, RecordedRequest, Response
from apiedit.types import ProviderInfo


class EchoingEmulator(Emulator):
    """A careless provider that echoes the key back in its error message."""

    def setup_routes(self) -> None:
        self.route("POST", "/echo", self.echo, billable=True)

    def echo(self, request: RecordedRequest, _match: re.Match) -> Response:
        key = request.headers.get("authorization", "").removeprefix("Bearer ")
        return Response.json({"error": {"message": f"Incorrect API key provided: {key}"}}, status=401)


def test_error_text_and_repr_never_show_the_key(emulator_factory, sentinel_key: str) -> None:
    register_secret(sentinel_key)
    emulator = emulator_factory(EchoingEmulator)
    settings = ProviderSettings(provider="echo", label="Echo", base_url=emulator.base_url, api_key=sentinel_key)
    with pytest.raises(AuthenticationError) as caught:
        settings.http.request("POST", "/echo", billable=True, json={},
                              headers={"Authorization": f"Bearer {sentinel_key}"})
    assert "Incorrect API key provided: ***" in str(caught.value)
    assert sentinel_key not in str(caught.value)
    assert sentinel_key not in repr(caught.value)
    assert sentinel_key not in repr(settings)


def test_debug_logs_never_show_the_key(emulator_factory, sentinel_key: str,
                                       caplog: pytest.LogCaptureFixture) -> None:
    register_secret(sentinel_key)
    emulator = emulator_factory(EchoingEmulator)
    caplog.set_level(logging.DEBUG)
    settings = ProviderSettings(provider="echo", label="Echo", base_url=emulator.base_url, api_key=sentinel_key)
    log = get_logger("apiedit.test")
    try:
        HttpClient(settings).request("POST", f"/echo?key={sentinel_key}", billable=True, json={},
                                     headers={"Authorization": f"Bearer {sentinel_key}"})
    except ProviderError as exc:
        log.debug("call failed: %s", exc)
        log.exception("with traceback")
    log.debug("settings are %r; header Authorization: Bearer %s", settings, sentinel_key)
    assert caplog.records, "expected log lines"
    assert sentinel_key not in caplog.text


def test_resolved_keys_are_registered_for_redaction(monkeypatch: pytest.MonkeyPatch) -> None:
    info = ProviderInfo(id="reg", label="Reg", key_env_vars=("REG_KEY",))
    monkeypatch.setenv("REG_KEY", "env-secret-value-42")
    resolve_key(info)
    assert redact("oops env-secret-value-42 leaked") == f"oops {MASK} leaked"


@pytest.mark.parametrize(
    "text",
    [
        "Authorization: Bearer abcdefghijklmnop",
        "GET https://x.invalid/v1/models?key=AIzaFAKEFAKEFAKE&alt=json",
        '{"x-goog-api-key": "AIzaFAKEFAKEFAKE"}',
        "api_key=whatever123456",
    ],
)
def test_credential_shapes_are_masked_even_when_unregistered(text: str) -> None:
    masked = redact(text)
    assert MASK in masked
    assert "abcdefghijklmnop" not in masked and "AIzaFAKEFAKEFAKE" not in masked
    assert "whatever123456" not in masked
