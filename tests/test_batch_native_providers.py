"""`apiedit batch --mode native` end to end with the real OpenAI and Gemini plugins against
their emulators' batch endpoints: a manifest of text-to-image and edit lines becomes as few
paid jobs as the provider allows, every line ends done with its PNG on disk, a resume pays
nothing more, and the key never reaches the run folder."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from apiedit import batch
from apiedit.host import Host

# provider: (model, key variable, emulator, jobs for a manifest of generations + one edit).
# OpenAI's Batch API takes one endpoint per batch, so generations and edits are two jobs.
CASES = {
    "openai": ("gpt-image-2", "OPENAI_API_KEY", "apiedit_openai.emulator", "OpenAIEmulator", 2),
    "gemini": ("gemini-nano-banana-2.1", "GEMINI_API_KEY", "apiedit_gemini.emulator",
               "GeminiEmulator", 1),
}


def _png(path: Path, colour: tuple[int, int, int]) -> Path:
    Image.new("RGB", (64, 48), colour).save(path, format="PNG")
    return path


@pytest.mark.parametrize("provider", sorted(CASES))
def test_native_run_on_the_real_plugin(provider, emulator_factory, apiedit_home, sentinel_key,
                                       tmp_path, monkeypatch) -> None:
    model, key_var, module, name, jobs = CASES[provider]
    emulator_class = getattr(__import__(module, fromlist=[name]), name)
    emulator = emulator_factory(emulator_class)
    monkeypatch.setenv(key_var, sentinel_key)
    monkeypatch.setenv(f"APIEDIT_{provider.upper()}_BASE_URL", emulator.base_url)
    monkeypatch.setattr("apiedit.batch.native.POLL_SCHEDULE", (0.05,))
    image = _png(tmp_path / "in.png", (20, 160, 20))
    rows = [{"id": f"t{i}", "provider": provider, "model": model, "prompt": f"a fox {i}"}
            for i in range(3)]
    rows.append({"id": "e0", "provider": provider, "model": model,
                 "prompt": "make it blue", "images": [str(image)]})
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("\n".join(json.dumps(r) for r in rows))
    host = Host(env={"APIEDIT_LOAD_PLUGINS": provider})

    out = tmp_path / "out"
    report = batch.submit(manifest, out, mode="native", host=host)
    assert report["counts"]["done"] == 4, report
    lines = {r["id"]: r for r in batch.results(out)}
    assert set(lines) == {"t0", "t1", "t2", "e0"}
    assert {r["mode"] for r in lines.values()} == {"native"}
    assert len({r["job_id"] for r in lines.values()}) == jobs
    for line in lines.values():
        for output in line["outputs"]:
            Image.open(io.BytesIO(Path(output["path"]).read_bytes())).verify()
    paid = emulator.billable_count
    assert paid == jobs  # one paid create per job, nothing else billable
    assert emulator.batch_lines_billed == 4

    again = batch.resume(out, host=host)
    assert again["counts"]["done"] == 4
    assert emulator.billable_count == paid  # nothing paid twice
    for file in out.rglob("*"):
        if file.is_file() and file.suffix in (".json", ".jsonl", ".txt", ".log"):
            assert sentinel_key not in file.read_text(errors="replace")


def test_cancel_from_another_terminal_keeps_what_ran_and_fails_the_rest(
        emulator_factory, apiedit_home, sentinel_key, tmp_path, monkeypatch) -> None:
    """A run is polling a job that has run 2 of 5 lines; `apiedit batch cancel DIR` (another
    process, as a user does it) cancels it; the run then ends with the 2 finished lines saved,
    3 failed as cancelled, and only 2 lines billed."""
    import os
    import subprocess
    import sys
    import threading
    import time

    from apiedit_openai.emulator import OpenAIEmulator

    emulator = emulator_factory(OpenAIEmulator)
    emulator.batch_hold_after = 2
    monkeypatch.setenv("OPENAI_API_KEY", sentinel_key)
    monkeypatch.setenv("APIEDIT_OPENAI_BASE_URL", emulator.base_url)
    monkeypatch.setattr("apiedit.batch.native.POLL_SCHEDULE", (0.05,))
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("\n".join(json.dumps({"id": f"c{i}", "provider": "openai",
                                              "model": "gpt-image-2", "prompt": f"owl {i}"})
                                  for i in range(5)))
    out = tmp_path / "out"
    host = Host(env={"APIEDIT_LOAD_PLUGINS": "openai"})
    finished: dict = {}
    runner = threading.Thread(target=lambda: finished.update(
        batch.submit(manifest, out, mode="native", host=host)))
    runner.start()
    deadline = time.monotonic() + 30
    while emulator.batch_lines_billed < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert emulator.batch_lines_billed == 2

    env = {**os.environ, "APIEDIT_LOAD_PLUGINS": "openai"}
    cancelled = subprocess.run([sys.executable, "-m", "apiedit", "batch", "cancel", str(out)],
                               env=env, capture_output=True, text=True, timeout=60)
    assert cancelled.returncode == 0, cancelled.stderr
    assert "cancelling" in cancelled.stdout or "cancelled" in cancelled.stdout
    runner.join(60)
    assert not runner.is_alive()
    assert finished["counts"]["done"] == 2 and finished["counts"]["failed"] == 3, finished
    lines = {r["id"]: r for r in batch.results(out)}
    assert sorted(i for i, r in lines.items() if r["state"] == "done") == ["c0", "c1"]
    assert all("cancel" in lines[i]["error_message"] for i in ("c2", "c3", "c4"))
    assert emulator.batch_lines_billed == 2
    assert sentinel_key not in cancelled.stdout + cancelled.stderr
