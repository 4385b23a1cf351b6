"""Shared fixtures of the real-ComfyUI tests (pytest runs with --import-mode=importlib)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

from apiedit.testing.pytest_plugin import SENTINEL_KEY  # noqa: E402
from harness import (REPO, ComfyEnv, ComfyServer, ensure_installed,  # noqa: E402
                     install_pack_requirements, package_versions, provider_env, selected_versions)

OUR_DISTS = ["apiedit", "apiedit-comfy", "apiedit-openai", "apiedit-openrouter", "apiedit-pixelwords",
             "apiedit-gemini", "apiedit-modelscope"]
GUARDED = ["torch", "numpy", "Pillow"]


@dataclass(frozen=True)
class PackInstall:
    env: ComfyEnv
    before: dict[str, Any]  # versions of GUARDED before installing the pack
    after: dict[str, Any]


@pytest.fixture(scope="session", params=selected_versions(), ids=lambda v: f"comfyui-{v}")
def comfy_env(request: pytest.FixtureRequest) -> ComfyEnv:
    """An installed ComfyUI; every test using it runs once per version in $APIEDIT_COMFYUI_VERSIONS."""
    return ensure_installed(version=request.param)


@pytest.fixture(scope="session")
def pack_install(comfy_env: ComfyEnv) -> PackInstall:
    """ComfyUI, plus this checkout's requirements.txt installed line by line as Manager does.

    Our distributions are removed first: ComfyUI runs (and serves the web extension from) the
    *installed* packages, so they must come from this checkout.
    """
    env = comfy_env
    subprocess.run([str(env.python), "-m", "pip", "uninstall", "-y", "-q", *OUR_DISTS],
                   check=False, capture_output=True)
    before = package_versions(env, GUARDED)
    install_pack_requirements(env, REPO)
    return PackInstall(env, before, package_versions(env, GUARDED))


@pytest.fixture(scope="module")
def emulators() -> Iterator[dict[str, Any]]:
    """OpenAI and ModelScope emulators for the ComfyUI process to call."""
    from apiedit_modelscope.emulator import ModelScopeEmulator
    from apiedit_openai.emulator import OpenAIEmulator

    started = {"openai": OpenAIEmulator().start(), "modelscope": ModelScopeEmulator().start()}
    yield started
    for emulator in started.values():
        emulator.stop()


@pytest.fixture(scope="module")
def server(pack_install: PackInstall, emulators: dict[str, Any]) -> Iterator[ComfyServer]:
    """A ComfyUI with the pack, its OpenAI and ModelScope pointed at the emulators under the
    sentinel key; a module that needs another set-up defines its own `server`."""
    with ComfyServer(pack_install.env, REPO, extra_env=provider_env(emulators, SENTINEL_KEY),
                     pack_name="apiedit") as comfy:
        yield comfy


@pytest.fixture()
def fresh_emulators(emulators: dict[str, Any]) -> None:
    """Each test starts from emulators with no recorded request and no fault (modules opt in
    with `pytest.mark.usefixtures("fresh_emulators")`)."""
    for emulator in emulators.values():
        emulator.reset()


@pytest.fixture(scope="module")
def gemini() -> Iterator[Any]:
    """A Gemini emulator, for the modules whose ComfyUI also points Gemini at an emulator."""
    from apiedit_gemini.emulator import GeminiEmulator

    emulator = GeminiEmulator().start()
    yield emulator
    emulator.stop()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Nodes 2.0 exists only in 0.33's frontend: drop the 0.3.75 x nodes2 browser tests."""
    keep, drop = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        (drop if params.get("renderer") == "nodes2" and params.get("comfy_env") == "0.3.75"
         else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
