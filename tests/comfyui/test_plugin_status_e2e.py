"""Plugin status in the real ComfyUI: a plugin that fails to load is named in the provider
input's tooltip and in `GET /comfy-apiedit/plugins`; a third-party plugin whose id sorts first
does not become the node's default provider."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from apiedit.testing.pytest_plugin import SENTINEL_KEY
from harness import REPO, ComfyServer, provider_env

pytestmark = pytest.mark.comfyui

THIRD_PARTY = '''
import apiedit

@apiedit.hookimpl
def provider_info():
    return apiedit.ProviderInfo(id="aaa", label="AAA Reseller", key_env_vars=("AAA_KEY",),
                                default_base_url="https://aaa.invalid/v1")

@apiedit.hookimpl
def list_models():
    return [apiedit.ModelInfo(id="aaa-image", label="AAA", capabilities=apiedit.Capability.GENERATE)]

@apiedit.hookimpl
def edit(request, settings):
    raise NotImplementedError
'''


def _dist(site: Path, name: str, entry: str) -> None:
    info = site / f"apiedit_{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: apiedit-{name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[apiedit]\n{name} = {entry}\n")


@pytest.fixture(scope="module")
def server(pack_install, emulators, tmp_path_factory) -> Iterator[ComfyServer]:
    site = tmp_path_factory.mktemp("plugins-site")
    (site / "apiedit_aaa_plugin.py").write_text(THIRD_PARTY)
    _dist(site, "aaa", "apiedit_aaa_plugin")
    _dist(site, "brokenzz", "apiedit_brokenzz_not_installed")
    env = {**provider_env(emulators, SENTINEL_KEY), "PYTHONPATH": str(site)}
    with ComfyServer(pack_install.env, REPO, extra_env=env, pack_name="apiedit") as comfy:
        yield comfy


def _options(provider: list) -> list[str]:
    """A combo's options: `["COMBO", {"options": [...]}]` (0.33) or `[[...], {...}]` (0.3.x)."""
    return provider[1]["options"] if provider[0] == "COMBO" else provider[0]


def test_a_failed_plugin_is_in_the_provider_tooltip_and_the_status_route(server) -> None:
    provider = server.object_info("APIImageEdit")["APIImageEdit"]["input"]["required"]["provider"]
    assert "brokenzz" not in _options(provider) and "openai" in _options(provider)
    tooltip = provider[1]["tooltip"]
    assert "Failed to load: brokenzz (ModuleNotFoundError" in tooltip
    rows = {r["name"]: r for r in server._get("/api/comfy-apiedit/plugins").json()}
    assert rows["brokenzz"]["status"] == "failed"
    assert "apiedit_brokenzz_not_installed" in rows["brokenzz"]["error"]
    assert rows["aaa"]["status"] == "ok" and rows["openai"]["status"] == "ok"
    assert rows["aaa"]["distribution"] == "apiedit-aaa"
    assert SENTINEL_KEY not in server._get("/api/comfy-apiedit/plugins").text


def test_a_third_party_plugin_sorting_first_is_not_the_default_provider(server) -> None:
    provider = server.object_info("APIImageEdit")["APIImageEdit"]["input"]["required"]["provider"]
    assert "aaa" in _options(provider)
    assert provider[1]["default"] == "gemini"
    assert _options(provider)[0] == "gemini"
