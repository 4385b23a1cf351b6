"""Plugin discovery from real installed distributions (dist-info on sys.path), with failures."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import apiedit
from apiedit.errors import PluginLoadError, ProviderError, UnknownProviderError
from apiedit.host import Host
from apiedit.types import EditRequest

GOOD = '''
import apiedit

@apiedit.hookimpl
def provider_info():
    return apiedit.ProviderInfo(id="{name}", label="{name} label", needs_key=False,
                                default_base_url="http://127.0.0.1:9")

@apiedit.hookimpl
def list_models(refresh):
    return [apiedit.ModelInfo(id="m1", capabilities=apiedit.Capability.GENERATE)]

@apiedit.hookimpl
def edit(request):
    {edit_body}

@apiedit.hookimpl
def supports_conversation(model):
    return False
'''

PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGBgAAAABQABV8sLCwAAAABJRU5ErkJggg=="
)
RETURN_IMAGE = (
    "import base64; return apiedit.EditResult(images=[apiedit.ImageData(base64.b64decode('"
    + PNG
    + "'))], provider='{name}', model=request.model)"
)


def install_fake_dist(site: Path, dist: str, modules: dict[str, str], entry_points: dict[str, str]) -> None:
    """Write a minimal installed distribution: modules plus a dist-info with entry points."""
    for module, source in modules.items():
        (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{dist.replace('-', '_')}-0.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.3\n")
    lines = "\n".join(f"{name} = {target}" for name, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[apiedit]\n{lines}\n")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    install_fake_dist(
        site,
        "apiedit-fakes",
        {
            "fake_good": GOOD.format(name="good", edit_body=RETURN_IMAGE.format(name="good")),
            "fake_bug": GOOD.format(name="buggy", edit_body="raise ZeroDivisionError('plugin bug')"),
            "fake_broken": "raise ImportError('missing dependency xyz')\n",
            "fake_noedit": GOOD.format(name="noedit", edit_body="pass").replace(
                "@apiedit.hookimpl\ndef edit", "def edit"
            ),
        },
        {"good": "fake_good", "buggy": "fake_bug", "broken": "fake_broken", "noedit": "fake_noedit"},
    )
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    return site


def only_fakes(host_env: dict[str, str] | None = None) -> Host:
    env = {"APIEDIT_LOAD_PLUGINS": "good,buggy,broken,noedit", **(host_env or {})}
    return Host(env=env)


def test_broken_plugins_are_listed_and_the_others_load(site: Path) -> None:
    host = only_fakes()
    records = {r.name: r for r in host.records()}
    assert records["good"].status == "ok"
    assert records["good"].distribution == "apiedit-fakes" and records["good"].version == "0.3"
    assert records["broken"].status == "failed"
    assert "missing dependency xyz" in records["broken"].error
    assert records["noedit"].status == "failed"
    assert "edit" in records["noedit"].error
    assert set(host.providers()) == {"good", "buggy"}
    assert {r.name for r in host.failures()} == {"broken", "noedit"}


def test_plugin_files_are_the_files_beside_the_plugins_module(site: Path) -> None:
    """What a cache of computed answers (the ComfyUI price badge) stats to notice a change."""
    host = only_fakes()
    files = host.plugin_files("good")
    module = Path(sys.modules["fake_good"].__file__ or "")  # an earlier test's site may hold it
    assert module.name == "fake_good.py" and str(module) in files
    assert sorted(files) == sorted(str(p) for p in module.parent.glob("*.py"))
    with pytest.raises(UnknownProviderError):
        host.plugin_files("broken")  # a failed plugin serves nothing


def test_a_load_failure_is_logged_once(site: Path, caplog: pytest.LogCaptureFixture) -> None:
    host = only_fakes()
    host.records()
    host.records()
    host.providers()
    messages = [r.getMessage() for r in caplog.records if "broken" in r.getMessage()]
    assert len(messages) == 1


def test_strict_mode_reraises_load_failures(site: Path) -> None:
    host = only_fakes({"APIEDIT_STRICT_PLUGINS": "1"})
    with pytest.raises(PluginLoadError, match="broken|noedit"):
        host.providers()


def test_disabled_plugins_are_never_imported(site: Path) -> None:
    sys.modules.pop("fake_broken", None)
    host = only_fakes({"APIEDIT_DISABLE_PLUGINS": "broken"})
    records = {r.name: r for r in host.records()}
    assert records["broken"].status == "disabled"
    assert "fake_broken" not in sys.modules


def test_load_plugins_list_restricts_imports(site: Path) -> None:
    sys.modules.pop("fake_bug", None)
    host = Host(env={"APIEDIT_LOAD_PLUGINS": "good"})
    assert set(host.providers()) == {"good"}
    assert "fake_bug" not in sys.modules


def test_loading_happens_once(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    from importlib.metadata import entry_points

    def counting_source():
        calls.append(1)
        return entry_points(group="apiedit")

    host = Host(env={"APIEDIT_LOAD_PLUGINS": "good"}, entry_point_source=counting_source)
    host.providers()
    host.records()
    host.get_provider("good")
    assert calls == [1]


def test_a_raising_provider_never_affects_another(site: Path) -> None:
    host = only_fakes()
    with pytest.raises(ProviderError, match="buggy plugin failed in edit: ZeroDivisionError"):
        host.edit("buggy", EditRequest(model="m1", prompt="x"))
    result = host.edit("good", EditRequest(model="m1", prompt="x"))
    assert result.images[0].data.startswith(b"\x89PNG")


def test_unknown_provider_is_a_typed_error(site: Path) -> None:
    host = only_fakes()
    with pytest.raises(UnknownProviderError, match="Unknown provider 'nope'"):
        host.edit("nope", EditRequest(model="m1", prompt="x"))
    with pytest.raises(UnknownProviderError, match="not available"):
        host.get_provider("broken")
    with pytest.raises(KeyError):
        host.get_provider("nope")


def test_an_unlisted_model_is_sent_without_any_flag_and_marked_unverified(site: Path) -> None:
    host = only_fakes()
    result = host.edit("good", EditRequest(model="day0-model", prompt="x"))
    assert result.model == "day0-model"
    assert result.info["model_verified"] is False
    assert any("unverified" in w for w in result.warnings)
    # the deprecated flag is still accepted
    assert host.edit("good", EditRequest(model="m1", prompt="x"), allow_unlisted=True).images


def test_cli_plugins_json_lists_status_and_errors(site: Path) -> None:
    env = {"PYTHONPATH": str(site), "APIEDIT_LOAD_PLUGINS": "good,broken,noedit", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "apiedit", "plugins", "--json"],
        env=env, capture_output=True, text=True,
    )
    assert done.returncode == 8, done.stderr  # a failed plugin fails a CI gate
    rows = {row["name"]: row for row in json.loads(done.stdout)}
    assert rows["good"]["status"] == "ok" and rows["good"]["version"] == "0.3"
    assert rows["broken"]["status"] == "failed" and "xyz" in rows["broken"]["error"]
    assert rows["noedit"]["distribution"] == "apiedit-fakes"


def test_cli_plugins_exit_code_says_whether_a_plugin_failed(site: Path) -> None:
    def run(only: str) -> subprocess.CompletedProcess[str]:
        env = {"PYTHONPATH": str(site), "APIEDIT_LOAD_PLUGINS": only, "PATH": "/usr/bin:/bin"}
        return subprocess.run([sys.executable, "-m", "apiedit", "plugins"], env=env,
                              capture_output=True, text=True)

    failed = run("good,broken")
    assert failed.returncode == 8 and "broken" in failed.stdout and "failed" in failed.stdout
    fine = run("good")  # the others are disabled: a choice, not a failure
    assert fine.returncode == 0 and "good" in fine.stdout


def test_import_apiedit_loads_no_plugin_sdk_or_http_stack() -> None:
    code = (
        "import sys, apiedit; heavy = [m for m in ('requests', 'PIL', 'torch', 'numpy', 'openai', "
        "'google.genai', 'tenacity', 'fake_good') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_public_api_is_declared() -> None:
    for name in apiedit.__all__:
        assert hasattr(apiedit, name), name
    for name in ("providers", "get_provider", "list_models", "edit", "plugin_failures"):
        assert name in apiedit.__all__
