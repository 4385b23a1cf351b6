"""examples/batch_dask.py: two keys at once through Dask, each worker its own journal shard;
every line is paid once, under the key of the shard it was dealt to."""

from __future__ import annotations

import collections
import importlib.util
import json
from pathlib import Path

import pytest

pytest.importorskip("dask")
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "batch_dask.py"


def test_two_keys_two_shards(emulator_factory, apiedit_home, monkeypatch, tmp_path) -> None:
    from apiedit_openrouter.emulator import OpenRouterEmulator

    emulator = emulator_factory(OpenRouterEmulator)
    monkeypatch.setenv("APIEDIT_LOAD_PLUGINS", "openrouter")
    monkeypatch.setenv("APIEDIT_OPENROUTER_BASE_URL", emulator.base_url)
    spec = importlib.util.spec_from_file_location("batch_dask", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("\n".join(json.dumps({"id": f"r{i}", "provider": "openrouter",
                                              "model": "google/gemini-nano-banana-2.1",
                                              "prompt": f"fox {i}"}) for i in range(6)))
    keys = [("OPENROUTER_API_KEY", "sk-sentinel-account-a"),
            ("OPENROUTER_API_KEY", "sk-sentinel-account-b")]
    reports = module.run(str(manifest), str(tmp_path / "runs"), keys)
    assert [r["counts"]["done"] for r in reports] == [3, 3]
    assert emulator.billable_count == 6
    auth = collections.Counter(r.headers.get("authorization", "") for r in emulator.requests
                               if r.billable)
    assert auth == {"Bearer sk-sentinel-account-a": 3, "Bearer sk-sentinel-account-b": 3}
    assert (tmp_path / "runs" / "shard-0" / "journal.sqlite").is_file()
    assert (tmp_path / "runs" / "shard-1" / "journal.sqlite").is_file()
