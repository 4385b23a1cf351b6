"""A relay declared in providers.toml, in a real headless ComfyUI: it is in the node's provider
list (`/object_info`) and a queued prompt generates through it against an emulator."""

from __future__ import annotations

import json
from typing import Any, Iterator

import pytest

from harness import REPO, ComfyServer

pytestmark = pytest.mark.comfyui

RELAY_KEY = "sk-SENTINEL-TOML-RELAY-KEY-31"
MODEL = "gpt-image-1.5"


@pytest.fixture(scope="module")
def server(pack_install, emulators, tmp_path_factory) -> Iterator[ComfyServer]:
    home = tmp_path_factory.mktemp("apiedit-toml")
    toml = home / "providers.toml"
    toml.write_text(
        "[providers.myrelay]\n"
        'protocol = "openai-images"\n'
        'label = "My image relay"\n'
        f'base_url = "{emulators["openai"].base_url}"\n'
        'key_env = "MYRELAY_API_KEY"\n'
        f'models = ["{MODEL}"]\n'
        "\n[providers.broken]\n"
        'protocol = "soap"\n', encoding="utf-8")
    env = {"APIEDIT_PROVIDERS_FILE": str(toml), "MYRELAY_API_KEY": RELAY_KEY,
           "APIEDIT_CONFIG_DIR": str(home / "config")}
    with ComfyServer(pack_install.env, REPO, extra_env=env, pack_name="apiedit") as comfy:
        yield comfy


def error_of(entry: dict[str, Any]) -> str:
    for event, data in entry.get("status", {}).get("messages", []):
        if event == "execution_error":
            return f"{data.get('exception_type')}: {data.get('exception_message')}"
    return ""


def test_the_relay_is_in_the_providers_of_object_info(server: ComfyServer) -> None:
    info = server.object_info("APIImageEdit")["APIImageEdit"]
    options = info["input"]["required"]["provider"][1]["options"]
    assert "myrelay" in options
    assert "broken" not in options  # a bad entry fails alone
    assert "openai" in options


def test_a_queued_prompt_generates_through_the_relay(server: ComfyServer, emulators) -> None:
    emulators["openai"].reset()
    graph = {
        "10": {"class_type": "APIImageEdit",
               "inputs": {"provider": "myrelay", "model": MODEL, "prompt": "a red fox",
                          "seed": 7, "conversation_mode": False}},
        "20": {"class_type": "SaveImage",
               "inputs": {"images": ["10", 0], "filename_prefix": "toml-relay"}},
    }
    entry = server.wait(server.queue(graph), timeout=90)
    assert entry["status"]["status_str"] == "success", error_of(entry)
    posts = emulators["openai"].requests_to("/images/generations", method="POST")
    assert [r.headers["authorization"] for r in posts] == [f"Bearer {RELAY_KEY}"]
    images = [i for out in entry["outputs"].values() for i in out.get("images", [])]
    assert len(images) == 1
    assert server.view(images[0]["filename"], images[0].get("subfolder", ""))[:8] == b"\x89PNG\r\n\x1a\n"
    assert RELAY_KEY not in json.dumps(server.history())
    assert RELAY_KEY not in server.log_text()
