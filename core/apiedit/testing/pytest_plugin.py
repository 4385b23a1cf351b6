"""pytest fixtures for apiedit and its plugins (entry point `pytest11: apiedit`).

Loaded into every pytest run where apiedit is installed, so it only defines fixtures: no
imports beyond pytest, no hooks, no side effects.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, TypeVar

import pytest

if TYPE_CHECKING:
    from apiedit.testing.emulator import Emulator

    E = TypeVar("E", bound=Emulator)

__all__ = ["SENTINEL_KEY", "apiedit_home", "emulator_factory", "sentinel_key"]

SENTINEL_KEY = "sk-SENTINEL-DO-NOT-LEAK-0123456789"


@pytest.fixture
def emulator_factory() -> Iterator[Callable[..., Any]]:
    """`emulator_factory(EmulatorClass, **kw)` starts an emulator; all are stopped at teardown."""
    started: list[Emulator] = []

    def start(emulator_class: type[E], **kw: Any) -> E:
        emulator = emulator_class(**kw)
        emulator.start()
        started.append(emulator)
        return emulator

    yield start
    for emulator in reversed(started):
        emulator.stop()
    if started:  # the emulated accounts are gone, and with them the pauses they asked for
        from apiedit.limits import forget_pauses

        forget_pauses()


@pytest.fixture
def apiedit_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point apiedit's config, cache and data directories into tmp_path (not created, so
    first-run code paths are exercised) and return tmp_path."""
    monkeypatch.setenv("APIEDIT_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("APIEDIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("APIEDIT_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


@pytest.fixture
def sentinel_key() -> str:
    """An obviously fake API key; tests assert it never shows up in logs, errors or outputs."""
    return SENTINEL_KEY
