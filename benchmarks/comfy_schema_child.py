"""One ComfyUI 0.33 start, as far as custom nodes go, timing what this pack adds (figure 3).

Run by `run.py` with the test ComfyUI's own Python, in its folder, with the repository's
`core`, `comfy` and plugin folders first on PYTHONPATH (so the code measured is the working
tree's, while the plugins' entry points come from the copy installed in that venv):

    venv/bin/python comfy_schema_child.py REPO --home DIR [--cold] [--profile FILE]
                                          [--gemini BASE_URL MODEL IMAGE] [--no-warm-up]

It does what ComfyUI's `main.py` does before custom nodes (parse `--cpu`, import `execution`,
`server` and `nodes`, load the public APIs, the built-in extra nodes and API nodes), then loads
two packs with ComfyUI's own `nodes.load_custom_node`: a one-node V3 pack (the floor: what any
pack costs) and this repository, whose load includes the pack import, `comfy_entrypoint` and
`GET_SCHEMA` of both nodes (ComfyUI builds each schema when it registers the node, the price
badge's table included). Then the first and second `GET_NODE_INFO_V1` of the main node (what
`/object_info` serialises; the second is ComfyUI's own floor). Then what the server's start runs
in the background (`schema_data.warm_up`: core's host and the plugins load; `--no-warm-up`
skips it) and `GET_NODE_INFO_V1` again, from the live host. `--cold` drops the bytecode of
everything imported after the preload (a first start after an install or an update);
`--home DIR` holds apiedit's key, cache and data folders (an empty one is a first start: the
schema data and the price badge's table are not stored yet; `schema_data`); `--profile FILE` writes cProfile
statistics of this pack's load to FILE; `--gemini` then times three Gemini edits of IMAGE (a
PNG file) against an emulator at BASE_URL, as the node makes them (`Host.edit`, the default
transport): the first call in the process against the next two (figure 1's first-call target,
here with everything ComfyUI itself has imported).

Prints one JSON line: wall and CPU (thread) milliseconds of each step, which plugin wire
modules or provider SDKs the load imported (none is the target), and whether it loaded core's
host (a later start does not).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from types import SimpleNamespace

FLOOR_PACK = '''
from comfy_api.latest import ComfyExtension, io


class FloorNode(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(node_id="BenchFloorNode", display_name="Bench floor", category="bench",
                         inputs=[io.String.Input("prompt", default=""), io.Image.Input("image", optional=True)],
                         outputs=[io.Image.Output()])

    @classmethod
    def execute(cls, prompt, image=None):
        return io.NodeOutput(image)


async def comfy_entrypoint():
    class Extension(ComfyExtension):
        async def get_node_list(self):
            return [FloorNode]

    return Extension()
'''
FLOOR_PYPROJECT = '[project]\nname = "bench-floor"\nversion = "0.1.0"\n\n[tool.comfy]\nPublisherId = "bench"\n'


def _timed(step):  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), time.thread_time()
    value = step()
    return value, (time.perf_counter() - wall) * 1000, (time.thread_time() - cpu) * 1000


def _preload() -> None:
    """What ComfyUI 0.33's main.py has imported and loaded when it reaches custom nodes."""
    import comfy.options

    comfy.options.enable_args_parsing()
    sys.argv = [sys.argv[0], "--cpu"]
    import utils.extra_config  # noqa: F401  (main.py's first imports: ComfyUI's utils package
    import execution  # noqa: F401            before execution puts comfy/, with its utils.py, first)
    import server
    import nodes
    from aiohttp import web

    # The pack registers its routes on the running server's table; none is running here.
    server.PromptServer.instance = SimpleNamespace(routes=web.RouteTableDef())
    loop = asyncio.get_event_loop()
    if hasattr(nodes, "init_public_apis"):
        loop.run_until_complete(nodes.init_public_apis())
    loop.run_until_complete(nodes.init_builtin_extra_nodes())
    loop.run_until_complete(nodes.init_builtin_api_nodes())


def main() -> None:
    repo = os.path.abspath(sys.argv[1])
    cold = "--cold" in sys.argv[2:]
    profile = sys.argv[sys.argv.index("--profile") + 1] if "--profile" in sys.argv else None
    home = sys.argv[sys.argv.index("--home") + 1]
    gemini = sys.argv[sys.argv.index("--gemini") + 1:][:3] if "--gemini" in sys.argv else None
    for var in ("CONFIG", "CACHE", "DATA"):
        os.environ[f"APIEDIT_{var}_DIR"] = os.path.join(home, var.lower())
    sys.path.insert(0, os.getcwd())
    import logging

    logging.disable(logging.WARNING)  # ComfyUI's import warnings (stubbed torchvision) are noise here
    _preload()
    import nodes

    loop = asyncio.get_event_loop()
    before = set(sys.modules)
    with tempfile.TemporaryDirectory() as tmp:
        if cold:
            sys.pycache_prefix = os.path.join(tmp, "pycache")  # no bytecode found, none written
            sys.dont_write_bytecode = True
        floor = os.path.join(tmp, "bench_floor_pack")
        os.mkdir(floor)
        with open(os.path.join(floor, "__init__.py"), "w", encoding="utf-8") as f:
            f.write(FLOOR_PACK)
        with open(os.path.join(floor, "pyproject.toml"), "w", encoding="utf-8") as f:
            f.write(FLOOR_PYPROJECT)
        ok_floor, floor_ms, floor_cpu = _timed(lambda: loop.run_until_complete(nodes.load_custom_node(floor)))
        def load() -> bool:
            return loop.run_until_complete(nodes.load_custom_node(repo))

        if profile:
            import cProfile

            profiler = cProfile.Profile()
            ok_pack, pack_ms, pack_cpu = _timed(lambda: profiler.runcall(load))
            profiler.dump_stats(profile)
        else:
            ok_pack, pack_ms, pack_cpu = _timed(load)
    if not (ok_floor and ok_pack and "APIImageEdit" in nodes.NODE_CLASS_MAPPINGS):
        raise SystemExit(f"a pack did not load (floor {ok_floor}, apiedit {ok_pack})")
    node = nodes.NODE_CLASS_MAPPINGS["APIImageEdit"]
    info, first_ms, first_cpu = _timed(node.GET_NODE_INFO_V1)
    _, second_ms, second_cpu = _timed(node.GET_NODE_INFO_V1)
    loaded = sorted(m for m in set(sys.modules) - before
                    if m.endswith((".wire", ".transport", ".client")) and not m.startswith("apiedit.")
                    or m.startswith(("google.genai", "openai")))
    host_at_start = "apiedit.host" in sys.modules
    warm_ms = live_info_ms = None
    if "--no-warm-up" not in sys.argv:
        # what ComfyUI's server start runs (an aiohttp on_startup handler the pack adds)
        from apiedit_comfy.schema_data import warm_up

        _, warm_ms, _ = _timed(lambda: warm_up().join())
        _, live_info_ms, _ = _timed(node.GET_NODE_INFO_V1)
    calls = _gemini_calls(gemini) if gemini else []
    print(json.dumps({
        "floor_load_ms": floor_ms, "floor_load_cpu_ms": floor_cpu,
        "pack_load_ms": pack_ms, "pack_load_cpu_ms": pack_cpu,
        "first_info_ms": first_ms, "first_info_cpu_ms": first_cpu,
        "second_info_ms": second_ms, "second_info_cpu_ms": second_cpu,
        "price_badge": bool(info.get("price_badge")), "info_bytes": len(json.dumps(info)),
        "loaded": loaded, "host_loaded_at_start": host_at_start, "warm_up_ms": warm_ms,
        "live_info_ms": live_info_ms, "gemini_calls_ms": calls,
    }))


def _gemini_calls(args: list[str]) -> list[float]:
    """Wall milliseconds of three identical Gemini edits, the first one first in the process."""
    from apiedit import EditRequest, ImageData
    from apiedit.host import default_host

    base_url, model, image = args
    with open(image, "rb") as f:
        request = EditRequest(model=model, prompt="make it evening", images=(ImageData(f.read()),))

    def call() -> None:
        result = default_host().edit("gemini", request, api_key="sk-SENTINEL-benchmark-0000",
                                     base_url=base_url)
        assert len(result.images) == 1

    return [_timed(call)[1] for _ in range(3)]


if __name__ == "__main__":
    main()
