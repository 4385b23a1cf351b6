"""The example workflows (`example_workflows/`) in a real ComfyUI and its real frontend.

Each is fetched from ComfyUI's template route for custom nodes (what its template browser opens),
loaded with `app.loadGraphData`, checked widget by widget, queued from the page against the Gemini
emulator and must save images; the conversation's turns must reach the provider in order, each
with the earlier ones as history. The checked-in files must be what
`scripts/example_workflows.py` makes from the running server's node schemas.
"""

from __future__ import annotations

import importlib.util
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from apiedit.testing.pytest_plugin import SENTINEL_KEY
from apiedit.testing.storybook import draw_portrait
from harness import REPO, ComfyServer, provider_env
from test_web_extension import CHROMIUM, Page, queue_from_the_page
from test_web_extension import browser, console_on_failure, renderer  # noqa: F401 (fixtures)

pytestmark = pytest.mark.comfyui

PACK = "apiedit"  # the pack's folder name under custom_nodes: the template route's module name
TEMPLATES = "/api/workflow_templates"


def _script() -> Any:
    spec = importlib.util.spec_from_file_location("example_workflows", REPO / "scripts" / "example_workflows.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


EXAMPLES = _script()
NAMES = list(EXAMPLES.SPECS)


@pytest.fixture(scope="module")
def server(pack_install, emulators, gemini, tmp_path_factory) -> Iterator[ComfyServer]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/test.sh installs Debian's chromium when run as root")
    extra_env = {**provider_env(emulators, SENTINEL_KEY), "GEMINI_API_KEY": SENTINEL_KEY,
                 "APIEDIT_GEMINI_BASE_URL": gemini.base_url,
                 "APIEDIT_CONFIG_DIR": str(tmp_path_factory.mktemp("apiedit-config"))}
    with ComfyServer(pack_install.env, REPO, extra_env=extra_env, pack_name=PACK) as comfy:
        comfy.upload_image(draw_portrait(), EXAMPLES.PICTURE)  # ComfyUI ships one in input/
        yield comfy


def test_the_checked_in_workflows_are_what_the_script_makes(server) -> None:
    if server.env.version != "0.3.75":
        pytest.skip("the files follow 0.3.75's flat node (the portable form); 0.33 loads them "
                    "through the web extension, which the next test proves")
    info = server.object_info()
    for name in NAMES:
        checked_in = (REPO / "example_workflows" / f"{name}.json").read_text()
        assert checked_in == EXAMPLES.text(EXAMPLES.build(name, info)), (
            f"{name}.json is out of date: run scripts/example_workflows.py")


def test_the_template_browser_lists_and_serves_them(server) -> None:
    listing = requests.get(server.url + TEMPLATES, timeout=10)
    listing.raise_for_status()
    assert sorted(listing.json()[PACK]) == sorted(NAMES)
    for name in NAMES:
        served = requests.get(f"{server.url}{TEMPLATES}/{PACK}/{name}.json", timeout=10)
        assert served.status_code == 200
        assert served.json() == json.loads((REPO / "example_workflows" / f"{name}.json").read_text())
        thumbnail = requests.get(f"{server.url}{TEMPLATES}/{PACK}/{name}.jpg", timeout=10)
        assert thumbnail.status_code == 200 and thumbnail.headers["content-type"] == "image/jpeg", name
        assert thumbnail.content[:3] == b"\xff\xd8\xff"  # a JPEG, as the browser's <img> expects


def widget_values(browser: Page) -> dict[int, dict[str, Any]]:
    values: dict[str, dict[str, Any]] = json.loads(browser.js("""() => JSON.stringify(Object.fromEntries(
        app.graph.nodes.map((n) => [n.id, Object.fromEntries((n.widgets ?? []).map((w) => [w.name, w.value]))])))"""))
    # 0.33's adaptive node names the model's knobs "model.<knob>": compare by the flat names
    return {int(k): {name.removeprefix("model."): value for name, value in v.items()}
            for k, v in values.items()}


@pytest.mark.parametrize("name", NAMES)
def test_each_example_loads_in_the_frontend_and_makes_images(browser, server, gemini, name) -> None:
    workflow = requests.get(f"{server.url}{TEMPLATES}/{PACK}/{name}.json", timeout=10).json()
    browser.js("async (wf) => { app.graph.clear(); await app.loadGraphData(wf); }", workflow)
    browser.settle()
    shown = widget_values(browser)
    expected = EXAMPLES.expected_widgets(name)
    assert sorted(shown) == sorted(expected)  # every node loaded (none is a missing node type)
    for node_id, values in expected.items():
        assert {k: shown[node_id].get(k) for k in values} == values, f"node {node_id}"
    edits = [i for i, n in enumerate(workflow["nodes"]) if n["type"] == "APIImageEdit"]
    assert not any("stores an API key" in line for line in browser.console)
    if browser.screenshots and not browser.nodes2:  # the template browser's thumbnail
        browser.fit_graph()
        browser.screenshot(f"example_workflows/{name}.jpg", width=640)

    # A new nonce per run: the server (and ComfyUI's cache, and the conversation) outlive a renderer.
    nonce = time.time_ns() % 2**31
    browser.js("""(nonce) => { for (const node of app.graph.nodes.filter((n) => n.type === "APIImageEdit")) {
        node.widgets.find((w) => w.name === "seed" || w.name === "model.seed").value = nonce;
        const name = node.widgets.find((w) => w.name === "conversation_name");
        if (name.value) name.value = `${name.value}-${nonce}`;
    } }""", nonce)
    calls = len(gemini.calls)
    entry = queue_from_the_page(browser, server)
    assert entry["status"]["status_str"] == "success", entry["status"]
    saves = [str(n["id"]) for n in workflow["nodes"] if n["type"] == "SaveImage"]
    for save in saves:
        (image,) = entry["outputs"][save]["images"]
        assert requests.get(server.url + "/view", params=image, timeout=10).content[:8] == b"\x89PNG\r\n\x1a\n"
    made = gemini.calls[calls:]
    assert len(made) == len(edits)  # one paid call per node
    prompts = [expected[workflow["nodes"][i]["id"]]["prompt"] for i in edits]
    assert sorted(c.prompt for c in made) == sorted(prompts)
    if name == "composition_3_images":
        assert len(made[0].images) == 3
    if name == "conversation_3_turns":
        assert [c.prompt for c in made] == EXAMPLES.TURNS  # in order: each waits for the one before
        assert [len(c.history) for c in made] == [0, 2, 4]  # the earlier turns, asked and answered
