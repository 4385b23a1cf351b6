"""`apiedit new-plugin NAME [--async]`: the generated distribution installs and passes its own
tests unchanged, in a throw-away venv that sees the project's packages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

from apiedit.cli import main
from apiedit.console.exitcodes import ExitCode


def throwaway_venv(where: Path) -> Path:
    """A venv made with --system-site-packages whose path also holds this project's venv (a
    venv's own packages are not "system" ones), so that pip and setuptools>=77 are ours."""
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip",
                    str(where)], check=True)
    python = where / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    ours = sysconfig.get_paths()["purelib"]
    Path(purelib, "_apiedit_project.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    return python


# The async emulator's answers, seen from a client: two images asked for, the job's outputs are
# URLs on the emulator, the plugin downloaded each (in order) and painted them distinctly.
ASYNC_CALL = """
import json
import apiedit
from apiedit.testing.painter import painted_index
from apiedit_acme.emulator import AcmeEmulator
with AcmeEmulator() as emu:
    result = apiedit.edit("acme", model="acme-image-1", prompt="a fox", n=2,
                          api_key="sk-scaffold-test", base_url=emu.base_url)
    job = emu.jobs.last()
    print(json.dumps({
        "outputs_are_urls": all(u.startswith(emu.base_url + "/_files/") for u in job.outputs),
        "downloads": len(emu.requests_to("^/_files/", "GET")),
        "same_bytes": [i.data for i in result.images] == emu.outputs == job.output_bytes,
        "indexes": [painted_index(i.data) for i in result.images],
        "billed": emu.billable_count, "wire_count": emu.last_wire().count,
    }))
"""


def run(python: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "APIEDIT_"))}
    return subprocess.run([str(python), *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.parametrize("variant", ["sync", "async"])
def test_the_generated_plugin_installs_and_passes_its_own_tests(variant: str, tmp_path: Path) -> None:
    target = tmp_path / "apiedit-acme"
    flags = ["--async"] if variant == "async" else []
    assert main(["new-plugin", "acme", *flags, "--dir", str(target)]) == 0

    project = tomllib.loads((target / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert project["entry-points"]["apiedit"] == {"acme": "apiedit_acme"}
    assert project["entry-points"]["apiedit.emulators"] == {"acme": "apiedit_acme.emulator:AcmeEmulator"}
    assert (target / "LICENSE").read_text().startswith("MIT License")
    wire = (target / "apiedit_acme" / "wire.py").read_text()
    emulator = (target / "apiedit_acme" / "emulator.py").read_text()
    assert ("poll_task" in wire) is (variant == "async")
    assert ("download_image" in wire) is (variant == "async")  # outputs are URLs, fetched safely
    assert ("apiedit.testing.jobs" in emulator) is (variant == "async")
    assert "apiedit.testing.painter" in emulator and "record_wire(" in emulator
    assert not (target / "apiedit_acme" / "_painter.py").exists(), "core's painter is imported"

    python = throwaway_venv(tmp_path / "venv")
    installed = run(python, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    str(target))
    assert installed.returncode == 0, installed.stderr[-2000:]
    tests = run(python, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider", cwd=target)
    assert tests.returncode == 0, tests.stdout[-3000:]
    assert " passed" in tests.stdout and "failed" not in tests.stdout
    if variant == "async":
        called = run(python, "-c", ASYNC_CALL)
        assert called.returncode == 0, called.stderr[-3000:]
        assert json.loads(called.stdout) == {"outputs_are_urls": True, "downloads": 2,
                                             "same_bytes": True, "indexes": [0, 1], "billed": 1,
                                             "wire_count": 2}
    listed = run(python, "-m", "apiedit", "plugins")
    assert listed.returncode == 0, listed.stderr
    (line,) = [ln for ln in listed.stdout.splitlines() if ln.startswith("acme ")]
    assert line.split()[1:3] == ["ok", "apiedit-acme"]


@pytest.mark.parametrize("name", ["Acme", "acme_images", "1acme", "acme-", "apiedit-x", "a" * 40, ""])
def test_a_bad_name_is_refused(name: str, tmp_path: Path, capsys) -> None:
    assert main(["new-plugin", name, "--dir", str(tmp_path / "out")]) == ExitCode.INPUT
    assert "not a usable plugin name" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_non_empty_target_is_refused_and_left_alone(tmp_path: Path, capsys) -> None:
    (tmp_path / "mine.txt").write_text("keep me")
    assert main(["new-plugin", "acme", "--dir", str(tmp_path)]) == ExitCode.INPUT
    assert "already exists and is not empty" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["mine.txt"]


def test_an_empty_target_directory_is_used(tmp_path: Path) -> None:
    target = tmp_path / "empty"
    target.mkdir()
    assert main(["new-plugin", "acme-images", "--dir", str(target)]) == 0
    assert (target / "apiedit_acme_images" / "emulator.py").is_file()
    assert 'acme-images = "apiedit_acme_images"' in (target / "pyproject.toml").read_text()
