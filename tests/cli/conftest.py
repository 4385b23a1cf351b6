"""Run the real `apiedit` command in a subprocess against a loopback OpenAI emulator."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest

from apiedit.testing.emulator import Emulator

APIEDIT = [sys.executable, "-m", "apiedit"]
MODEL = "gpt-image-1.5"


def png(colour: tuple[int, int, int] = (200, 40, 40), size: tuple[int, int] = (64, 48)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def cli_env(apiedit_home: Path, sentinel_key: str) -> dict[str, str]:
    """The environment of every `apiedit` subprocess: a temp home, the sentinel key."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(OPENAI_API_KEY=sentinel_key, APIEDIT_LOAD_PLUGINS="openai,example", COLUMNS="200")
    return env


@pytest.fixture
def openai_emulator(emulator_factory: Callable[..., Any]) -> Emulator:
    from apiedit_openai.emulator import OpenAIEmulator

    return emulator_factory(OpenAIEmulator)


@pytest.fixture
def run_cli(cli_env: dict[str, str], apiedit_home: Path) -> Callable[..., subprocess.CompletedProcess]:
    """`run_cli(*args, env=...)`: the finished `apiedit` process (text output), run in home."""

    def run(*args: str, env: dict[str, str] | None = None, **kw: Any) -> subprocess.CompletedProcess:
        return subprocess.run([*APIEDIT, *args], capture_output=True, text=True, timeout=60,
                              env=env or cli_env, cwd=apiedit_home, **kw)

    return run


@pytest.fixture
def edit_args(openai_emulator: Emulator, apiedit_home: Path) -> list[str]:
    """`apiedit edit openai` against the emulator, writing into HOME/out."""
    return ["edit", "openai", "--base-url", openai_emulator.base_url, "-m", MODEL,
            "-o", str(apiedit_home / "out")]


def one_error_line(stderr: str) -> str:
    """The single `error:` line a failure prints; fails the test on anything more."""
    lines = stderr.splitlines()
    assert len(lines) == 1, f"expected one line, got: {stderr!r}"
    assert lines[0].startswith("error: ") and "Traceback" not in stderr
    return lines[0]
