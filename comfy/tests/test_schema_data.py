"""The nodes' schema data is computed once and kept for the next ComfyUI start, which then
loads no plugin; anything it was computed from makes the next start compute it again.

Each `start()` below is what a new ComfyUI process sees: nothing read yet and, as far as
`schema_data` can tell, core's host not loaded (in this test process it is, so `_live` is
patched). `computed` counts the live computations.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import apiedit.host as host_module
from apiedit.testing.pytest_plugin import SENTINEL_KEY
from apiedit_comfy import catalog, schema_data
from apiedit_comfy.knobs import ANY_MODEL, Knobs


class Starts:
    """Simulated ComfyUI starts against one apiedit home."""

    def __init__(self, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.home, self.monkeypatch, self.computed = home, monkeypatch, 0
        real = schema_data._compute

        def counting() -> Any:
            self.computed += 1
            return real()

        monkeypatch.setattr(schema_data, "_compute", counting)
        monkeypatch.setattr(schema_data, "_live", lambda: False)

    def start(self) -> schema_data.SchemaData:
        """A new process: nothing read, a new host, empty model memory."""
        self.monkeypatch.setattr(schema_data, "_read", False)
        self.monkeypatch.setattr(schema_data, "_stored", None)
        self.monkeypatch.setattr(schema_data, "_confirmed", None)
        self.monkeypatch.setattr(host_module, "_default", None)
        catalog.forget()
        return schema_data.current()

    @property
    def file(self) -> Path:
        return self.home / "cache" / schema_data.FILE_NAME

    def stored(self) -> dict[str, Any]:
        return json.loads(self.file.read_text(encoding="utf-8"))


@pytest.fixture
def starts(apiedit_home: Path, monkeypatch: pytest.MonkeyPatch) -> Starts:
    for name in [k for k in os.environ if k.startswith("APIEDIT_") and not k.endswith("_DIR")]:
        monkeypatch.delenv(name)  # a developer's settings must not change what is listed
    return Starts(apiedit_home, monkeypatch)


def test_a_later_start_serves_the_stored_data_without_computing_it(starts: Starts) -> None:
    first = starts.start()
    assert starts.computed == 1 and starts.file.exists()
    assert {"gemini", "openai", "openrouter", "pixelwords", "modelscope"} <= set(first.providers)
    assert first.providers[0] == host_module.default_host().default_provider()
    assert "gpt-image-1.5" in first.usable["openai"] and list(first.knobs)[-1] == ANY_MODEL
    assert first.model_ids() == catalog.all_model_ids()  # what the flat schema and legacy list
    again = starts.start()
    assert again == first and starts.computed == 1
    assert isinstance(again.knobs["gpt-image-1.5"], Knobs)
    assert again.knobs["gpt-image-1.5"].sizes == first.knobs["gpt-image-1.5"].sizes


def _stored_model_list(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = home / "cache" / "openai"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "models-0123456789ab.json").write_text('{"fetched_at": 1, "models": []}', encoding="utf-8")


def _installed_distribution(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (home / "site" / "acme_apiedit-1.0.dist-info").mkdir()  # pip adds (or removes) such folders


def _upgraded_distribution(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (home / "site" / "base_dep-1.0.dist-info").rename(home / "site" / "base_dep-1.1.dist-info")


def _plugin_file(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (home / "plugin" / "models.py").write_text("MODELS = ('new',)\n", encoding="utf-8")


def _new_plugin_file(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (home / "plugin" / "prices.json").write_text("{}", encoding="utf-8")


def _pack_code(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (home / "pack" / "node.py").write_text("# edited\n", encoding="utf-8")


def _setting(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APIEDIT_OPENAI_BASE_URL", "http://127.0.0.1:9/v1")


def _providers_file(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (home / "config").mkdir(exist_ok=True)
    (home / "config" / "providers.toml").write_text(
        '[providers.myrelay]\nlabel = "My relay"\nprotocol = "openai-chat"\nbase_url = "https://relay.example.com/v1"\n'
        'key_env = "MYRELAY_API_KEY"\nmodels = ["relay-image-1"]\n', encoding="utf-8")


def _key_file(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from apiedit import keys

    keys.trust_base_url("openai", "http://127.0.0.1:9/v1")


def _next_day(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schema_data, "_utc_day", lambda: "2999-01-01")


@pytest.mark.parametrize("change", [
    _stored_model_list, _installed_distribution, _upgraded_distribution, _plugin_file, _new_plugin_file, _pack_code,
    _setting, _providers_file, _key_file, _next_day,
], ids=lambda f: f.__name__.strip("_"))
def test_what_it_was_computed_from_changed_so_the_next_start_computes_it(
        starts: Starts, monkeypatch: pytest.MonkeyPatch,
        change: Callable[[Path, pytest.MonkeyPatch], None]) -> None:
    home = starts.home
    for folder in ("site", "plugin", "pack"):
        (home / folder).mkdir()
    (home / "plugin" / "models.py").write_text("MODELS = ()\n", encoding="utf-8")
    (home / "pack" / "node.py").write_text("# the node\n", encoding="utf-8")
    (home / "site" / "base_dep-1.0.dist-info").mkdir()
    monkeypatch.setattr(schema_data, "_START_PATH", (*schema_data._START_PATH, str(home / "site")))
    monkeypatch.setattr(schema_data, "_PACK_DIR", str(home / "pack"))
    real_files = host_module.Host.plugin_files
    monkeypatch.setattr(host_module.Host, "plugin_files", lambda self, p: [
        *real_files(self, p), *([str(home / "plugin" / "models.py")] if p == "openai" else [])])
    starts.start()
    starts.start()
    assert starts.computed == 1  # nothing changed yet
    change(home, monkeypatch)
    starts.start()
    assert starts.computed == 2
    starts.start()
    assert starts.computed == 2  # stored again, under the new fingerprint


def test_other_files_in_a_path_folder_are_no_reason(starts: Starts, monkeypatch: pytest.MonkeyPatch) -> None:
    """ComfyUI's own folder is on sys.path, and ComfyUI deletes its `temp` folder there at
    every start: only the distributions a folder holds count."""
    comfy = starts.home / "ComfyUI"
    comfy.mkdir()
    monkeypatch.setattr(schema_data, "_START_PATH", (str(comfy), *schema_data._START_PATH))
    starts.start()
    (comfy / "temp").mkdir()
    (comfy / "main.py").write_text("", encoding="utf-8")
    starts.start()
    assert starts.computed == 1


def test_a_changed_setting_changes_what_is_served(starts: Starts, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "pixelwords" in starts.start().providers
    monkeypatch.setenv("APIEDIT_DISABLE_PLUGINS", "pixelwords")
    assert "pixelwords" not in starts.start().providers


def test_a_secret_looking_variable_is_neither_a_reason_nor_written(
        starts: Starts, monkeypatch: pytest.MonkeyPatch) -> None:
    starts.start()
    monkeypatch.setenv("APIEDIT_OPENAI_API_KEY", SENTINEL_KEY)
    monkeypatch.setenv("OPENAI_API_KEY", SENTINEL_KEY)
    starts.start()
    assert starts.computed == 1
    monkeypatch.setattr(schema_data, "_utc_day", lambda: "2999-01-01")
    starts.start()  # written again, with the variables set
    assert starts.computed == 2 and SENTINEL_KEY not in starts.file.read_text(encoding="utf-8")


def test_a_plugin_that_failed_to_load_stores_nothing_and_drops_the_stored_data(
        starts: Starts, monkeypatch: pytest.MonkeyPatch) -> None:
    starts.start()
    assert starts.file.exists()
    failed = host_module.PluginRecord("acme", "apiedit-acme", "1.0", "failed", "ImportError: no")
    monkeypatch.setattr(host_module.Host, "failures", lambda self: [failed])
    monkeypatch.setattr(schema_data, "_utc_day", lambda: "2999-01-01")
    starts.start()
    assert not starts.file.exists()  # so every start shows (and logs) the failure
    starts.start()
    assert starts.computed == 3


@pytest.mark.parametrize("content", ["not json", "[]", '{"format": 1, "key": "0", "parts": {}}'])
def test_an_unreadable_or_foreign_file_is_computed_again_and_replaced(starts: Starts, content: str) -> None:
    first = starts.start()
    key = starts.stored()["key"]
    starts.file.write_text(content, encoding="utf-8")
    assert starts.start() == first and starts.computed == 2
    assert starts.stored()["key"] == key


def test_malformed_data_under_the_right_key_is_computed_again(starts: Starts) -> None:
    """The node must load whatever the file holds: /object_info never fails on it."""
    first = starts.start()
    stored = starts.stored()
    stored["parts"]["schema"]["knobs"]["gpt-image-1.5"]["no_such_knob"] = True
    starts.file.write_text(json.dumps(stored), encoding="utf-8")
    assert starts.start() == first and starts.computed == 2


def test_stored_data_under_another_key_is_not_used(starts: Starts) -> None:
    first = starts.start()
    stored = starts.stored()
    stored["parts"]["schema"]["usable"]["openai"].append("planted-model")
    stored["key"] = "0" * 64
    starts.file.write_text(json.dumps(stored), encoding="utf-8")
    assert starts.start() == first


def test_once_the_host_is_loaded_it_is_the_source(starts: Starts, monkeypatch: pytest.MonkeyPatch) -> None:
    """A route, a queued prompt or a refresh loaded it: a refreshed list shows at once."""
    first = starts.start()
    monkeypatch.setattr(schema_data, "_live", lambda: True)
    assert schema_data.current() == first and starts.computed == 2
    monkeypatch.setattr(catalog, "usable_model_ids", lambda p: ["fresh-model"])
    assert schema_data.current().usable["openai"] == ["fresh-model"]


def test_warm_up_replaces_stale_stored_data(starts: Starts, caplog: pytest.LogCaptureFixture) -> None:
    """Should a change slip past the fingerprint, the stored list lives until the server's
    start, not longer: the warm-up computes from the live host and stores what it says."""
    first = starts.start()
    stored = starts.stored()
    stored["parts"]["schema"]["usable"]["openai"].insert(0, "planted-model")
    starts.file.write_text(json.dumps(stored), encoding="utf-8")
    served = starts.start()
    assert served.usable["openai"][0] == "planted-model"  # the stored data was served
    with caplog.at_level(logging.INFO, logger="apiedit.comfy"):
        schema_data.warm_up().join(timeout=30)
    assert "planted-model" not in json.dumps(starts.stored())
    assert "reload the page" in caplog.text
    assert starts.start() == first


def test_the_badge_table_is_stored_beside_it(starts: Starts, monkeypatch: pytest.MonkeyPatch) -> None:
    starts.start()
    calls: list[int] = []

    def compute() -> dict[str, Any]:
        calls.append(1)
        return {"openai": {"gpt-image-1.5": {"p": {"1024x1024": [0.009, 0.133, "USD"]}}}}

    inputs = [{"openai": ["gpt-image-1.5"]}, {"size": ["1024x1024"]}, {}]
    table = schema_data.badge_table(inputs, compute)
    assert calls == [1] and starts.stored()["parts"]["badge"]["table"] == table
    starts.start()
    from apiedit_comfy import badge_store

    monkeypatch.setattr(badge_store, "remembered", lambda *a: pytest.fail("computed again"))
    assert schema_data.badge_table(inputs, compute) == table  # from the schema data's file


def test_warm_up_loads_the_call_path_but_no_plugin_wire_code(tmp_path: Path) -> None:
    """In a fresh interpreter (this one has everything imported): after the warm-up the first
    run imports only its plugin's own call modules."""
    import subprocess
    import sys

    code = ("import sys\nfrom apiedit_comfy import schema_data\nschema_data.warm_up().join(60)\n"
            "print(sorted(m for m in schema_data.CALL_PATH if m not in sys.modules))\n"
            "print(sorted(m for m in sys.modules if m.endswith(('.wire', '.transport', '.generate'))"
            " and m.startswith('apiedit_')))\n")
    env = {**os.environ, "APIEDIT_CACHE_DIR": str(tmp_path / "cache"),
           "APIEDIT_CONFIG_DIR": str(tmp_path / "config"), "APIEDIT_DATA_DIR": str(tmp_path / "data")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == ["[]", "[]"], out.stdout + out.stderr
