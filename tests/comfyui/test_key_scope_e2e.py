"""A shared workflow cannot send the user's key anywhere, in a real headless ComfyUI.

Two servers: one with ComfyUI's own origin check active (its default on a loopback address)
and one with `--enable-cors-header`, which switches that check off; the pack's key routes
must refuse cross-origin requests on both.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from apiedit.testing.pytest_plugin import SENTINEL_KEY
from harness import REPO, ComfyServer, provider_env

pytestmark = pytest.mark.comfyui

RELAY_KEY = "sk-SENTINEL-RELAY-OWN-KEY-77"
FORGED_KEY = "sk-SENTINEL-FORGED-BY-A-PAGE-99"


@pytest.fixture(scope="module", params=["comfy-origin-check", "cors-header-enabled"])
def server(request, pack_install, emulators, tmp_path_factory) -> Iterator[ComfyServer]:
    config = tmp_path_factory.mktemp("apiedit-config")
    env = {**provider_env(emulators, SENTINEL_KEY), "APIEDIT_CONFIG_DIR": str(config)}
    args = ["--enable-cors-header", "*"] if request.param == "cors-header-enabled" else []
    with ComfyServer(pack_install.env, REPO, extra_env=env, pack_name="apiedit",
                     extra_args=args) as comfy:
        yield comfy


@pytest.fixture
def listener(emulator_factory):
    """A perfect imitation of OpenAI on another port: what a key thief would run."""
    from apiedit_openai.emulator import OpenAIEmulator

    return emulator_factory(OpenAIEmulator)


def graph(base_url: str, seed: int = 1) -> dict[str, Any]:
    """A text-to-image run (a new seed = a new run: ComfyUI caches an unchanged graph)."""
    edit = {"class_type": "APIImageEdit",
            "inputs": {"provider": "openai", "model": "gpt-image-1.5", "prompt": "a red fox",
                       "seed": seed, "conversation_mode": False, "base_url": base_url}}
    save = {"class_type": "SaveImage", "inputs": {"images": ["10", 0], "filename_prefix": "scope"}}
    return {"10": edit, "20": save}


def error_of(entry: dict[str, Any]) -> str:
    for event, data in entry.get("status", {}).get("messages", []):
        if event == "execution_error":
            return f"{data.get('exception_type')}: {data.get('exception_message')}"
    return ""


def keys_route(server: ComfyServer, prefix: str = "/comfy-apiedit") -> str:
    return server.url + prefix + "/keys"


def key_file(server: ComfyServer) -> Path:
    return Path(server.extra_env["APIEDIT_CONFIG_DIR"]) / "keys.json"


def key_file_text(server: ComfyServer) -> str:
    path = key_file(server)
    return path.read_text() if path.exists() else ""


def test_a_workflow_base_url_gets_nothing_until_the_user_trusts_it(server, emulators, listener) -> None:
    entry = server.wait(server.queue(graph(listener.base_url)), timeout=60)
    assert entry["status"]["status_str"] == "error"
    message = error_of(entry)
    assert "UntrustedBaseURLError" in message
    assert listener.base_url in message and "apiedit keys trust openai" in message
    assert listener.requests == []  # zero requests: no key, no prompt, nothing
    assert SENTINEL_KEY not in json.dumps(server.history())

    # the user trusts it, through the key settings' route (what the node's button calls)
    answer = requests.post(keys_route(server) + "/trust", timeout=10,
                           json={"provider": "openai", "base_url": listener.base_url})
    assert answer.status_code == 200, answer.text
    try:
        entry = server.wait(server.queue(graph(listener.base_url)), timeout=60)
        assert entry["status"]["status_str"] == "success", error_of(entry)
        posts = listener.requests_to("/images/generations", method="POST")
        assert [r.headers["authorization"] for r in posts] == [f"Bearer {SENTINEL_KEY}"]
    finally:
        requests.post(keys_route(server) + "/trust", timeout=10,
                      json={"provider": "openai", "base_url": listener.base_url, "trusted": False})
    listener.reset()
    entry = server.wait(server.queue(graph(listener.base_url, seed=2)), timeout=60)
    assert "UntrustedBaseURLError" in error_of(entry) and listener.requests == []


def test_a_relay_with_its_own_key_gets_that_key_and_only_it(server, emulators, listener) -> None:
    answer = requests.post(keys_route(server), timeout=10, json={
        "provider": "openai", "api_key": RELAY_KEY, "base_url": listener.base_url + "/v1"})
    assert answer.status_code == 200, answer.text
    try:
        status = requests.get(keys_route(server), timeout=10).json()["openai"]
        assert status["relays"] == [listener.base_url + "/v1"] and RELAY_KEY not in json.dumps(status)
        emulators["openai"].reset()
        relayed = server.wait(server.queue(graph(listener.base_url, seed=3)), timeout=60)
        direct = server.wait(server.queue(graph("", seed=3)), timeout=60)
        assert relayed["status"]["status_str"] == direct["status"]["status_str"] == "success"
        seen_by_relay = {r.headers.get("authorization") for r in listener.requests}
        seen_by_provider = {r.headers.get("authorization") for r in emulators["openai"].requests}
        assert seen_by_relay == {f"Bearer {RELAY_KEY}"}
        assert seen_by_provider == {f"Bearer {SENTINEL_KEY}"}
    finally:
        requests.post(keys_route(server), timeout=10, json={
            "provider": "openai", "api_key": "", "base_url": listener.base_url})
    assert RELAY_KEY not in key_file_text(server)


FORGERIES = {
    "another site, JSON as text/plain": {"Origin": "http://evil.example", "Content-Type": "text/plain"},
    "another site, JSON": {"Origin": "http://evil.example", "Content-Type": "application/json"},
    "a sandboxed page": {"Origin": "null", "Content-Type": "application/json"},
    "fetch metadata only": {"Sec-Fetch-Site": "cross-site", "Content-Type": "application/json"},
    "same site, other port": {"Sec-Fetch-Site": "same-site", "Content-Type": "application/json"},
    "DNS rebinding": "rebinding",
    "no JSON content type": {"Content-Type": "application/x-www-form-urlencoded"},
}


@pytest.mark.parametrize("forgery", FORGERIES)
def test_cross_origin_key_requests_are_refused_and_change_nothing(server, forgery: str) -> None:
    headers = FORGERIES[forgery]
    if headers == "rebinding":  # evil.example resolved to 127.0.0.1: Origin and Host agree
        port = server.url.rsplit(":", 1)[1]
        headers = {"Origin": f"http://evil.example:{port}", "Host": f"evil.example:{port}",
                   "Content-Type": "application/json"}
    before = key_file_text(server)
    body = json.dumps({"provider": "openai", "api_key": FORGED_KEY})
    trust = json.dumps({"provider": "openai", "base_url": "http://evil.example"})
    # the route as the frontend calls it, and the old paths kept for saved front-ends
    for prefix in ("/comfy-apiedit", "/api/comfy-apiedit", "/apiedit", "/api/apiedit"):
        for path, payload in (("", body), ("/trust", trust)):
            answer = requests.post(keys_route(server, prefix) + path, data=payload,
                                   headers=headers, timeout=10)
            assert answer.status_code == 403, (prefix, path, answer.status_code, answer.text)
    assert key_file_text(server) == before
    assert FORGED_KEY not in key_file_text(server) and "evil.example" not in key_file_text(server)


def test_the_same_origin_page_and_programs_may_use_the_key_routes(server) -> None:
    same_page = {"Origin": server.url, "Sec-Fetch-Site": "same-origin"}
    for headers in (same_page, {}):
        answer = requests.post(keys_route(server) + "/trust", headers=headers, timeout=10,
                               json={"provider": "openai", "base_url": "http://127.0.0.1:1", "trusted": False})
        assert answer.status_code == 200, answer.text
    assert requests.get(keys_route(server), headers=same_page, timeout=10).status_code == 200
