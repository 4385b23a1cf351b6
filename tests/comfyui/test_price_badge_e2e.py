"""The node's price: the badge ComfyUI 0.33's own frontend shows, and the info output's cost.

The badge's figures come from the plugins' price tables through core's `estimate_cost`
(`apiedit_comfy/price_badge.py`); here the real frontend evaluates the expression the server
sends, for a priced model, a model priced only between quality bounds, and unpriced models.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from apiedit.testing.pytest_plugin import SENTINEL_KEY
from harness import REPO, ComfyServer, provider_env

pytestmark = pytest.mark.comfyui

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# On 0.33 the knobs live in the model's DynamicCombo (adaptive inputs): "model.<knob>".
KNOBS = ("count", "size", "aspect_ratio", "resolution")
BADGE_WIDGETS = ["provider", "model", "model_override", *(f"model.{k}" for k in KNOBS)]


@pytest.fixture(scope="module")
def openrouter() -> Iterator[Any]:
    from apiedit_openrouter.emulator import OpenRouterEmulator

    emulator = OpenRouterEmulator().start()
    yield emulator
    emulator.stop()


@pytest.fixture(scope="module")
def server(pack_install, emulators, openrouter) -> Iterator[ComfyServer]:
    env = {**provider_env(emulators, SENTINEL_KEY), "OPENROUTER_API_KEY": SENTINEL_KEY,
           "APIEDIT_OPENROUTER_BASE_URL": openrouter.base_url}
    with ComfyServer(pack_install.env, REPO, extra_env=env, pack_name="apiedit") as comfy:
        yield comfy


def node_info(server: ComfyServer) -> dict[str, Any]:
    return server.object_info("APIImageEdit")["APIImageEdit"]


def is_033(server: ComfyServer) -> bool:
    return server.env.version == "0.33.0"


def test_object_info_carries_the_badge_on_033_and_none_on_0375(server) -> None:
    info = node_info(server)
    if not is_033(server):  # no PriceBadge in 0.3.75's comfy_api: the cost is in the info output
        assert info.get("price_badge") is None and not info.get("api_node")
        return
    assert info["api_node"] is True  # the frontend shows price badges on API nodes only
    badge = info["price_badge"]
    assert badge["engine"] == "jsonata"
    assert [w["name"] for w in badge["depends_on"]["widgets"]] == BADGE_WIDGETS
    assert {w["name"]: w["type"] for w in badge["depends_on"]["widgets"]}["model.count"] == "INT"
    expr = badge["expr"]
    assert '"gpt-image-1.5"' in expr and '"qwen/qwen-image"' in expr  # priced models' rows
    assert "price unknown" in expr and '"type": "usd"' not in expr  # never Comfy credits
    assert SENTINEL_KEY not in json.dumps(info)


def test_a_later_start_reads_the_stored_schema_data_and_only_under_its_own_key(pack_install, emulators) -> None:
    """ComfyUI builds both nodes' schemas while it loads the pack; from the second start on,
    their data (providers, model lists, knobs) and the badge's table come from apiedit's cache
    folder (`schema_data`), with no plugin loaded, and /object_info is the same as computed. A
    file written under another fingerprint (another plugin, model list, setting or day) is not
    used. On 0.3.75 (no price badges) the data is stored without a badge table."""
    env = provider_env(emulators, SENTINEL_KEY)
    nodes = ("APIImageEdit", "APIImageEditNode")
    with ComfyServer(pack_install.env, REPO, extra_env=env, pack_name="apiedit") as comfy:
        first = {n: comfy.object_info(n)[n] for n in nodes}
        [stored] = list(comfy.base.rglob("comfy-schema-data.json"))
        data = json.loads(stored.read_text(encoding="utf-8"))
        assert "gpt-image-1.5" in data["parts"]["schema"]["usable"]["openai"]
        assert SENTINEL_KEY not in stored.read_text(encoding="utf-8")
        comfy.restart()
        assert {n: comfy.object_info(n)[n] for n in nodes} == first
        if not is_033(comfy):
            assert first["APIImageEdit"].get("price_badge") is None
            assert "badge" not in json.loads(stored.read_text(encoding="utf-8"))["parts"]
            assert list(comfy.base.rglob("comfy-price-badge.json")) == []
            return
        computed = first["APIImageEdit"]["price_badge"]["expr"]
        data = json.loads(stored.read_text(encoding="utf-8"))
        marked = json.loads(json.dumps(data))
        entry = marked["parts"]["badge"]["table"]["openai"]["gpt-image-1.5"]
        entry["p"] = {k: [7.77, 7.77, "USD"] for k in entry["p"]}
        assert "7.77" not in computed
        stored.write_text(json.dumps(marked), encoding="utf-8")
        comfy.restart()
        assert "7.77" in node_info(comfy)["price_badge"]["expr"]  # read, not priced again

        stored.write_text(json.dumps({**marked, "key": "0" * 64}), encoding="utf-8")
        comfy.restart()
        assert node_info(comfy)["price_badge"]["expr"] == computed
        assert json.loads(stored.read_text(encoding="utf-8"))["key"] == data["key"]


def test_stale_stored_model_lists_are_replaced_once_the_server_is_up(pack_install, emulators) -> None:
    """Should a change slip past the fingerprint, the stored data does not outlive the start:
    by the time the server is up the live host has replaced it (the warm-up the server's start
    runs, `schema_data.warm_up`; on 0.33 already the load, whose price badge misses for the
    stale model list), so the page's /object_info and the next start list the live models."""
    env = provider_env(emulators, SENTINEL_KEY)
    with ComfyServer(pack_install.env, REPO, extra_env=env, pack_name="apiedit") as comfy:
        comfy.object_info("APIImageEdit")
        [stored] = list(comfy.base.rglob("comfy-schema-data.json"))
        planted = json.loads(stored.read_text(encoding="utf-8"))
        planted["parts"]["schema"]["usable"]["openai"].insert(0, "planted-model")
        stored.write_text(json.dumps(planted), encoding="utf-8")
        comfy.restart()
        deadline = time.monotonic() + 30
        while "planted-model" in json.dumps(json.loads(stored.read_text(encoding="utf-8"))["parts"]["schema"]):
            assert time.monotonic() < deadline, "the warm-up did not replace the stale data"
            time.sleep(0.2)
        assert "planted-model" not in json.dumps(comfy.object_info("APIImageEdit"))


# ---- the badge as 0.33's frontend shows it ------------------------------------------------------

@pytest.fixture(scope="module", params=["classic", "nodes2"])
def page(server, tmp_path_factory, request) -> Iterator[Any]:
    """0.33's page, with the classic canvas or Nodes 2.0 (Vue) rendering the nodes."""
    if not is_033(server):
        pytest.skip("ComfyUI 0.3.75 has no price badges (its node shows the cost once run)")
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/test.sh installs Debian's chromium when run as root")
    from playwright.sync_api import sync_playwright

    nodes2 = request.param == "nodes2"
    requests.post(server.url + "/settings/Comfy.TutorialCompleted", json=True, timeout=10).raise_for_status()
    requests.post(server.url + "/settings/Comfy.VueNodes.Enabled", json=nodes2, timeout=10).raise_for_status()
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=str(CHROMIUM),
            headless=True, args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 1000})
        try:
            tab = context.pages[0] if context.pages else context.new_page()
            tab.goto(server.url + "/", timeout=60_000)
            tab.wait_for_function("() => window.app?.graph && window.LiteGraph && "
                                  "LiteGraph.registered_node_types['APIImageEdit']", timeout=60_000)
            assert bool(tab.evaluate("() => LiteGraph.vueNodesMode ?? false")) == nodes2
            yield tab
        finally:
            context.close()


def adaptive_names(widgets: dict[str, Any]) -> dict[str, Any]:
    """The widgets as the adaptive node names them (knobs nested in the model), in the order a
    user sets them (provider, model, then the model's knobs); "" reads "provider default"."""
    return {(f"model.{k}" if k in KNOBS else k): ("provider default" if v == "" else v)
            for k, v in widgets.items()}


def badge_text(page: Any, widgets: dict[str, Any]) -> str:
    """A new node with these widget values; the text of its price badge once evaluated."""
    page.evaluate("""(values) => {
        for (const old of [...app.graph.nodes]) app.graph.remove(old);
        const node = LiteGraph.createNode("APIImageEdit");
        node.pos = [100, 100];
        app.graph.add(node);
        for (const [name, value] of Object.entries(values)) {
            const widget = node.widgets.find((w) => w.name === name);
            if (!widget) throw new Error(`no widget ${name}: ${node.widgets.map((w) => w.name)}`);
            widget.value = value;
            widget.callback?.(value, app.canvas, node);  // a DynamicCombo builds the model's knobs
        }
        window.__priced = node;
    }""", adaptive_names(widgets))
    end = time.monotonic() + 15
    texts: list[str] = []
    while time.monotonic() < end:
        # the frontend evaluates asynchronously, when the node's badges are read (each frame)
        texts = page.evaluate("""() => { app.canvas.setDirty(true, true); app.canvas.draw(true, true);
            return window.__priced.badges.map((b) => typeof b === "function" ? b() : b)
                .map((b) => b?.text ?? "").filter((t) => t); }""")
        priced = [t for t in texts if "$" in t or "price unknown" in t]
        if priced:
            if page.evaluate("() => LiteGraph.vueNodesMode ?? false"):
                assert shown_in_header(page) == priced[0]
            return priced[0]
        time.sleep(0.1)
    raise AssertionError(f"no price badge appeared; the node's badges: {texts}")


def shown_in_header(page: Any) -> str:
    """Nodes 2.0 draws the badge in the node's header as two spans (the text split at its first
    space): what a user reads there, once it is drawn."""
    node = page.locator(f'[data-node-id="{page.evaluate("() => window.__priced.id")}"]')
    first = node.locator('[data-testid="credit-badge-required"]')
    first.wait_for(state="visible", timeout=10_000)
    parts = [first.inner_text().strip()]
    rest = node.locator('[data-testid="credit-badge-rest"]')
    if rest.count():
        parts.append(rest.inner_text().strip())
    return " ".join(p for p in parts if p)


@pytest.mark.parametrize(("widgets", "text"), [
    ({"provider": "openai", "model": "gpt-image-1.5", "size": "1024x1536", "count": 2},
     "$0.026–$0.40 (2 × $0.013–$0.20), quality chosen by the provider"),
    ({"provider": "openai", "model": "gpt-image-1-mini", "size": "1024x1024", "count": 1},
     "$0.005–$0.036, quality chosen by the provider"),
    ({"provider": "modelscope", "model": "Qwen/Qwen-Image", "count": 3}, "≈ $0.00 (3 × $0.00)"),
    ({"provider": "openai", "model": "gpt-image-1.5", "size": "", "count": 1}, "price unknown"),
    ({"provider": "openai", "model": "gpt-image-2", "count": 1}, "price unknown"),
    ({"provider": "openrouter", "model": "google/gemini-3-pro-image", "count": 1}, "price unknown"),
    ({"provider": "modelscope", "model": "Qwen/Qwen-Image", "model_override": "someone/new-model",
      "count": 1}, "price unknown"),
])
def test_the_frontend_shows_the_tables_price_or_price_unknown(page, widgets, text) -> None:
    assert badge_text(page, widgets) == text


def test_the_badge_follows_the_widgets(page) -> None:
    assert badge_text(page, {"provider": "openai", "model": "gpt-image-1.5", "size": "1024x1024",
                             "count": 1}) == "$0.009–$0.133, quality chosen by the provider"
    page.evaluate("""() => { window.__priced.widgets.find((w) => w.name === "model.count").value = 4; }""")
    end, text = time.monotonic() + 10, ""
    while time.monotonic() < end and "4 ×" not in text:
        text = page.evaluate("""() => { app.canvas.draw(true, true);
            return window.__priced.badges.map((b) => typeof b === "function" ? b() : b)
                .map((b) => b?.text ?? "").find((t) => t.includes("$")) ?? ""; }""")
        time.sleep(0.1)
    assert text == "$0.036–$0.532 (4 × $0.009–$0.133), quality chosen by the provider"


# ---- the info output of a run --------------------------------------------------------------------

def run_info(server: ComfyServer, **inputs: Any) -> dict[str, Any]:
    edit = {"prompt": "a red fox", "seed": 1, "conversation_mode": False, **inputs}
    graph = {"10": {"class_type": "APIImageEdit", "inputs": edit},
             "30": {"class_type": "PreviewAny", "inputs": {"source": ["10", 2]}}}
    entry = server.wait(server.queue(graph), timeout=90)
    assert entry["status"]["status_str"] == "success", entry["status"]
    return json.loads(entry["outputs"]["30"]["text"][0])


def test_a_runs_info_has_the_estimated_cost_and_currency(server) -> None:
    free = run_info(server, provider="modelscope", model="Qwen/Qwen-Image", count=2)
    assert free["estimated_cost"] == 0.0 and free["currency"] == "USD"
    assert "ModelScope" in free["cost_basis"] and "reported_cost" not in free

    bounded = run_info(server, provider="openai", model="gpt-image-1.5", size="1024x1024")
    assert bounded["estimated_cost"] is None  # OpenAI picks the quality: no single figure
    assert bounded["estimated_cost_range"] == [0.009, 0.133] and bounded["currency"] == "USD"


def test_a_runs_info_carries_the_cost_the_provider_reported(server, openrouter) -> None:
    # the live list marks the models OpenRouter's Image API serves (its answer has usage.cost)
    refreshed = requests.get(server.url + "/api/comfy-apiedit/models",
                             params={"provider": "openrouter", "refresh": "1"}, timeout=30)
    refreshed.raise_for_status()
    info = run_info(server, provider="openrouter", model="google/gemini-3-pro-image")
    assert info["estimated_cost"] is None and info["currency"] == ""  # no table for OpenRouter
    assert info["cost_basis"].startswith("price unknown")
    assert info["reported_cost"] == pytest.approx(0.039) and info["reported_currency"] == "USD"


def test_the_text_under_the_node_ends_with_the_runs_cost_on_every_version(server) -> None:
    # 0.3.75 has no price badge: this line is where its users see the price
    edit = {"provider": "openai", "model": "gpt-image-1.5", "prompt": "a priced fox", "seed": 3,
            "conversation_mode": False, "size": "1536x1024", "count": 2}
    graph = {"10": {"class_type": "APIImageEdit", "inputs": edit},
             "30": {"class_type": "PreviewAny", "inputs": {"source": ["10", 2]}}}
    texts = [text for node, text in server.run_texts(graph) if node == "10"]
    assert texts[-1] == ("openai: received 2 image(s); estimated cost $0.026–$0.40 "
                         "(2 × $0.013–$0.20), quality chosen by the provider")

