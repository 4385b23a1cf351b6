"""The pack's web extension (`apiedit.js`) in ComfyUI's real frontend, in headless Chromium.

ComfyUI serves its own frontend package; the node is added to the graph in the page and used the
way a user does: the provider is picked from the combo's real context menu and the buttons are
clicked with the mouse on the canvas. The model routes answer from the OpenAI and ModelScope
emulators (no network). Debian's /usr/bin/chromium is driven by the `playwright` package (its own
browser download is never used).
"""

from __future__ import annotations

import json
import os
import re
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
PAGE_TIMEOUT_MS = 60_000  # first load of the frontend (a few seconds here)
WAIT_MS = 15_000  # anything the extension does after a click
BUTTONS = ["refresh models", "set API key…", "trust base URL…"]
RENDERERS = ["classic", "nodes2"]  # Comfy.VueNodes.Enabled false / true
WEB_KEY = "sk-webui-SENTINEL-7f3a9c51"
ROUTES = "/api/comfy-apiedit"  # the pack's routes as the page must call them (a proxy forwards /api/*)
ANY_MODEL = "(any model: type its id in Model override)"  # the adaptive model input's catch-all


# ---- fixtures -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(pack_install, emulators, tmp_path_factory) -> Iterator[ComfyServer]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/test.sh installs Debian's chromium when run as root")
    extra_env = {**provider_env(emulators, SENTINEL_KEY),
                 "APIEDIT_CONFIG_DIR": str(tmp_path_factory.mktemp("apiedit-config"))}
    with ComfyServer(pack_install.env, REPO, extra_env=extra_env, pack_name="apiedit") as comfy:
        # Fetch both emulated lists now, so the lists the page gets are the ones compared below.
        for provider in ("openai", "modelscope"):
            route_models(comfy, provider, refresh=True)
        yield comfy


class Page:
    """The ComfyUI page, with what it logged, requested and asked in dialogs."""

    def __init__(self, page: Any, nodes2: bool = False, version: str = "") -> None:
        self.page = page
        self.nodes2 = nodes2  # the page renders nodes with Nodes 2.0 (Vue) instead of the canvas
        # $APIEDIT_SCREENSHOTS: where the docs' screenshots and the example workflows' thumbnails
        # are written (on 0.33, the version users run; the README shows them)
        shots = os.environ.get("APIEDIT_SCREENSHOTS")
        self.screenshots = Path(shots) if shots and version == "0.33.0" else None
        self.console: list[str] = []
        self.requests: list[str] = []
        self.pending: set[Any] = set()
        self.dialogs: list[tuple[str, str]] = []
        self.prompt_answer: str | None = None
        self.adaptive = False  # the node has 0.33's adaptive model input (set once loaded)
        page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))
        page.on("request", self._started)
        page.on("requestfinished", lambda r: self.pending.discard(r))
        page.on("requestfailed", lambda r: self.pending.discard(r))
        page.on("dialog", self._dialog)

    def _started(self, request: Any) -> None:
        if re.search(r"apiedit/(models|keys|providers)", request.url):  # e.g. /api/comfy-apiedit/keys
            self.requests.append("/" + request.url.split("/", 3)[-1])
            self.pending.add(request)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append((dialog.type, dialog.message))
        if dialog.type == "prompt" and self.prompt_answer is not None:
            dialog.accept(self.prompt_answer)
        elif dialog.type == "prompt":
            dialog.dismiss()
        else:
            dialog.accept()

    def js(self, code: str, arg: Any = None) -> Any:
        return self.page.evaluate(code, arg)

    def wait_for(self, code: str, arg: Any = None, timeout: int = WAIT_MS) -> None:
        self.page.wait_for_function(code, arg=arg, timeout=timeout)

    def settle(self, timeout: float = WAIT_MS / 1000) -> None:
        """Wait until no request to the pack's routes is in flight (events run while waiting)."""
        end = time.monotonic() + timeout
        self.page.wait_for_timeout(50)
        while self.pending and time.monotonic() < end:
            self.page.wait_for_timeout(50)
        assert not self.pending, f"still pending: {[r.url for r in self.pending]}"

    def fit_graph(self, margin: float = 40, left: float = 70, top: float = 100) -> None:
        """Scale and scroll the canvas so that every node is in view (`left` and `top` clear the
        frontend's side bar and menus)."""
        self.js("""([margin, left, top]) => {
            const nodes = app.graph.nodes, ds = app.canvas.ds, canvas = app.canvas.canvas;
            const x0 = Math.min(...nodes.map((n) => n.pos[0])), y0 = Math.min(...nodes.map((n) => n.pos[1] - 30));
            const x1 = Math.max(...nodes.map((n) => n.pos[0] + n.size[0]));
            const y1 = Math.max(...nodes.map((n) => n.pos[1] + n.size[1]));
            const rect = canvas.getBoundingClientRect();
            ds.scale = Math.min(1, (rect.width - left - margin) / (x1 - x0),
                                (rect.height - top - margin) / (y1 - y0));
            ds.offset = [left / ds.scale - x0, top / ds.scale - y0];
            app.canvas.setDirty(true, true);
            app.canvas.draw(true, true);
        }""", [margin, left, top])
        self.page.wait_for_timeout(500)  # Nodes 2.0 moves its DOM nodes on the next frames

    def screenshot(self, relative: str, width: int | None = None, element: Any = None,
                   clip: dict[str, float] | None = None) -> Path | None:
        """Save the page (or `element`, or the `clip` rectangle) under $APIEDIT_SCREENSHOTS as
        PNG or JPEG (by suffix), scaled down to `width`; nothing without it."""
        if self.screenshots is None:
            return None
        from io import BytesIO

        from PIL import Image

        target = self.screenshots / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shot = element.screenshot(type="png") if element else self.page.screenshot(type="png", clip=clip)
        picture = Image.open(BytesIO(shot)).convert("RGB")
        if width and picture.width > width:
            picture = picture.resize((width, round(picture.height * width / picture.width)), Image.LANCZOS)
        if target.suffix == ".jpg":
            picture.save(target, "JPEG", quality=82, optimize=True)
        else:
            picture.quantize(256).save(target, "PNG", optimize=True)  # modest size for the docs
        return target

    def screenshot_node(self, node_id: int, relative: str) -> Path | None:
        """The node as the page shows it (with a margin), under $APIEDIT_SCREENSHOTS."""
        if self.screenshots is None:
            return None
        self.fit_graph(left=120, top=120)
        if self.nodes2:  # a DOM element of its own
            return self.screenshot(relative, element=self.page.locator(f'[data-node-id="{node_id}"]'))
        clip = self.js("""(id) => {
            const node = app.graph.getNodeById(id), ds = app.canvas.ds, canvas = app.canvas.canvas;
            const rect = canvas.getBoundingClientRect(), title = LiteGraph.NODE_TITLE_HEIGHT;
            const [x0, y0] = ds.convertOffsetToCanvas([node.pos[0], node.pos[1] - title]);
            const [x1, y1] = ds.convertOffsetToCanvas([node.pos[0] + node.size[0], node.pos[1] + node.size[1]]);
            const sx = rect.width / canvas.width, sy = rect.height / canvas.height, m = 12;
            return {x: rect.left + x0 * sx - m, y: rect.top + y0 * sy - m,
                    width: (x1 - x0) * sx + 2 * m, height: (y1 - y0) * sy + 2 * m};
        }""", node_id)
        return self.screenshot(relative, clip=clip)

    # the node, shown on the canvas and used with the mouse
    def new_node(self) -> int:
        # Remove the nodes instead of app.graph.clear(): clear() restarts the node ids, and the
        # Nodes 2.0 renderer (frontend 1.49) keeps widget state per node id, so a new node 1
        # would show the old node 1's values and a pick of the same value would not fire.
        node_id: int = self.js("""() => {
            for (const old of [...app.graph.nodes]) app.graph.remove(old);
            const node = LiteGraph.createNode("APIImageEdit");
            node.pos = [100, 100];
            app.graph.add(node);
            return node.id;
        }""")
        return node_id

    def widget_point(self, node_id: int, name: str) -> tuple[float, float]:
        """Client coordinates of a widget's centre, after scrolling the node into a fixed place."""
        x, y = self.js("""([id, name]) => {
            const node = app.graph.getNodeById(id);
            const ds = app.canvas.ds;
            ds.scale = 0.8;
            ds.offset = [400 / ds.scale - node.pos[0], 150 / ds.scale - node.pos[1]];
            app.canvas.setDirty(true, true);
            app.canvas.draw(true, true);  // lays the widgets out (sets widget.y)
            const w = node.widgets.find((w) => w.name === name);
            const height = w.computedHeight ?? LiteGraph.NODE_WIDGET_HEIGHT;
            const [cx, cy] = ds.convertOffsetToCanvas(
                [node.pos[0] + node.size[0] / 2, node.pos[1] + w.y + height / 2]);
            const canvas = app.canvas.canvas, rect = canvas.getBoundingClientRect();
            return [rect.left + cx * rect.width / canvas.width, rect.top + cy * rect.height / canvas.height];
        }""", [node_id, name])
        return x, y

    def click_widget(self, node_id: int, name: str) -> None:
        if self.nodes2:  # Nodes 2.0: every widget is a DOM element of the node, named by its label
            label = self.js("""([id, name]) => { const w = app.graph.getNodeById(id).widgets
                .find((w) => w.name === name); return w?.label ?? name; }""", [node_id, name])
            node = self.page.locator(f'[data-node-id="{node_id}"]')
            combo = node.locator(f'button[role="combobox"][aria-label="{label}"]')
            target = combo if combo.count() else node.get_by_role("button", name=label, exact=True)
            target.click(timeout=WAIT_MS)
            return
        x, y = self.widget_point(node_id, name)
        self.page.wait_for_timeout(100)  # a frame drawn at the new place
        self.page.mouse.move(x, y)
        self.page.wait_for_timeout(100)
        self.page.mouse.down()
        self.page.mouse.up()

    def pick(self, node_id: int, name: str, value: str) -> None:
        """Open the combo's menu with a click and click `value` in it, as a user does.

        A click that lands while the canvas is still laying the node out opens no menu (seen
        once in CI on 0.33 classic); like a user, click the widget again, up to three times."""
        if self.nodes2:
            option = self.page.locator(f'[role="listbox"] [role="option"][textvalue="{value}"]')
        else:
            option = self.page.locator(f'.litecontextmenu .litemenu-entry[data-value="{value}"]')
        for attempt in range(3):
            self.click_widget(node_id, name)
            try:
                option.wait_for(state="visible", timeout=WAIT_MS // 3)
                break
            except Exception as exc:
                if "Timeout" not in type(exc).__name__ or attempt == 2:
                    raise
                self.page.keyboard.press("Escape")
                self.page.wait_for_timeout(300)
        option.click(timeout=WAIT_MS)

    def saved_workflow(self) -> dict[str, Any]:
        """The workflow as the frontend saves it (through JSON: 0.33 returns reactive objects
        that do not pass to Python as they are)."""
        saved: dict[str, Any] = json.loads(self.js("() => JSON.stringify(app.graph.serialize())"))
        return saved

    def widgets(self, node_id: int) -> dict[str, Any]:
        values: dict[str, Any] = self.js("""(id) => Object.fromEntries(app.graph.getNodeById(id).widgets
            .map((w) => [w.name, {value: w.value, values: w.options?.values ?? null}]))""", node_id)
        return values

    def offered(self, ids: list[str]) -> list[str]:
        """What the model widget lists for a provider whose route lists `ids`: on the adaptive
        node, the catch-all option for a typed id comes last."""
        return [*ids, ANY_MODEL] if self.adaptive else list(ids)

    def wait_for_models(self, node_id: int, ids: list[str]) -> None:
        """Wait until the model widget lists exactly `ids`; else fail showing what it lists."""
        ids = self.offered(ids)
        try:
            self.wait_for("""([id, ids]) => {
                const w = app.graph.getNodeById(id).widgets.find((w) => w.name === "model");
                return JSON.stringify(w.options.values) === JSON.stringify(ids);
            }""", [node_id, ids])
        except Exception as exc:
            if "Timeout" not in type(exc).__name__:
                raise
            widgets = self.widgets(node_id)
            shown = {name: widgets[name] for name in ("provider", "model")}
            raise AssertionError(f"the model list never became {ids}; the node shows {shown}") from None


@pytest.fixture(scope="module", params=RENDERERS)
def renderer(request: pytest.FixtureRequest) -> str:
    """The node renderer of the page: the classic canvas, or Nodes 2.0 (0.33's frontend only;
    the 0.3.75 + nodes2 combination is deselected in conftest.py)."""
    return str(request.param)


@pytest.fixture(scope="module")
def browser(server, renderer, tmp_path_factory) -> Iterator[Page]:
    from playwright.sync_api import sync_playwright

    # A first visit opens the template browser over the canvas; a returning user sees the canvas.
    requests.post(server.url + "/settings/Comfy.TutorialCompleted", json=True, timeout=10).raise_for_status()
    nodes2 = renderer == "nodes2"
    requests.post(server.url + "/settings/Comfy.VueNodes.Enabled", json=nodes2,
                  timeout=10).raise_for_status()
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=str(CHROMIUM),
            headless=True, args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 1000})
        try:
            page = Page(context.pages[0] if context.pages else context.new_page(), nodes2,
                        server.env.version)
            started = time.monotonic()
            page.page.goto(server.url + "/", timeout=PAGE_TIMEOUT_MS)
            try:
                page.wait_for("() => window.app?.graph && window.LiteGraph && "
                              "LiteGraph.registered_node_types['APIImageEdit']", timeout=PAGE_TIMEOUT_MS)
            except Exception:
                print("\n".join(page.console))
                raise
            print(f"\nComfyUI frontend ready in {time.monotonic() - started:.1f} s")
            assert bool(page.js("() => LiteGraph.vueNodesMode ?? false")) == nodes2, renderer
            page.adaptive = bool(page.js("() => LiteGraph.registered_node_types['APIImageEdit']"
                                         ".nodeData.input.required.model[0] === 'COMFY_DYNAMICCOMBO_V3'"))
            yield page
        finally:
            context.close()


@pytest.fixture(autouse=True)
def console_on_failure(browser: Page, emulators) -> Iterator[None]:
    """Shown by pytest only when the test fails: what the page logged meanwhile."""
    for emulator in emulators.values():
        emulator.reset()
    first = len(browser.console)
    browser.requests.clear()
    yield
    print("browser console:\n" + "\n".join(browser.console[first:]))
    print("pack requests: " + json.dumps(browser.requests))


def route_models(server: ComfyServer, provider: str, refresh: bool = False) -> list[str]:
    params = {"provider": provider, **({"refresh": "1"} if refresh else {})}
    answer = requests.get(server.url + ROUTES + "/models", params=params, timeout=30)
    answer.raise_for_status()
    body = answer.json()
    ids = [m["id"] for m in body["models"] if not m["retired"] and m["available"] is not False]
    return sorted(ids, key=lambda i: i != body["default"])  # what the extension offers: default first


# ---- tests --------------------------------------------------------------------------------------

def test_picking_a_provider_reloads_the_model_list_from_the_route(browser, server) -> None:
    openai, modelscope = route_models(server, "openai"), route_models(server, "modelscope")
    assert openai and modelscope and not set(openai) & set(modelscope)
    node = browser.new_node()
    browser.settle()
    first = browser.widgets(node)
    assert first["provider"]["value"] not in ("openai", "modelscope")  # the default (gemini)
    assert first["model"]["values"] == browser.offered(route_models(server, first["provider"]["value"]))

    browser.pick(node, "provider", "openai")
    browser.wait_for_models(node, openai)
    assert browser.widgets(node)["model"]["value"] == openai[0]

    browser.pick(node, "provider", "modelscope")
    browser.wait_for_models(node, modelscope)
    browser.settle()
    widgets = browser.widgets(node)
    assert widgets["provider"]["value"] == "modelscope"
    assert widgets["model"]["value"] == modelscope[0]
    assert f"{ROUTES}/models?provider=openai" in browser.requests
    assert browser.requests[-1] == f"{ROUTES}/models?provider=modelscope"
    saved = browser.saved_workflow()["nodes"][0]
    assert saved["widgets_values"][:2] == ["modelscope", modelscope[0]]
    browser.screenshot_node(node, f"docs/screenshots/node-{'nodes2' if browser.nodes2 else 'classic'}.png")


def test_refresh_button_asks_the_provider_and_keeps_the_chosen_model(browser, server, emulators) -> None:
    openai = route_models(server, "openai")
    node = browser.new_node()
    browser.pick(node, "provider", "openai")
    browser.wait_for_models(node, openai)
    browser.pick(node, "model", openai[1])
    browser.settle()
    before = len(emulators["openai"].requests_to("/models"))

    browser.click_widget(node, "refresh models")
    browser.settle()
    assert browser.requests[-1] == f"{ROUTES}/models?provider=openai&refresh=1"
    assert len(emulators["openai"].requests_to("/models")) == before + 1
    widgets = browser.widgets(node)
    assert widgets["model"]["values"] == browser.offered(route_models(server, "openai"))
    assert widgets["model"]["value"] == openai[1]


def test_a_failed_refresh_is_shown_with_its_reason_and_the_list_stays(browser, server, emulators) -> None:
    openai = route_models(server, "openai")
    node = browser.new_node()
    browser.pick(node, "provider", "openai")
    browser.wait_for_models(node, openai)
    browser.settle()
    before = len(browser.dialogs)
    emulators["openai"].valid_keys = {"sk-another-key"}
    try:
        browser.click_widget(node, "refresh models")
        end = time.monotonic() + 15
        while len(browser.dialogs) == before and time.monotonic() < end:
            browser.page.wait_for_timeout(50)  # lets Playwright deliver the dialog event
    finally:
        emulators["openai"].valid_keys = None
    assert browser.requests[-1] == f"{ROUTES}/models?provider=openai&refresh=1"
    kind, message = browser.dialogs[-1]
    assert kind == "alert" and "openai: the model list could not be refreshed" in message
    assert "rejected the API key" in message
    assert browser.widgets(node)["model"]["values"] == browser.offered(openai)


def open_key_dialog(browser: Page, node: int) -> Any:
    """Click the node's key button; the pack's modal key dialog (a locator on it) opens."""
    browser.click_widget(node, "set API key…")
    dialog = browser.page.locator("dialog.apiedit-key-dialog[open]")
    dialog.wait_for(state="visible", timeout=WAIT_MS)
    return dialog


def shown_states(dialog: Any) -> dict[str, str]:
    """Each provider row's state text, as the dialog shows it."""
    states: dict[str, str] = dialog.evaluate("""(d) => Object.fromEntries([...d.querySelectorAll("tr[data-provider]")]
        .map((row) => [row.dataset.provider, row.querySelector(".state").textContent]))""")
    return states


def expected_state(state: dict[str, Any]) -> str:
    if not state["set"]:
        return "not set" if state["needs_key"] else "no key needed"
    if state["source"].startswith("env:"):
        return f"set (environment variable {state['source'][4:]}, used before a key saved here)"
    return "set"


def test_key_button_sends_the_key_to_the_server_and_nowhere_else(browser, server) -> None:
    status = requests.get(server.url + ROUTES + "/keys", timeout=10).json()
    unset = [provider for provider, state in status.items() if not state["set"]]
    assert unset, status
    provider = unset[0]
    node = browser.new_node()
    if browser.widgets(node)["provider"]["value"] != provider:
        browser.pick(node, "provider", provider)
    browser.settle()
    alerts = len(browser.dialogs)

    dialog = open_key_dialog(browser, node)
    assert shown_states(dialog) == {pid: expected_state(state) for pid, state in status.items()}
    field = dialog.locator(f'tr[data-provider="{provider}"] input')
    assert field.get_attribute("type") == "password"  # the key is dots while it is typed
    assert field.evaluate("(f) => document.activeElement === f")  # the node's provider, ready to type
    browser.page.keyboard.type(WEB_KEY)
    assert field.input_value() == WEB_KEY
    if not browser.nodes2:  # the typed key shows as dots
        browser.screenshot("docs/screenshots/key-dialog.png", element=dialog)
    browser.page.keyboard.press("Enter")
    message = dialog.locator(".message")
    message.filter(has_text=f"{provider}: key set").wait_for(timeout=WAIT_MS)
    browser.settle()
    assert shown_states(dialog)[provider] == "set"
    assert field.input_value() == ""  # the typed key left the page with the request
    assert f"{ROUTES}/keys" in browser.requests

    status = requests.get(server.url + ROUTES + "/keys", timeout=10).json()
    assert status[provider]["set"] is True and status[provider]["source"] == "file"
    assert WEB_KEY not in json.dumps(status)
    key_files = list(Path(server.extra_env["APIEDIT_CONFIG_DIR"]).rglob("keys.json"))
    assert len(key_files) == 1 and WEB_KEY in key_files[0].read_text()  # the real key arrived

    dialog.get_by_role("button", name="Close").click()
    browser.page.locator("dialog.apiedit-key-dialog").wait_for(state="detached", timeout=WAIT_MS)
    assert len(browser.dialogs) == alerts  # no browser prompt or alert any more
    workflow = browser.js("() => JSON.stringify(app.graph.serialize())")
    prompt = browser.js("async () => JSON.stringify(await app.graphToPrompt())")
    storage = browser.js("() => JSON.stringify([{...localStorage}, {...sessionStorage}])")
    page = browser.js("() => document.documentElement.outerHTML")
    for text in (workflow, prompt, storage, page, "\n".join(browser.console)):
        assert WEB_KEY not in text and SENTINEL_KEY not in text
    assert f'"{provider}"' in workflow  # the node is in what was searched


def test_key_dialog_shows_where_a_key_comes_from_and_removes_a_saved_one(browser, server) -> None:
    status = requests.get(server.url + ROUTES + "/keys", timeout=10).json()
    assert status["openai"]["source"] == "env:OPENAI_API_KEY"  # the test server's emulator key
    saved = next(pid for pid, state in status.items() if not (state["source"] or "").startswith("env:"))
    requests.post(server.url + ROUTES + "/keys", json={"provider": saved, "api_key": "sk-remove-me-SENTINEL"},
                  timeout=10).raise_for_status()
    node = browser.new_node()
    browser.settle()
    dialog = open_key_dialog(browser, node)
    assert shown_states(dialog)["openai"] == expected_state(status["openai"])
    assert shown_states(dialog)[saved] == "set"
    env_row, saved_row = (dialog.locator(f'tr[data-provider="{p}"]') for p in ("openai", saved))
    assert not env_row.get_by_role("button", name="Remove").is_visible()  # only a saved key can go
    saved_row.get_by_role("button", name="Remove").click()
    dialog.locator(".message").filter(has_text=f"{saved}: key removed").wait_for(timeout=WAIT_MS)
    browser.settle()
    assert shown_states(dialog)[saved] in ("not set", "no key needed")
    assert not saved_row.get_by_role("button", name="Remove").is_visible()
    assert requests.get(server.url + ROUTES + "/keys", timeout=10).json()[saved]["set"] is False
    browser.page.keyboard.press("Escape")  # closes the dialog like any dialog
    browser.page.locator("dialog.apiedit-key-dialog").wait_for(state="detached", timeout=WAIT_MS)


def test_trust_button_trusts_the_nodes_base_url_and_sends_nothing_there(browser, server, emulators) -> None:
    from apiedit_openai.emulator import OpenAIEmulator

    relay = OpenAIEmulator().start()
    try:
        node = browser.new_node()
        browser.pick(node, "provider", "openai")
        # the reload switches the model, and on the adaptive node its knobs: click once laid out
        browser.wait_for_models(node, route_models(server, "openai"))
        browser.settle()
        browser.js("([id, url]) => { const n = app.graph.getNodeById(id);"
                   " n.widgets.find((w) => w.name === 'base_url').value = url; }", [node, relay.base_url])
        browser.prompt_answer = relay.base_url  # the dialog is prefilled; the user confirms it
        try:
            browser.click_widget(node, "trust base URL…")
            end = time.monotonic() + WAIT_MS / 1000
            while not (browser.dialogs and browser.dialogs[-1][0] == "alert") and time.monotonic() < end:
                browser.page.wait_for_timeout(50)
        finally:
            browser.prompt_answer = None
        kind, text = browser.dialogs[-1]
        assert (kind, text) == ("alert", f"openai: trusted {relay.base_url}"), browser.dialogs
        assert browser.dialogs[-2][0] == "prompt" and "send your openai key to it" in browser.dialogs[-2][1]
        status = requests.get(server.url + ROUTES + "/keys", timeout=10).json()
        assert status["openai"]["trusted_base_urls"] == [relay.base_url]
        assert f"{ROUTES}/keys/trust" in browser.requests
        assert relay.requests == []  # trusting sends nothing to the relay
    finally:
        requests.post(server.url + ROUTES + "/keys/trust", timeout=10,
                      json={"provider": "openai", "base_url": relay.base_url, "trusted": False})
        relay.stop()


def saved_openai_workflow(browser: Page, openai: list[str], model: str) -> tuple[int, dict[str, Any]]:
    node = browser.new_node()
    browser.pick(node, "provider", "openai")
    browser.wait_for_models(node, openai)
    browser.pick(node, "model", model)
    browser.settle()
    saved = browser.saved_workflow()
    return node, saved


def test_buttons_are_in_neither_the_workflow_nor_the_prompt(browser, server) -> None:
    openai = route_models(server, "openai")
    node, saved = saved_openai_workflow(browser, openai, openai[2])
    names = browser.js("(id) => app.graph.getNodeById(id).widgets.map((w) => w.name)", node)
    assert names[-len(BUTTONS):] == BUTTONS
    values = saved["nodes"][0]["widgets_values"]
    live = [w["value"] for name, w in browser.widgets(node).items() if name not in BUTTONS]
    assert values == live and len(values) == len(names) - len(BUTTONS)
    inputs = browser.js("async () => (await app.graphToPrompt()).output")[str(node)]["inputs"]
    assert not set(BUTTONS) & set(inputs), sorted(inputs)
    assert (inputs["provider"], inputs["model"]) == ("openai", openai[2])


def test_a_saved_workflow_loads_with_its_provider_and_model(browser, server) -> None:
    # The node is created with the default provider (gemini), whose list is requested before the
    # saved values are applied: that answer must not replace the saved provider's list or model.
    openai = route_models(server, "openai")
    _node, saved = saved_openai_workflow(browser, openai, openai[2])
    browser.js("async (saved) => { app.graph.clear(); await app.loadGraphData(saved); }", saved)
    loaded = browser.js("() => app.graph.nodes[0].id")
    browser.wait_for_models(loaded, openai)
    browser.settle()
    widgets = browser.widgets(loaded)
    assert (widgets["provider"]["value"], widgets["model"]["value"]) == ("openai", openai[2])
    assert widgets["model"]["values"] == browser.offered(openai)
    again = browser.saved_workflow()["nodes"][0]["widgets_values"]
    assert again == saved["nodes"][0]["widgets_values"]


def queue_from_the_page(browser: Page, server: ComfyServer) -> dict[str, Any]:
    """Queue the page's workflow as the Run button does; wait for its history entry."""
    before = set(requests.get(server.url + "/history", timeout=10).json())
    browser.js("async () => { await app.queuePrompt(0, 1); }")
    end = time.monotonic() + 60
    while time.monotonic() < end:
        new = {k: v for k, v in requests.get(server.url + "/history", timeout=10).json().items()
               if k not in before}
        for entry in new.values():
            if entry.get("status", {}).get("completed") or entry.get("status", {}).get("status_str") == "error":
                return entry
        time.sleep(0.2)
    raise AssertionError("the queued workflow never finished")


def test_a_new_node_has_a_fixed_seed_so_running_again_does_not_pay_again(browser, server, emulators) -> None:
    openai = route_models(server, "openai")
    node = browser.new_node()
    browser.pick(node, "provider", "openai")
    browser.wait_for_models(node, openai)
    browser.settle()
    seed_name = "model.seed" if browser.adaptive else "seed"
    if browser.adaptive:  # the default OpenAI model takes no seed: neither it nor a control shows
        assert not {"model.seed", "control_after_generate"} & set(browser.widgets(node))
    else:
        assert browser.widgets(node)["control_after_generate"]["value"] == "fixed"
    # a prompt no earlier run used: ComfyUI's cache outlives the page (one server per module)
    prompt = f"a lighthouse, queued twice ({time.time_ns()})"
    browser.js("""([id, prompt]) => {
        const node = app.graph.getNodeById(id);
        node.widgets.find((w) => w.name === "prompt").value = prompt;
        const save = LiteGraph.createNode("SaveImage");
        save.pos = [600, 100];
        app.graph.add(save);
        node.connect(0, save, 0);
    }""", [node, prompt])
    seed = browser.widgets(node).get(seed_name, {}).get("value")
    first = queue_from_the_page(browser, server)
    second = queue_from_the_page(browser, server)
    assert first["status"]["status_str"] == second["status"]["status_str"] == "success"
    assert browser.widgets(node).get(seed_name, {}).get("value") == seed
    assert emulators["openai"].billable_count == 1


ORIGINAL_KEY = "ms-original-SENTINEL-0c4e"  # what a workflow of the original pack stored


def original_workflow(prompt: str) -> dict[str, Any]:
    """A workflow as the original pack (1.0.5) saved it: APIImageEditNode -> SaveImage, with the
    key in its `api_key` widget. widgets_values follow the original's input order (the seed
    widget is followed by its control)."""
    return {
        "last_node_id": 2, "last_link_id": 1, "version": 0.4, "groups": [], "config": {}, "extra": {},
        "links": [[1, 1, 0, 2, 0, "IMAGE"]],
        "nodes": [
            {"id": 1, "type": "APIImageEditNode", "pos": [100, 100], "size": [400, 600], "flags": {},
             "order": 0, "mode": 0,
             "inputs": [{"name": f"image{i}", "type": "IMAGE", "link": None} for i in range(1, 5)],
             "outputs": [{"name": "edited_image", "type": "IMAGE", "links": [1]},
                         {"name": "response_text", "type": "STRING", "links": None}],
             "properties": {"Node name for S&R": "APIImageEditNode"},
             "widgets_values": ["ModelScope", ORIGINAL_KEY, "Qwen/Qwen-Image", prompt, "single", 1,
                                5, "fixed", "", "", False, "", ""]},
            {"id": 2, "type": "SaveImage", "pos": [600, 100], "size": [300, 300], "flags": {},
             "order": 1, "mode": 0, "inputs": [{"name": "images", "type": "IMAGE", "link": 1}],
             "outputs": [], "properties": {}, "widgets_values": ["original"]},
        ],
    }


def test_a_workflow_of_the_original_node_runs_without_its_stored_key(browser, server, emulators) -> None:
    import io

    from PIL import Image

    prompt = f"a cat in a hat ({time.time_ns()})"
    browser.js("async (wf) => { await app.loadGraphData(wf); }", original_workflow(prompt))
    browser.settle()
    node = browser.widgets(browser.js("() => app.graph.nodes.find((n) => n.type === 'APIImageEditNode').id"))
    assert node["api_key"]["value"] == ""
    assert (node["api_provider"]["value"], node["model"]["value"]) == ("ModelScope", "Qwen/Qwen-Image")
    assert any("keys no longer live in workflows" in line for line in browser.console)
    entry = queue_from_the_page(browser, server)
    assert entry["status"]["status_str"] == "success", entry["status"]
    assert emulators["modelscope"].billable_count == 1
    (saved,) = entry["outputs"]["2"]["images"]
    png = requests.get(server.url + "/view", params=saved, timeout=10).content
    chunks = Image.open(io.BytesIO(png)).text
    assert prompt in json.dumps(chunks)  # the metadata is there, the key is not
    for text in (json.dumps(chunks), json.dumps(server.history()), server.log_text(),
                 browser.js("() => JSON.stringify(app.graph.serialize())")):
        assert ORIGINAL_KEY not in text


# ---- the adaptive model input (0.33) and readable names (both) ---------------------------------

def labels(browser: Page, node_id: int) -> dict[str, Any]:
    """Widget name -> the label the node shows (the name itself where it has no label)."""
    shown: dict[str, Any] = browser.js("""(id) => Object.fromEntries(app.graph.getNodeById(id).widgets
        .map((w) => [w.name, w.label ?? w.name]))""", node_id)
    return shown


def test_the_node_shows_readable_labels(browser, server) -> None:
    node = browser.new_node()
    browser.pick(node, "provider", "modelscope")
    browser.wait_for_models(node, route_models(server, "modelscope"))
    shown = labels(browser, node)
    knob = "model.negative_prompt" if browser.adaptive else "negative_prompt"
    assert shown["model_override"] == "Model override" and shown[knob] == "Negative prompt"
    assert shown["provider"] == "Provider" and shown["base_url"] == "Base URL (relay)"
    ratio = "model.aspect_ratio" if browser.adaptive else "aspect_ratio"
    assert shown[ratio] == "Aspect ratio"
    assert browser.widgets(node)[ratio]["value"] == "provider default"


def test_the_adaptive_node_shows_only_the_models_knobs(browser, server) -> None:
    if not browser.adaptive:
        pytest.skip("0.3.75 has no DynamicCombo: the flat node shows every knob")
    openai, modelscope = route_models(server, "openai"), route_models(server, "modelscope")
    node = browser.new_node()
    browser.pick(node, "provider", "openai")
    browser.wait_for_models(node, openai)
    browser.pick(node, "model", "gpt-image-1.5")
    browser.settle()
    knobs = {name for name in browser.widgets(node) if name.startswith("model.")}
    assert knobs == {"model.size", "model.aspect_ratio", "model.count"}, knobs
    assert "control_after_generate" not in browser.widgets(node)  # no seed, no control left behind
    sockets = browser.js("(id) => app.graph.getNodeById(id).inputs.map((i) => i.name)", node)
    assert "model.images.image1" in sockets and "model.mask" in sockets
    assert not any(s.startswith("model.images.image2") for s in sockets)  # grows as images connect
    browser.pick(node, "provider", "modelscope")
    browser.wait_for_models(node, modelscope)
    browser.settle()
    widgets = browser.widgets(node)
    assert {"model.seed", "model.steps", "model.guidance", "model.negative_prompt"} <= set(widgets)
    assert widgets["control_after_generate"]["value"] == "fixed"  # a new seed starts fixed
    assert [w for w in widgets if w == "control_after_generate"] == ["control_after_generate"]


FLAT_VALUES = ["modelscope", "Qwen/Qwen-Image", "a flat-node cat", "", "no dogs", 5, "randomize",
               0, 7.5, 30, "", "16:9", "", 2, False, False, True, False, "", "", False]


def test_a_workflow_saved_with_the_flat_node_opens_with_each_value_in_its_place(browser, server) -> None:
    if not browser.adaptive:
        pytest.skip("the flat node reads its own widget values by position")
    node = browser.new_node()
    browser.settle()
    saved = browser.saved_workflow()
    saved["nodes"][0]["widgets_values"] = FLAT_VALUES  # as 0.3.75 saved it
    browser.js("async (saved) => { app.graph.clear(); await app.loadGraphData(saved); }", saved)
    browser.settle()
    loaded = browser.js("() => app.graph.nodes[0].id")
    inputs = browser.js("async () => (await app.graphToPrompt()).output")[str(loaded)]["inputs"]
    assert {k: inputs[k] for k in ("provider", "model", "prompt", "conversation_mode")} == {
        "provider": "modelscope", "model": "Qwen/Qwen-Image", "prompt": "a flat-node cat",
        "conversation_mode": False}
    assert {k: inputs[f"model.{k}"] for k in ("negative_prompt", "seed", "guidance", "steps",
                                               "aspect_ratio", "count")} == {
        "negative_prompt": "no dogs", "seed": 5, "guidance": 7.5, "steps": 30, "aspect_ratio": "16:9",
        "count": 2}
    assert browser.widgets(loaded)["control_after_generate"]["value"] == "randomize"  # kept as saved
