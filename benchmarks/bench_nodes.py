"""4 API Image Edit nodes in one graph, in a real headless ComfyUI: wall time, parallel vs chained.

    .venv/bin/python benchmarks/bench_nodes.py [--runs 5] [--latency 1.0] [--versions 0.3.75,0.33.0]
                                              [--no-install]

The OpenAI emulator answers every paid request after `--latency` seconds. Per ComfyUI version
(`tests/comfyui/harness.py` starts it; this checkout's pack is installed into its venv the way
the tests do it, unless `--no-install`), it queues, interleaved, run after run:
- **parallel**: 4 independent nodes (the target: ≤ 1.5 s at 1 s latency);
- **chained**: the same 4 nodes, each editing the previous one's image, which ComfyUI must run
  one after the other: the sequential figure (≈ 4 × latency) measured on the same server.
Every run has fresh prompts, so nothing comes from ComfyUI's cache. Wall time is from just
before POST /prompt to the `execution_success` timestamp ComfyUI records; it prints medians,
min-max, the peak of paid requests the emulator held at once, and parallel/chained.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "comfyui"))

from harness import (REPO, ComfyServer, ensure_installed, install_pack_requirements,  # noqa: E402
                     provider_env, selected_versions)
from parallel_graph import InFlightWatcher, parallel_graph  # noqa: E402

OUR_DISTS = ["apiedit", "apiedit-comfy", "apiedit-openai", "apiedit-openrouter", "apiedit-pixelwords",
             "apiedit-gemini", "apiedit-modelscope"]
KEY = "sk-bench-sentinel-not-a-key"


def install_pack(env: Any) -> None:
    """This checkout's pack into the ComfyUI venv (as tests/comfyui/conftest.py's pack_install)."""
    subprocess.run([str(env.python), "-m", "pip", "uninstall", "-y", "-q", *OUR_DISTS],
                   check=False, capture_output=True)
    install_pack_requirements(env, REPO)


def timed_run(server: ComfyServer, graph: dict[str, Any], emulator: Any) -> tuple[float, int]:
    """Seconds from queueing to ComfyUI's execution_success, and the peak requests in flight."""
    with InFlightWatcher(emulator) as watcher:
        queued = time.time()
        entry = server.wait(server.queue(graph), timeout=120)
    messages = dict((event, data) for event, data in entry["status"]["messages"])
    if "execution_success" not in messages:
        raise RuntimeError(f"the run failed: {entry['status']}\n{server.log_tail()}")
    return messages["execution_success"]["timestamp"] / 1000 - queued, watcher.peak


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):6.2f} s ({min(values):.2f}-{max(values):.2f})"


def bench_version(version: str, runs: int, latency: float, install: bool) -> dict[str, float]:
    from apiedit_modelscope.emulator import ModelScopeEmulator
    from apiedit_openai.emulator import OpenAIEmulator

    env = ensure_installed(version=version)
    if install:
        install_pack(env)
    emulators = {"openai": OpenAIEmulator().start(), "modelscope": ModelScopeEmulator().start()}
    openai = emulators["openai"]
    times: dict[str, list[float]] = {"parallel": [], "chained": []}
    peaks: dict[str, int] = {"parallel": 0, "chained": 0}
    try:
        with ComfyServer(env, REPO, extra_env=provider_env(emulators, KEY), pack_name="apiedit") as server:
            timed_run(server, parallel_graph(4, tag=" warm-up"), openai)  # plugins load, caches warm
            openai.latency = latency
            for i in range(runs):
                for case in ("parallel", "chained"):
                    graph = parallel_graph(4, chained=case == "chained", tag=f" run {i} {case}")
                    seconds, peak = timed_run(server, graph, openai)
                    times[case].append(seconds)
                    peaks[case] = max(peaks[case], peak)
    finally:
        for emulator in emulators.values():
            emulator.stop()
    par, seq = statistics.median(times["parallel"]), statistics.median(times["chained"])
    print(f"ComfyUI {version}: 4 nodes, {latency:g} s latency, {runs} runs each")
    print(f"  parallel (4 independent nodes)  {spread(times['parallel'])}  peak in flight "
          f"{peaks['parallel']}  target <= 1.5 s")
    print(f"  chained  (4 dependent nodes)    {spread(times['chained'])}  peak in flight "
          f"{peaks['chained']}")
    print(f"  parallel / chained              {par / seq:6.2f}", flush=True)
    return {"parallel": par, "chained": seq}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--versions", default=",".join(selected_versions()),
                        help="comma-separated ComfyUI versions (default: all the tests know)")
    parser.add_argument("--no-install", action="store_true",
                        help="use the pack already installed in each ComfyUI venv")
    args = parser.parse_args()
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.machine()}, "
          f"Python {platform.python_version()}")
    for version in [v.strip() for v in args.versions.split(",") if v.strip()]:
        bench_version(version, args.runs, args.latency, not args.no_install)


if __name__ == "__main__":
    main()
