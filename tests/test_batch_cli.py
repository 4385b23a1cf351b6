"""`apiedit batch` as a user runs it: a subprocess killed with SIGKILL mid-run, then `resume`:
no line is paid twice, every line ends done or reported unknown, every done line has its file."""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

MODEL = "google/gemini-nano-banana-2.1"


def _env(emulator, key):
    return {**os.environ, "APIEDIT_LOAD_PLUGINS": "openrouter", "OPENROUTER_API_KEY": key,
            "APIEDIT_OPENROUTER_BASE_URL": emulator.base_url}


def _cli(env, *args, timeout=120):
    return subprocess.run([sys.executable, "-m", "apiedit", "batch", *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_kill_9_mid_run_then_resume_pays_no_line_twice(emulator_factory, apiedit_home,
                                                       sentinel_key, tmp_path) -> None:
    from apiedit_openrouter.emulator import OpenRouterEmulator

    emulator = emulator_factory(OpenRouterEmulator)
    emulator.latency, emulator.max_concurrent = 0.2, 4
    n = 24
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("\n".join(json.dumps({"id": f"r{i}", "provider": "openrouter",
                                              "model": MODEL, "prompt": f"fox {i}"})
                                  for i in range(n)))
    out = tmp_path / "out"
    env = _env(emulator, sentinel_key)
    proc = subprocess.Popen([sys.executable, "-m", "apiedit", "batch", "run", str(manifest),
                             "--out", str(out), "--mode", "live", "--concurrency", "4"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while emulator.billable_count < 8 and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = emulator.billable_count
    assert 0 < killed_at < n
    # the killed run's requests still hold the server's slots until their answers are written
    # (0.2 s); a resume sooner would meet a refusal for another process's requests
    deadline = time.monotonic() + 10
    while emulator.paid_in_flight and time.monotonic() < deadline:
        time.sleep(0.02)

    resumed = _cli(env, "resume", str(out))
    assert resumed.returncode in (0, 7), resumed.stderr
    status = json.loads(_cli(env, "status", str(out), "--json").stdout)
    states = collections.Counter(line["state"] for line in status["lines"])
    assert states["done"] + states["unknown"] == n and states["unknown"] <= 4
    paid = collections.Counter(json.loads(r.body)["messages"][-1]["content"]
                               if isinstance(json.loads(r.body)["messages"][-1]["content"], str)
                               else json.dumps(json.loads(r.body)["messages"][-1]["content"])
                               for r in emulator.requests if r.billable)
    assert all(count == 1 for count in paid.values())  # 0 duplicate paid submissions
    assert emulator.billable_count == sum(paid.values()) <= n
    for line in status["lines"]:
        if line["state"] == "done":
            assert all((out / o["path"]).is_file() for o in line["outputs"])
    assert emulator.concurrency_refusals == 0
    report = json.loads((out / "report.json").read_text())
    assert report["counts"]["unknown"] == states["unknown"]
    assert "unknown (may have been billed)" in resumed.stdout
    assert sentinel_key not in resumed.stdout + resumed.stderr


def test_cli_refuses_a_bad_manifest_and_a_budget_with_exit_3(emulator_factory, apiedit_home,
                                                             sentinel_key, tmp_path) -> None:
    from apiedit_openrouter.emulator import OpenRouterEmulator

    emulator = emulator_factory(OpenRouterEmulator)
    env = _env(emulator, sentinel_key)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "provider": "openrouter", "prompt": "x"}\n')
    done = _cli(env, "run", str(bad), "--out", str(tmp_path / "o"))
    assert done.returncode == 3 and "line 1: model is missing" in done.stderr
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps({"id": "a", "provider": "openrouter", "model": MODEL,
                                "prompt": "x"}) + "\n")
    done = _cli(env, "run", str(good), "--out", str(tmp_path / "o2"), "--budget", "5")
    assert done.returncode == 3 and "--allow-unknown-prices" in done.stderr
    assert emulator.billable_count == 0
    done = _cli(env, "run", str(good), "--out", str(tmp_path / "o2"), "--budget", "5",
                "--allow-unknown-prices")
    assert done.returncode == 0, done.stderr
    assert "estimated cost: live price unknown" in done.stderr
    assert "batch: 1/1 done=1" in done.stderr  # plain lines off a terminal
    assert emulator.billable_count == 1
