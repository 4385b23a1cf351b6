"""Every member builds as a wheel and an sdist that `twine check` accepts, carrying the
repository's MIT licence; no URL in the metadata is invented."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MEMBERS = ["core", "plugins/openai", "plugins/openrouter", "plugins/gemini", "plugins/modelscope",
           "plugins/pixelwords", "comfy", "examples/apiedit-example"]


def test_the_licence_file_matches_the_metadata_everywhere() -> None:
    licence = (ROOT / "LICENSE").read_text()
    assert licence.startswith("MIT License")
    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"] == {"file": "LICENSE"}
    for member in MEMBERS:
        project = tomllib.loads((ROOT / member / "pyproject.toml").read_text())["project"]
        assert (project["license"], project["license-files"]) == ("MIT", ["LICENSE"]), member
        assert (ROOT / member / "LICENSE").read_text() == licence, f"{member}/LICENSE differs"


def test_the_pack_metadata_invents_no_address() -> None:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    comfy = meta["tool"]["comfy"]
    assert comfy.get("Icon", "https://").startswith("https://"), "Icon must be a URL or absent"
    for url in [*meta["project"].get("urls", {}).values(), comfy.get("Icon", "")]:
        assert "github.com/apiedit/" not in url, f"{url} is not a published address"
    assert (ROOT / "icon.svg").read_text().startswith("<svg")  # ready for Icon once published


def _build(member: str, scratch: Path) -> tuple[str, Path]:
    source = scratch / "src" / member
    shutil.copytree(ROOT / member, source,
                    ignore=shutil.ignore_patterns("*.egg-info", "__pycache__", "build", "dist"))
    out = scratch / "dist" / member
    subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(source)],
                   check=True, capture_output=True, text=True, timeout=300)
    return member, out


@pytest.mark.slow
def test_every_member_builds_a_wheel_and_sdist_that_pass_twine_check(tmp_path: Path) -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        built = dict(pool.map(lambda m: _build(m, tmp_path), MEMBERS))
    files = sorted(str(p) for out in built.values() for p in out.iterdir())
    check = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *files],
                           capture_output=True, text=True, timeout=300)
    assert check.returncode == 0, check.stdout + check.stderr
    for member, out in built.items():
        (wheel,) = out.glob("*.whl")
        (sdist,) = out.glob("*.tar.gz")
        with zipfile.ZipFile(wheel) as z:
            metadata = z.read(next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))).decode()
            assert any(n.endswith(".dist-info/licenses/LICENSE") for n in z.namelist()), member
        assert "License-Expression: MIT" in metadata, member
        with tarfile.open(sdist) as t:
            assert any(n.endswith("/LICENSE") for n in t.getnames()), member
