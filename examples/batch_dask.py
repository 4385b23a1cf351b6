"""Drive `apiedit.batch` from Dask for several keys (accounts) at once.

    python examples/batch_dask.py MANIFEST OUT_ROOT --shard openrouter=KEY_ENV_A --shard openrouter=KEY_ENV_B

Each shard is one worker task with its own key and its own journal folder (OUT_ROOT/shard-N):
the manifest's lines are dealt round-robin to the shards, so no two workers ever share a
journal, and `resume` of one shard never touches another. The provider-side batch API is the
scale story for one key; an engine like Dask is the one for many keys or machines. Each task
runs in its own process (Dask's "processes" scheduler), so each has its own key environment.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any


def run_shard(lines: list[str], out: str, key_env: str, key: str) -> dict[str, Any]:
    """One worker: write its manifest part, set its key, run (or resume) its shard."""
    os.environ[key_env] = key  # this process only: each Dask process task has its own
    from apiedit import batch

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    manifest = folder / "manifest.jsonl"
    manifest.write_text("\n".join(lines) + "\n")
    return batch.submit(manifest, folder, mode="auto")


def run(manifest: str, out_root: str, shards: list[tuple[str, str]],
        scheduler: str = "processes") -> list[dict[str, Any]]:
    """Deal the manifest to `shards` [(key env var, key)] and run them in parallel."""
    import dask

    lines = [l for l in Path(manifest).read_text().splitlines() if l.strip()]
    tasks = [dask.delayed(run_shard)(lines[i::len(shards)], str(Path(out_root) / f"shard-{i}"),
                                     env, key) for i, (env, key) in enumerate(shards)]
    return list(dask.compute(*tasks, scheduler=scheduler))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manifest")
    parser.add_argument("out_root")
    parser.add_argument("--shard", action="append", required=True, metavar="KEY_ENV=SOURCE_ENV",
                        help="the key variable the plugin reads, and the variable holding this "
                             "shard's key (repeat per account)")
    args = parser.parse_args()
    shards = []
    for spec in args.shard:
        target, _, source = spec.partition("=")
        shards.append((target, os.environ[source]))
    for i, report in enumerate(run(args.manifest, args.out_root, shards)):
        print(f"shard-{i}: {json.dumps(report['counts'])}")


if __name__ == "__main__":
    main()
