"""Write the pack's example workflows (`example_workflows/*.json`) from the node schema.

ComfyUI lists every `custom_nodes/<pack>/example_workflows/*.json` in its template browser
(`GET /api/workflow_templates`, app/custom_node_manager.py in 0.3.75 and 0.33) and shows
`<name>.jpg` beside it as the thumbnail. The files are UI-format workflows, whose
`widgets_values` are positional: they follow the order in which the frontend makes a node's
widgets (its inputs in `input_order`, required then optional, each widget input once, a seed's
control right after it; LoadImage's upload button adds a value of its own). When the node's
inputs change, run this again:

    .venv/bin/python scripts/example_workflows.py                  # a ComfyUI from .cache/
    .venv/bin/python scripts/example_workflows.py --object-info URL_OR_FILE

The real-ComfyUI test (tests/comfyui/test_example_workflows.py) fails when a checked-in file
differs from what this script makes from the 0.3.75 server's `/object_info`.
The files follow the flat node of ComfyUI 0.3.x, the portable form: 0.3.75 loads it as it is,
and on 0.33 (adaptive inputs: the knobs live in the model's DynamicCombo) the web extension puts
each flat value back in its nested widget when the workflow loads.
Every model is Gemini's Nano Banana 2.1 (the README's conversation example; the default
provider), so a user sets one key; `example.png` is the picture ComfyUI ships in `input/`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "example_workflows"
PROVIDER, MODEL = "gemini", "gemini-nano-banana-2.1"
PICTURE = "example.png"  # in every ComfyUI's input/ folder
WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"}
EDIT_SIZE = [420, 760]

# One node: (id, type, pos, widget values by name). Links: (from id, output slot, to id, input name).
Node = tuple[int, str, list[int], dict[str, Any]]
Link = tuple[int, int, int, str]


def edit(node_id: int, x: int, prompt: str, **widgets: Any) -> Node:
    values = {"provider": PROVIDER, "model": MODEL, "prompt": prompt, "seed": 0,
              "conversation_mode": False, **widgets}
    return (node_id, "APIImageEdit", [x, 120], values)


def load(node_id: int, y: int) -> Node:
    return (node_id, "LoadImage", [40, y], {"image": PICTURE})


def save(node_id: int, x: int, prefix: str, y: int = 120) -> Node:
    return (node_id, "SaveImage", [x, y], {"filename_prefix": prefix})


def note(text: str) -> Node:
    return (99, "Note", [40, -250], {"text": text})


TURNS = ["make her smile", "add a flower in her hair", "change the background to a beach"]
SPECS: dict[str, tuple[list[Node], list[Link]]] = {
    "text_to_image": (
        [note("Text to image: no image connected. Set your Gemini key once with the node's "
              "'set API key…' button (it never goes into the workflow), then Run."),
         edit(1, 40, "a red fox sitting in fresh snow, watercolour"),
         save(2, 520, "apiedit/text_to_image")],
        [(1, 0, 2, "images")]),
    "single_edit": (
        [note("Edit one image: pick your picture in Load Image, write the change, Run."),
         load(1, 120),
         edit(2, 420, "make her smile"),
         save(3, 900, "apiedit/single_edit")],
        [(1, 0, 2, "image1"), (2, 0, 3, "images")]),
    "composition_3_images": (
        [note("Compose three images (in port order: image1, image2, image3; up to the model's "
              "limit). Pick your three pictures in the Load Image nodes, then Run."),
         load(1, -60), load(2, 330), load(3, 720),
         edit(4, 420, "put the person of image 1 and the cat of image 2 together in the scene "
                      "of image 3"),
         save(5, 900, "apiedit/composition")],
        [(1, 0, 4, "image1"), (2, 0, 4, "image2"), (3, 0, 4, "image3"), (4, 0, 5, "images")]),
    "conversation_3_turns": (
        [note("A three-turn conversation (the README's example): each node is the next turn of "
              "the conversation named 'portrait', and gets the previous turn's image, so the "
              "turns run in order. Gemini sees the earlier turns as history. Change a prompt "
              "and Run again to add turns; reset_conversation on the first node starts afresh.")
         , load(1, 120),
         edit(2, 420, TURNS[0], conversation_mode=True, conversation_name="portrait"),
         edit(3, 900, TURNS[1], conversation_mode=True, conversation_name="portrait"),
         edit(4, 1380, TURNS[2], conversation_mode=True, conversation_name="portrait"),
         save(5, 420, "apiedit/portrait-turn1", y=940), save(6, 900, "apiedit/portrait-turn2", y=940),
         save(7, 1380, "apiedit/portrait-turn3", y=940)],
        [(1, 0, 2, "image1"), (2, 0, 3, "image1"), (3, 0, 4, "image1"),
         (2, 0, 5, "images"), (3, 0, 6, "images"), (4, 0, 7, "images")]),
}


def widget_names(schema: dict[str, Any]) -> list[tuple[str, Any]]:
    """(name, default) of each value in a node's `widgets_values`, in the frontend's order."""
    order = schema.get("input_order") or {k: list(v) for k, v in schema["input"].items()}
    names: list[tuple[str, Any]] = []
    for section in ("required", "optional"):
        for name in order.get(section, []):
            kind, *rest = schema["input"][section][name]
            options = rest[0] if rest else {}
            combo = kind if isinstance(kind, list) else options.get("options") if kind == "COMBO" else None
            if not (combo is not None or kind in WIDGET_TYPES):
                continue  # a socket (IMAGE, MASK...): no widget
            default = options.get("default", combo[0] if combo else None)
            names.append((name, default))
            if options.get("control_after_generate"):
                names.append(("control_after_generate", "fixed"))
            if options.get("image_upload"):
                names.append(("upload", "image"))
    return names


def sockets(schema: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, type) of a node's connectable inputs, in order."""
    order = schema.get("input_order") or {k: list(v) for k, v in schema["input"].items()}
    return [(name, schema["input"][section][name][0])
            for section in ("required", "optional") for name in order.get(section, [])
            if isinstance(schema["input"][section][name][0], str)
            and schema["input"][section][name][0] not in WIDGET_TYPES]


def build(name: str, object_info: dict[str, Any]) -> dict[str, Any]:
    """The UI-format workflow `name`, for the node schemas in `object_info`."""
    spec_nodes, spec_links = SPECS[name]
    links = [[i, src, slot, dst, inp] for i, (src, slot, dst, inp) in enumerate(spec_links, start=1)]
    nodes: list[dict[str, Any]] = []
    for order, (node_id, kind, pos, values) in enumerate(spec_nodes):
        if kind == "Note":  # a frontend-only node: one text widget, never queued
            nodes.append({"id": node_id, "type": "Note", "pos": pos, "size": [860, 120], "flags": {},
                          "order": order, "mode": 0, "inputs": [], "outputs": [],
                          "properties": {"text": ""}, "widgets_values": [values["text"]],
                          "color": "#432", "bgcolor": "#653"})
            continue
        schema = object_info[kind]
        known = widget_names(schema)
        unknown = set(values) - {n for n, _ in known}
        if unknown:
            raise SystemExit(f"{name}: {kind} has no widget {sorted(unknown)}")
        inputs = []
        for socket, socket_type in sockets(schema):
            link = next((link[0] for link in links if link[3] == node_id and link[4] == socket), None)
            if socket_type == "IMAGE" or link is not None:
                inputs.append({"name": socket, "type": socket_type, "link": link})
        outputs = [{"name": out_name, "type": out_type, "slot_index": slot,
                    "links": [link[0] for link in links if link[1] == node_id and link[2] == slot]}
                   for slot, (out_name, out_type) in enumerate(zip(schema["output_name"], schema["output"]))]
        size = EDIT_SIZE if kind == "APIImageEdit" else [320, 320]
        node = {"id": node_id, "type": kind, "pos": pos, "size": size, "flags": {},
                "order": order, "mode": 0, "inputs": inputs, "outputs": outputs,
                "properties": {"Node name for S&R": kind},
                "widgets_values": [values.get(n, default) for n, default in known]}
        if not any(out["links"] for out in outputs):
            del node["outputs"]  # each version's own (SaveImage has an output on 0.33, none on 0.3.75)
        nodes.append(node)
    # a link's target slot is the index of the input in the target node's `inputs`
    by_id = {n["id"]: n for n in nodes}
    ui_links = []
    for link_id, src, slot, dst, inp in links:
        target = [i["name"] for i in by_id[dst]["inputs"]].index(inp)
        ui_links.append([link_id, src, slot, dst, target, by_id[src]["outputs"][slot]["type"]])
    return {"last_node_id": max(by_id), "last_link_id": len(links), "nodes": nodes, "links": ui_links,
            "groups": [], "config": {}, "extra": {}, "version": 0.4}


def expected_widgets(name: str) -> dict[int, dict[str, Any]]:
    """Per node id, the widget values by name the spec asks for (what a test checks after loading)."""
    return {node_id: values for node_id, _kind, _pos, values in SPECS[name][0]}


def text(workflow: dict[str, Any]) -> str:
    return json.dumps(workflow, indent=1, ensure_ascii=False) + "\n"


def _object_info(source: str | None) -> dict[str, Any]:
    if source and not source.startswith("http"):
        info: dict[str, Any] = json.loads(Path(source).read_text())
        return info
    import requests

    if source:
        answer = requests.get(source.rstrip("/") + "/object_info", timeout=60)
        answer.raise_for_status()
        return dict(answer.json())
    sys.path.insert(0, str(REPO / "tests" / "comfyui"))
    from harness import ComfyServer, ensure_installed

    with ComfyServer(ensure_installed(version="0.3.75"), REPO, pack_name="apiedit") as comfy:
        return comfy.object_info()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--object-info", help="a ComfyUI's URL or a saved /object_info JSON file "
                                              "(default: start the 0.3.75 ComfyUI of .cache/: the flat, portable node)")
    args = parser.parse_args(argv)
    info = _object_info(args.object_info)
    OUT.mkdir(exist_ok=True)
    for name in SPECS:
        (OUT / f"{name}.json").write_text(text(build(name, info)))
        print(OUT / f"{name}.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
