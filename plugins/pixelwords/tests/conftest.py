"""Fixtures for the PixelWords plugin tests: a host, the relay emulator, images."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from apiedit.host import Host
from apiedit.testing.conformance import sample_png
from apiedit.types import EditRequest, EditResult, ImageData
from apiedit_pixelwords.emulator import PixelWordsEmulator


@pytest.fixture
def host(apiedit_home: Path, monkeypatch: pytest.MonkeyPatch) -> Host:
    for var in ("PIXELWORDS_API_KEY", "APIEDIT_PIXELWORDS_API_KEY", "APIEDIT_PIXELWORDS_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    return Host(env={"APIEDIT_LOAD_PLUGINS": "pixelwords"})


@pytest.fixture
def emulator(emulator_factory: Any) -> PixelWordsEmulator:
    return emulator_factory(PixelWordsEmulator)


@pytest.fixture
def call(host: Host, emulator: PixelWordsEmulator, sentinel_key: str) -> Callable[..., EditResult]:
    """`call(**EditRequest fields)`: one edit through the host against the relay emulator."""

    def run(**fields: Any) -> EditResult:
        fields.setdefault("model", "gemini-2.5-flash-image")
        fields.setdefault("prompt", "a paper boat on a pond")
        return host.edit("pixelwords", EditRequest(**fields), api_key=sentinel_key,
                         base_url=emulator.base_url)

    return run


@pytest.fixture
def png() -> Callable[..., ImageData]:
    """`png(colour, size)`: a solid-colour PNG as ImageData."""
    return lambda colour, size=(48, 32): ImageData(sample_png(colour, size))
