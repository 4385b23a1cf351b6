"""Fixtures for the ModelScope tests: an isolated host and a fast emulator."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from apiedit import EditRequest, EditResult
from apiedit.host import Host
from apiedit_modelscope import INFO, client
from apiedit_modelscope.emulator import ModelScopeEmulator


@pytest.fixture(autouse=True)
def _no_remembered_urls() -> Iterator[None]:
    client.forget_urls()
    yield
    client.forget_urls()


@pytest.fixture
def host(apiedit_home: Any, monkeypatch: pytest.MonkeyPatch) -> Host:
    for var in (*INFO.key_env_vars, INFO.base_url_env_var):
        monkeypatch.delenv(var, raising=False)
    return Host(env={"APIEDIT_LOAD_PLUGINS": "modelscope"})


@pytest.fixture
def emu(emulator_factory: Any) -> Iterator[ModelScopeEmulator]:
    """An emulator whose tasks finish at the first poll (tests about polling set their own)."""
    emulator = emulator_factory(ModelScopeEmulator)
    emulator.polls_until_done = 0
    yield emulator
    assert not emulator.handler_errors, emulator.handler_errors[0]


@pytest.fixture
def call(host: Host, emu: ModelScopeEmulator, sentinel_key: str) -> Callable[..., EditResult]:
    """`call(model=..., prompt=..., **fields)` through the host, against the emulator."""

    def run(*, cancel: Any = None, progress: Any = None, base_url: str | None = None,
            allow_unlisted: bool = False, **fields: Any) -> EditResult:
        fields.setdefault("prompt", "a red fox in the snow")
        return host.edit(
            "modelscope", EditRequest(**fields), api_key=sentinel_key,
            base_url=base_url or emu.base_url, cancel=cancel, progress=progress,
            allow_unlisted=allow_unlisted,
        )

    return run
