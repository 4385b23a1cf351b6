"""Start-up cost, measured side by side in one run: median wall time of fresh interpreters.

    python benchmarks/bench_startup.py [--runs 15]

Prints the median of `python -c pass` (the floor), `import apiedit`, `import apiedit_comfy`
(what the ComfyUI pack adds at start), and the first plugin load (`apiedit.providers()`, which
a ComfyUI start pays only when the node's stored schema data is computed again, and otherwise
the warm-up after the server start), each also as a ratio to the floor.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

CASES = {
    "python -c pass (floor)": "pass",
    "import apiedit": "import apiedit",
    "import apiedit_comfy (pack import)": "import apiedit_comfy",
    "apiedit.providers() (all plugins)": "import apiedit; apiedit.providers()",
}


def median_seconds(code: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    results = {name: median_seconds(code, args.runs) for name, code in CASES.items()}
    floor = results["python -c pass (floor)"]
    print(f"{'case':<40} {'median ms':>10} {'x floor':>8} {'over floor ms':>14}")
    for name, seconds in results.items():
        print(f"{name:<40} {seconds * 1000:>10.1f} {seconds / floor:>8.2f} {(seconds - floor) * 1000:>14.1f}")


if __name__ == "__main__":
    main()
