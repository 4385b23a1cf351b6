"""`apiedit batch` against the loopback emulators: live throughput, kill -9 + resume, native RSS.

    .venv/bin/python benchmarks/bench_batch.py [--only live,resume,native] [--lines 200]

live:   N requests on OpenRouter's emulator, each answered after 1 s, the emulator refusing a
        9th concurrent request with 429; `--concurrency 8` → wall time vs the ideal N/8 s.
resume: the same run as a subprocess, SIGKILLed at a random point, then `resume`: billable
        requests vs N, lines done, lines reported unknown, any prompt billed twice.
native: a 1,000-line manifest through `apiedit.testing.batch_fake` and the OpenAI and Gemini
        plugins' batch hooks (each with its emulator); peak RSS of the client process.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODEL = "google/gemini-nano-banana-2.1"


def _manifest(path: Path, n: int, provider: str = "openrouter", model: str = MODEL) -> Path:
    path.write_text("\n".join(json.dumps({"id": f"r{i}", "provider": provider, "model": model,
                                          "prompt": f"a fox, variant {i}"}) for i in range(n)))
    return path


def _emulator(latency: float, limit: int):
    from apiedit_openrouter.emulator import OpenRouterEmulator

    emulator = OpenRouterEmulator().start()
    emulator.latency, emulator.max_concurrent = latency, limit
    return emulator


def _env(emulator) -> dict[str, str]:
    return {**os.environ, "APIEDIT_LOAD_PLUGINS": "openrouter", "OPENROUTER_API_KEY": "sk-bench",
            "APIEDIT_OPENROUTER_BASE_URL": emulator.base_url,
            "APIEDIT_DATA_DIR": tempfile.mkdtemp(prefix="apiedit-bench-")}


def bench_live(n: int, work: Path) -> None:
    emulator = _emulator(1.0, 8)
    try:
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "apiedit", "batch", "run",
                               str(_manifest(work / "live.jsonl", n)), "--out", str(work / "live"),
                               "--mode", "live", "--concurrency", "8"], env=_env(emulator),
                              capture_output=True, text=True)
        wall = time.perf_counter() - start
        ideal = n / 8 * 1.0
        report = json.loads((work / "live" / "report.json").read_text())
        print(f"live: {n} requests, latency 1 s, limit 8: wall {wall:.1f} s (process start "
              f"included), ideal {ideal:.1f} s, ratio {wall / ideal:.2f}x (target <= 1.2x); "
              f"done {report['counts']['done']}, 429 refusals {emulator.concurrency_refusals}, "
              f"billable {emulator.billable_count}, exit {done.returncode}")
    finally:
        emulator.stop()


def bench_resume(n: int, work: Path) -> None:
    emulator = _emulator(1.0, 8)
    try:
        env = _env(emulator)
        out = work / "resume"
        kill_after = random.uniform(2.0, n / 8 * 0.8)
        proc = subprocess.Popen([sys.executable, "-m", "apiedit", "batch", "run",
                                 str(_manifest(work / "resume.jsonl", n)), "--out", str(out),
                                 "--mode", "live", "--concurrency", "8"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(kill_after)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        at_kill = emulator.billable_count
        subprocess.run([sys.executable, "-m", "apiedit", "batch", "resume", str(out)], env=env,
                       capture_output=True)
        status = json.loads(subprocess.run(
            [sys.executable, "-m", "apiedit", "batch", "status", str(out), "--json"], env=env,
            capture_output=True, text=True).stdout)
        states = collections.Counter(line["state"] for line in status["lines"])
        prompts = collections.Counter(json.dumps(json.loads(r.body)["messages"][-1]["content"])
                                      for r in emulator.requests if r.billable)
        twice = sum(1 for c in prompts.values() if c > 1)
        files = len(list((out / "outputs").iterdir()))
        print(f"resume: killed after {kill_after:.1f} s ({at_kill} billed); after resume billable "
              f"{emulator.billable_count} of {n}, prompts billed twice {twice}, done "
              f"{states['done']}, unknown {states['unknown']} (in flight at the kill, reported, "
              f"not re-sent), output files {files}")
    finally:
        emulator.stop()


NATIVE = """
import json, os, resource, sys
from apiedit import batch
from apiedit.host import Host
from apiedit.testing.batch_fake import BatchFakePlugin
import apiedit.batch.native as native
native.POLL_SCHEDULE = (0.2,)
provider = sys.argv[3]
if provider == "fakebatch":
    host = Host(load_entry_points=False)
    host.register(BatchFakePlugin(sys.argv[4]), "fakebatch")
else:
    host = Host(env={**os.environ, "APIEDIT_LOAD_PLUGINS": provider})
report = batch.submit(sys.argv[1], sys.argv[2], mode="native", host=host)
print(json.dumps({"done": report["counts"]["done"],
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

# provider: (model, key variable, emulator "module:Class"); batch_fake needs no key.
NATIVE_TARGETS = {
    "fakebatch": ("fake-1", None, "apiedit.testing.batch_fake:BatchFakeEmulator"),
    "openai": ("gpt-image-2", "OPENAI_API_KEY", "apiedit_openai.emulator:OpenAIEmulator"),
    "gemini": ("gemini-nano-banana-2.1", "GEMINI_API_KEY",
               "apiedit_gemini.emulator:GeminiEmulator"),
}


def bench_native(n: int, work: Path) -> None:
    """The same n-line manifest through `batch_fake` and the OpenAI and Gemini plugins' real
    batch hooks, each against its emulator, in a client subprocess whose peak RSS is read."""
    import importlib

    for provider, (model, key_var, target) in NATIVE_TARGETS.items():
        module, name = target.split(":")
        emulator = getattr(importlib.import_module(module), name)().start()
        try:
            manifest = _manifest(work / f"native-{provider}.jsonl", n, provider, model)
            env = {**os.environ, "APIEDIT_DATA_DIR": tempfile.mkdtemp(),
                   f"APIEDIT_{provider.upper()}_BASE_URL": emulator.base_url}
            if key_var:
                env[key_var] = "sk-bench-not-a-key"
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "-c", NATIVE, str(manifest),
                                   str(work / f"native-{provider}"), provider, emulator.base_url],
                                  capture_output=True, text=True, env=env)
            if done.returncode:
                print(f"native {provider}: failed: {done.stderr[-500:]}")
                continue
            data = json.loads(done.stdout.strip().splitlines()[-1])
            jobs = getattr(emulator, "jobs", None)
            print(f"native {provider} ({n} lines): done {data['done']}, billable requests "
                  f"{emulator.billable_count}" + (f", jobs {len(jobs)}" if jobs is not None else "")
                  + f", client peak RSS {data['rss_mb']:.0f} MB (target <= 150 MB), "
                  f"wall {time.perf_counter() - start:.1f} s")
        finally:
            emulator.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="live,resume,native")
    parser.add_argument("--lines", type=int, default=200)
    parser.add_argument("--native-lines", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in args.only.split(","):
            {"live": lambda: bench_live(args.lines, work),
             "resume": lambda: bench_resume(args.lines, work),
             "native": lambda: bench_native(args.native_lines, work)}[name]()


if __name__ == "__main__":
    main()
