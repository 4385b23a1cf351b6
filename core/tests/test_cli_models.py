"""`apiedit models` and `apiedit models-diff` over real HTTP against the Gemini emulator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from apiedit import cli
from apiedit.host import Host

pytest.importorskip("apiedit_gemini")
from apiedit_gemini.emulator import GeminiEmulator, _model_entry  # noqa: E402


@pytest.fixture
def gemini(emulator_factory, apiedit_home, monkeypatch, sentinel_key) -> GeminiEmulator:
    import apiedit.host as host_module

    monkeypatch.setenv("GEMINI_API_KEY", sentinel_key)
    monkeypatch.setattr(host_module, "_default", Host(env={"APIEDIT_LOAD_PLUGINS": "gemini"}))
    return emulator_factory(GeminiEmulator)


def test_a_refresh_with_a_rejected_key_exits_non_zero_with_the_reason(gemini, capsys) -> None:
    gemini.valid_keys = {"another"}
    code = cli.main(["models", "gemini", "--refresh", "--base-url", gemini.base_url])
    assert code != 0
    assert "Could not refresh the Google Gemini model list" in capsys.readouterr().err


def test_a_refresh_of_an_unreachable_base_url_exits_non_zero(gemini, capsys) -> None:
    assert cli.main(["models", "gemini", "--refresh", "--base-url", "http://127.0.0.1:9"]) != 0
    assert "Could not refresh" in capsys.readouterr().err


def test_the_listing_names_the_default_and_flags_unavailable_models(gemini, capsys) -> None:
    assert cli.main(["models", "gemini", "--refresh", "--base-url", gemini.base_url]) == 0
    out = capsys.readouterr().out
    assert "default: gemini-nano-banana-2.1" in out
    assert "gemini-3-pro-image-preview" in out and "retired, use gemini-3-pro-image" in out


def test_models_diff_prints_added_unknown_family_and_removed_ids(gemini, capsys, tmp_path: Path) -> None:
    gemini.models = [m for m in gemini.models if "3.1-flash-lite" not in m["name"]]
    gemini.models += [_model_entry("gemini-nano-banana-2.2", "NB 2.2", ["generateContent"]),
                      {**_model_entry("banana-split-1", "?", ["generateContent"]),
                       "outputModalities": ["IMAGE"]}]
    assert cli.main(["models", "gemini", "--refresh", "--json", "--base-url", gemini.base_url]) == 0
    saved = tmp_path / "live.json"
    saved.write_text(capsys.readouterr().out)
    code = cli.main(["models-diff", "gemini", str(saved), "--json"])
    diff = json.loads(capsys.readouterr().out)
    assert code == 1
    assert {"id": "gemini-nano-banana-2.2", "family": "nano-banana"} in diff["added"]
    assert diff["unknown_family"] == ["banana-split-1"]
    assert diff["removed"] == ["gemini-3.1-flash-lite-image"]


def test_models_diff_reads_a_raw_models_answer_and_is_clean_when_tables_match(gemini, capsys, tmp_path) -> None:
    raw = {"models": [{"name": f"models/{i}"} for i in (
        "gemini-nano-banana-2.1", "gemini-3-pro-image", "gemini-3.1-flash-image",
        "gemini-3.1-flash-lite-image", "nano-banana-pro-preview")]}
    saved = tmp_path / "raw.json"
    saved.write_text(json.dumps(raw))
    assert cli.main(["models-diff", "gemini", str(saved)]) == 0
    assert "match" in capsys.readouterr().out
