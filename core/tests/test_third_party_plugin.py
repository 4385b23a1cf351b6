"""A third party's plugin, installed with pip, shows up and can be called."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "apiedit-example"

CALL = """
import apiedit
from apiedit_acme.emulator import ExampleEmulator
with ExampleEmulator() as emu:
    result = apiedit.edit("acme", model="example-image-1", prompt="hello",
                          api_key="sk-third-party-test", base_url=emu.base_url)
    print(result.provider, len(result.images), result.images[0].mime_type, emu.billable_count)
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Copy the example plugin under a new name (acme) and pip-install it into a target dir."""
    src = tmp_path_factory.mktemp("src") / "apiedit-acme"
    shutil.copytree(EXAMPLE, src, ignore=shutil.ignore_patterns("tests", "*.egg-info", "__pycache__"))
    (src / "apiedit_example").rename(src / "apiedit_acme")
    for path in [src / "pyproject.toml", *(src / "apiedit_acme").glob("*.py")]:
        text = path.read_text().replace("apiedit_example", "apiedit_acme").replace("apiedit-example", "apiedit-acme")
        text = text.replace('example = "', 'acme = "').replace('id="example"', 'id="acme"')
        text = text.replace('provider="example"', 'provider="acme"')
        path.write_text(text)
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
         "--target", str(target), str(src)],
        check=True, capture_output=True,
    )
    return target


def run(target: Path, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(target), "APIEDIT_LOAD_PLUGINS": "acme"}
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, check=True).stdout


def test_pip_installed_plugin_is_listed(installed: Path) -> None:
    rows = json.loads(run(installed, "-m", "apiedit", "plugins", "--json"))
    acme = [(r["status"], r["distribution"], r["version"]) for r in rows if r["name"] == "acme"]
    assert acme == [("ok", "apiedit-acme", "0.1.0")]
    assert all(r["status"] == "disabled" for r in rows if r["name"] != "acme")


def test_pip_installed_plugin_is_callable_through_apiedit_edit(installed: Path) -> None:
    assert run(installed, "-c", CALL).split() == ["acme", "1", "image/png", "1"]
