"""Fixtures for the Gemini plugin tests: a started emulator, an isolated host, both transports."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from apiedit import EditRequest, EditResult
from apiedit.host import Host
from apiedit_gemini import transport as gemini_transport
from apiedit_gemini.emulator import GeminiEmulator


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: builds a virtualenv or otherwise takes long")


@pytest.fixture(autouse=True)
def no_key_in_logs(caplog: pytest.LogCaptureFixture, sentinel_key: str) -> Iterator[None]:
    """Every test runs with DEBUG logging, and the sentinel key must never reach a log line."""
    caplog.set_level(logging.DEBUG)
    yield
    assert sentinel_key not in caplog.text


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "APIEDIT_GEMINI_API_VERSION",
                "APIEDIT_GEMINI_TRANSPORT", "APIEDIT_GEMINI_BASE_URL", "GOOGLE_GENAI_USE_VERTEXAI",
                "GOOGLE_GEMINI_BASE_URL", "GOOGLE_GENAI_API_VERSION"):
        monkeypatch.delenv(var, raising=False)
    gemini_transport._sdk_cache.clear()


@pytest.fixture
def emulator(emulator_factory: Callable[..., Any]) -> GeminiEmulator:
    return emulator_factory(GeminiEmulator)


@pytest.fixture
def host(apiedit_home: Any) -> Host:
    return Host(env={"APIEDIT_LOAD_PLUGINS": "gemini"})


@pytest.fixture(params=["sdk", "rest"])
def transport(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test once through google-genai and once over plain REST."""
    monkeypatch.setenv("APIEDIT_GEMINI_TRANSPORT", request.param)
    return request.param


@pytest.fixture
def call(host: Host, emulator: GeminiEmulator, sentinel_key: str) -> Callable[..., EditResult]:
    """`call(model=..., prompt=..., ...)`: one host.edit against the emulator."""

    def run(**fields: Any) -> EditResult:
        fields.setdefault("model", "gemini-nano-banana-2.1")
        fields.setdefault("prompt", "a red fox in snow")
        return host.edit("gemini", EditRequest(**fields), api_key=sentinel_key, base_url=emulator.base_url)

    return run
