"""The result cache: an identical seeded request after a restart costs 0 provider calls, any
change exactly 1. Each call runs in a fresh process (a restart), against the OpenAI emulator."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

LIBRARY = """
import json, sys, apiedit
args = json.loads(sys.argv[1])
images = [open(p, "rb").read() for p in args.pop("images", [])]
result = apiedit.edit("openai", images=images, **args)
print(json.dumps({"cached": bool(result.info.get("cached")), "sha": __import__("hashlib").sha256(
    result.images[0].data).hexdigest()}))
"""


def _png(shade: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (shade, 10, 10)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def setup(emulator_factory, apiedit_home: Path, sentinel_key):
    from apiedit_openai.emulator import OpenAIEmulator

    emulator = emulator_factory(OpenAIEmulator)
    env = {**os.environ, "APIEDIT_LOAD_PLUGINS": "openai", "OPENAI_API_KEY": sentinel_key}

    def library(**fields):
        fields = {"model": "gpt-image-1.5", "prompt": "a red fox", "base_url": emulator.base_url,
                  **fields}
        out = subprocess.run([sys.executable, "-c", LIBRARY, json.dumps(fields)], env=env,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    def cli(*args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "apiedit", "edit", "openai", "-m", "gpt-image-1.5",
                   "--base-url", emulator.base_url, "--out", str(apiedit_home / "out"), *args]
        out = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        return out

    return emulator, library, cli


def test_identical_seeded_request_after_a_restart_is_not_sent_and_any_change_is(
    setup, apiedit_home: Path, sentinel_key, tmp_path: Path
) -> None:
    emulator, library, _ = setup
    first = library(seed=7)
    assert emulator.billable_count == 1 and not first["cached"]
    again = library(seed=7)
    assert emulator.billable_count == 1 and again == {**first, "cached": True}
    for change in ({"seed": 8}, {"seed": 7, "prompt": "a blue fox"},
                   {"seed": 7, "size": "1024x1536"}):
        before = emulator.billable_count
        assert not library(**change)["cached"]
        assert emulator.billable_count == before + 1, change
    image = tmp_path / "in.png"
    image.write_bytes(_png(10))
    library(seed=7, images=[str(image)])
    before = emulator.billable_count
    image.write_bytes(_png(11))  # one input byte changes
    library(seed=7, images=[str(image)])
    assert emulator.billable_count == before + 1
    files = list((apiedit_home / "cache" / "results").glob("*.json"))
    assert files and all(sentinel_key not in f.read_text() for f in files)
    assert all(f.stat().st_mode & 0o077 == 0 for f in files)


def test_unseeded_requests_and_the_off_switch_always_call_the_provider(setup) -> None:
    emulator, library, _ = setup
    library()
    library()
    assert emulator.billable_count == 2  # no seed: each call asks for a new image
    library(seed=3, cache=False)
    library(seed=3, cache=False)
    assert emulator.billable_count == 4


def test_the_cli_uses_the_cache_and_no_cache_turns_it_off(setup) -> None:
    emulator, _, cli = setup
    cli("-p", "a red fox", "--seed", "5")
    second = cli("-p", "a red fox", "--seed", "5")
    assert emulator.billable_count == 1
    assert "cached result (not sent, not billed again)" in second.stderr
    cli("-p", "a red fox", "--seed", "5", "--no-cache")
    assert emulator.billable_count == 2
