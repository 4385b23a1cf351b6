"""Bad keys and base URLs through the command line: a clear message, exit 2, nothing sent,
no key or URL password in any output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BAD_KEYS = ["sk-SENTINEL-cli\ndef123", "sk-SENTINEL-cli\u200bdef123", "sk-SENTINEL-cli\u4e2ddef1"]


@pytest.fixture
def emulator(emulator_factory):
    from apiedit_openai.emulator import OpenAIEmulator

    return emulator_factory(OpenAIEmulator)


def _edit(env_key: str, base_url: str, home: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "APIEDIT_LOAD_PLUGINS": "openai", "OPENAI_API_KEY": env_key,
           "APIEDIT_CONFIG_DIR": str(home / "config"), "APIEDIT_CACHE_DIR": str(home / "cache")}
    return subprocess.run(
        [sys.executable, "-m", "apiedit", "edit", "openai", "-m", "gpt-image-1.5", "-p", "a fox",
         "--base-url", base_url, "--out", str(home / "out"), *extra],
        env=env, capture_output=True, text=True, timeout=120,
    )


@pytest.mark.parametrize("key", BAD_KEYS)
def test_a_bad_key_on_the_command_line_is_a_clear_error(key: str, emulator, tmp_path: Path) -> None:
    out = _edit(key, emulator.base_url, tmp_path)
    assert out.returncode == 4  # key or configuration (README: exit codes)
    assert "OpenAI API key has an invalid character at position 16" in out.stderr
    assert "Traceback" not in out.stderr and "bug" not in out.stderr
    assert key not in out.stderr + out.stdout and "billed" not in out.stderr.replace(
        "nothing was billed", "")
    assert emulator.requests == []


def test_a_password_in_the_base_url_is_not_printed(emulator, tmp_path: Path) -> None:
    url = emulator.base_url.replace("http://", "http://user:pw-SENTINEL-cli@") + ":1"  # bad port
    out = _edit("sk-SENTINEL-good123456", url, tmp_path)
    assert out.returncode == 4  # key or configuration (README: exit codes)
    assert "pw-SENTINEL-cli" not in out.stderr + out.stdout
    assert emulator.requests == []
