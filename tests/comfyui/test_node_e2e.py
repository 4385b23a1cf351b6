"""The API Image Edit node in a real headless ComfyUI, installed the way ComfyUI-Manager does it.

Providers point at loopback emulators running in this test process; keys are sentinels passed
through the environment, and the tests assert they never leak.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import time
from typing import Any

import pytest
from PIL import Image

from apiedit.testing.pytest_plugin import SENTINEL_KEY
from harness import ComfyServer, PromptError, model_choices

pytestmark = [pytest.mark.comfyui, pytest.mark.usefixtures("fresh_emulators")]

PROVIDERS = {"openai", "openrouter", "pixelwords", "gemini", "modelscope"}
OPENAI_MODEL = "gpt-image-1.5"
ROUTES = "/api/comfy-apiedit"  # what the frontend's api.fetchApi calls


def png(size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    return buf.getvalue()


def edit_node(**inputs: Any) -> dict[str, Any]:
    base = {"provider": "openai", "model": OPENAI_MODEL, "prompt": "a red fox", "seed": 1,
            "conversation_mode": False}
    return {"class_type": "APIImageEdit", "inputs": {**base, **inputs}}


def workflow(edit: dict[str, Any], loads: dict[str, str] | None = None) -> dict[str, Any]:
    """LoadImage nodes (id -> uploaded name), the edit node "10", SaveImage "20", info "30"."""
    graph: dict[str, Any] = {
        node_id: {"class_type": "LoadImage", "inputs": {"image": name}}
        for node_id, name in (loads or {}).items()
    }
    graph["10"] = edit
    graph["20"] = {"class_type": "SaveImage", "inputs": {"images": ["10", 0], "filename_prefix": "apiedit"}}
    graph["30"] = {"class_type": "PreviewAny", "inputs": {"source": ["10", 2]}}  # the info JSON
    return graph


def run(server: ComfyServer, graph: dict[str, Any], timeout: float = 90) -> dict[str, Any]:
    return server.wait(server.queue(graph), timeout=timeout)


def saved_images(server: ComfyServer, entry: dict[str, Any]) -> list[bytes]:
    images = entry.get("outputs", {}).get("20", {}).get("images", [])
    return [server.view(i["filename"], i.get("subfolder", ""), i.get("type", "output")) for i in images]


def pixels(data: bytes) -> tuple[tuple[int, int], bytes]:
    img = Image.open(io.BytesIO(data)).convert("RGB")
    return img.size, img.tobytes()


def info_of(entry: dict[str, Any]) -> dict[str, Any]:
    """The node's JSON info output, as shown by the PreviewAny node."""
    return json.loads(entry["outputs"]["30"]["text"][0])


def error_message(entry: dict[str, Any]) -> str:
    for event, data in entry.get("status", {}).get("messages", []):
        if event == "execution_error":
            return f"{data.get('exception_type')}: {data.get('exception_message')}"
    return ""


# ---- installation -----------------------------------------------------------------------------

def test_installing_the_pack_changes_no_torch_numpy_or_pillow(pack_install) -> None:
    assert pack_install.before == pack_install.after
    assert all(pack_install.before[name] for name in ("torch", "numpy", "Pillow"))


def test_object_info_shows_the_node_with_every_installed_provider(server: ComfyServer) -> None:
    info = server.object_info("APIImageEdit")["APIImageEdit"]
    provider_input = info["input"]["required"]["provider"]
    assert set(provider_input[1]["options"]) == PROVIDERS
    assert info["display_name"] == "API Image Edit"
    assert OPENAI_MODEL in model_choices(info)[0]
    names = set(info["input"]["required"]) | set(info["input"].get("optional", {}))
    assert not any("key" in name.lower() for name in names), names
    failed = [line for line in server.log_text().splitlines()
              if "IMPORT FAILED" in line or "Cannot import" in line]
    assert not [line for line in failed if "apiedit" in line], failed


# ---- one workflow per mode --------------------------------------------------------------------

def test_text_to_image_saves_exactly_what_the_provider_returned(server, emulators) -> None:
    entry = run(server, workflow(edit_node(prompt="a lighthouse at dusk")))
    assert entry["status"]["status_str"] == "success", error_message(entry)
    call = emulators["openai"].calls[-1]
    assert call.endpoint == "generations" and call.images == []
    saved = saved_images(server, entry)
    assert len(saved) == 1
    assert pixels(saved[0]) == pixels(call.outputs[0])


def test_single_edit_sends_the_loaded_image(server, emulators) -> None:
    name = server.upload_image(png((64, 48), (200, 40, 40)), "edit-in.png")["name"]
    graph = workflow(edit_node(prompt="make it blue", image1=["1", 0]), {"1": name})
    entry = run(server, graph)
    assert entry["status"]["status_str"] == "success", error_message(entry)
    call = emulators["openai"].calls[-1]
    assert call.endpoint == "edits" and len(call.images) == 1
    assert pixels(call.images[0]) == pixels(png((64, 48), (200, 40, 40)))
    assert pixels(saved_images(server, entry)[0]) == pixels(call.outputs[0])


def test_composition_of_three_differently_sized_inputs_keeps_their_order(server, emulators) -> None:
    inputs = [((64, 48), (250, 0, 0)), ((32, 80), (0, 250, 0)), ((50, 50), (0, 0, 250))]
    loads = {str(i + 1): server.upload_image(png(size, colour), f"compose-{i}.png")["name"]
             for i, (size, colour) in enumerate(inputs)}
    graph = workflow(edit_node(prompt="combine them", image1=["1", 0], image2=["2", 0], image3=["3", 0]), loads)
    entry = run(server, graph)
    assert entry["status"]["status_str"] == "success", error_message(entry)
    call = emulators["openai"].calls[-1]
    assert [pixels(image) for image in call.images] == [pixels(png(s, c)) for s, c in inputs]
    assert pixels(saved_images(server, entry)[0]) == pixels(call.outputs[0])


def test_identical_inputs_with_a_fixed_seed_do_not_call_the_provider_again(server, emulators) -> None:
    graph = workflow(edit_node(prompt="a cached comet", seed=7))
    first = run(server, graph)
    second = run(server, graph)
    assert first["status"]["status_str"] == second["status"]["status_str"] == "success"
    assert emulators["openai"].billable_count == 1


# ---- failures ---------------------------------------------------------------------------------

def test_a_blocked_answer_is_a_node_error_with_the_reason_and_saves_nothing(server, emulators) -> None:
    entry = run(server, workflow(edit_node(prompt="emulate:blocked something")))
    assert entry["status"]["status_str"] == "error"
    message = error_message(entry)
    assert "ContentBlockedError" in message and "moderation_blocked" in message
    assert saved_images(server, entry) == []


def test_a_made_up_model_is_sent_once_and_the_node_error_suggests_known_ids(server, emulators) -> None:
    entry = run(server, workflow(edit_node(model="gpt-image-2.5-flar")))
    assert entry["status"]["status_str"] == "error"
    message = error_message(entry)
    assert "UnknownModelError" in message and "Did you mean 'gpt-image-2.5-flare'" in message
    assert emulators["openai"].billable_count == 1


def test_a_model_no_table_knows_is_used_by_the_node_without_any_override(server, emulators) -> None:
    # a model ModelScope serves (only its live list would know it) that no apiedit table describes
    emulators["modelscope"].image_models["Tongyi-MAI/Z-Image-Ultra"] = 0
    try:
        entry = run(server, workflow(edit_node(provider="modelscope", model="Tongyi-MAI/Z-Image-Ultra")))
    finally:
        del emulators["modelscope"].image_models["Tongyi-MAI/Z-Image-Ultra"]
    assert entry["status"]["status_str"] == "success", error_message(entry)
    assert emulators["modelscope"].tasks[-1].model == "Tongyi-MAI/Z-Image-Ultra"
    info = info_of(entry)
    assert info["model"] == "Tongyi-MAI/Z-Image-Ultra" and info["model_verified"] is False
    assert any("unverified" in w for w in info["warnings"])


def test_a_retired_model_is_refused_at_validation_naming_its_replacement(server) -> None:
    with pytest.raises(PromptError) as caught:
        server.queue(workflow(edit_node(model="dall-e-3")))
    assert "'dall-e-3' has been retired. Use 'gpt-image-1.5'" in json.dumps(caught.value.node_errors)


def test_the_node_default_is_the_first_providers_default_by_rule(server) -> None:
    info = server.object_info("APIImageEdit")["APIImageEdit"]
    ids, default = model_choices(info)
    assert info["input"]["required"]["provider"][1]["default"] == "gemini"
    assert default == "gemini-nano-banana-2.1"
    assert not any("preview" in m for m in ids if m.startswith("gemini-3"))


def test_a_failed_refresh_is_shown_by_the_models_route(server, emulators) -> None:
    import requests

    emulators["openai"].valid_keys = {"sk-another-key"}
    try:
        answer = requests.get(server.url + "/apiedit/models",
                              params={"provider": "openai", "refresh": "1"}, timeout=30).json()
    finally:
        emulators["openai"].valid_keys = None
    assert answer["stale"] is True and "rejected the API key" in answer["error"]
    assert answer["models"] and answer["default"] == "gpt-image-2.5-flare"
    # gemini has no key in this ComfyUI: its refresh says so, and the built-in list still serves
    answer = requests.get(server.url + "/apiedit/models",
                          params={"provider": "gemini", "refresh": "1"}, timeout=30).json()
    assert "No API key for Google Gemini" in answer["error"] and answer["models"]


def refusal(server: ComfyServer, **inputs: Any) -> list[dict[str, Any]]:
    """Queue the edit node with `inputs`; return the node's validation errors (must be refused)."""
    with pytest.raises(PromptError) as caught:
        server.queue(workflow(edit_node(**inputs)))
    errors: list[dict[str, Any]] = caught.value.node_errors["10"]["errors"]
    return errors


@pytest.mark.parametrize("inputs, kind", [
    ({"seed": -7}, "value_smaller_than_min"),
    ({"strength": 3.0}, "value_bigger_than_max"),
    ({"steps": 151}, "value_bigger_than_max"),
])
def test_out_of_range_numbers_are_refused_by_comfyui_before_any_provider_call(
        server, emulators, inputs, kind) -> None:
    errors = refusal(server, **inputs)
    name, value = next(iter(inputs.items()))
    if adaptive(server):
        # 0.33: the flat name is not an input of the adaptive schema (its own is model.seed,
        # checked by ComfyUI: test_adaptive_inputs_e2e); the node refuses it in ComfyUI's words
        word = "smaller than min" if kind == "value_smaller_than_min" else "bigger than max"
        assert {e["type"] for e in errors} == {"custom_validation_failed"}, errors
        assert {e["details"].split(" - ", 1)[1] for e in errors} == {f"{name}: value {value} {word} "
                                                                     f"of {LIMITS[name]}."}
    else:
        assert [e["type"] for e in errors] == [kind], errors
        assert errors[0]["details"] == name
    assert emulators["openai"].billable_count == 0 and emulators["openai"].calls == []


LIMITS = {"seed": -1, "strength": 1.0, "steps": 150}


def adaptive(server: ComfyServer) -> bool:
    """True where the node has the adaptive schema (ComfyUI with DynamicCombo: 0.33)."""
    info = server.object_info("APIImageEdit")["APIImageEdit"]
    return bool(info["input"]["required"]["model"][0] == "COMFY_DYNAMICCOMBO_V3")


@pytest.mark.parametrize("inputs, message", [
    ({"count": 50}, "count must be between 1 and 10; got 50."),
    ({"size": "7x7"}, "size '7x7' is not one of: provider default, auto, 1024x1024, 1536x1024, "
                      "1024x1536, 1792x1024, 1024x1792, 512x512, 256x256, 1328x1328, 1664x928, "
                      "928x1664, 2048x2048."),
    ({"size": "512x512"}, "OpenAI model 'gpt-image-1.5' does not support size 512x512; choose one "
                          "of auto, 1024x1024, 1536x1024, 1024x1536."),
    ({"resolution": "4K"}, "OpenAI model 'gpt-image-1.5' does not support resolution 4K; choose "
                           "none (leave it empty)."),
    ({"provider": "nope"}, "Unknown provider 'nope'; installed: gemini, modelscope, openai, "
                           "openrouter, pixelwords."),
])
def test_the_node_refuses_what_the_model_cannot_do_at_queue_time_in_the_same_words(
        server, emulators, inputs, message) -> None:
    # The node checks these itself (0.3.75 never checks V3 combo values, 0.33 does): the exact
    # text asserted here is what both versions show.
    errors = refusal(server, **inputs)
    assert {e["type"] for e in errors} == {"custom_validation_failed"}, errors
    assert {e["details"].split(" - ", 1)[1] for e in errors} == {message}
    assert emulators["openai"].billable_count == 0 and emulators["openai"].calls == []


def test_interrupt_during_a_slow_modelscope_task_stops_within_a_second(server, emulators) -> None:
    graph = workflow(edit_node(provider="modelscope", model="Qwen/Qwen-Image", prompt="emulate:slow a cat"))
    prompt_id = server.queue(graph)
    deadline = time.monotonic() + 30
    while not emulators["modelscope"].tasks and time.monotonic() < deadline:
        time.sleep(0.05)
    assert emulators["modelscope"].tasks, "the task was never submitted"
    time.sleep(1.0)  # let it poll a few times
    started = time.monotonic()
    server.interrupt()
    entry = server.wait(prompt_id, timeout=10)
    elapsed = time.monotonic() - started
    assert entry["status"]["status_str"] == "error"
    events = [event for event, _ in entry["status"]["messages"]]
    assert "execution_interrupted" in events
    assert elapsed < 1.5
    assert emulators["modelscope"].billable_count == 1


# ---- web extension, routes and progress ------------------------------------------------------

def test_web_extension_is_served_and_is_valid_javascript(server, tmp_path) -> None:
    import requests

    scripts = requests.get(server.url + "/extensions", timeout=10).json()
    ours = [path for path in scripts if path.startswith("/extensions/apiedit/")]
    assert ours == ["/extensions/apiedit/apiedit.js"]
    source = requests.get(server.url + ours[0], timeout=10).text
    assert "/comfy-apiedit/models" in source and "/comfy-apiedit/keys" in source
    assert not re.search(r"[\"'`]/api", source), "fetchApi would not add /api to such a path"
    module = tmp_path / "apiedit.mjs"
    module.write_text(source)
    subprocess.run(["node", "--check", str(module)], check=True, capture_output=True)


def test_models_route_serves_each_provider_and_refreshes_from_the_provider(server, emulators) -> None:
    import requests

    for provider in PROVIDERS:
        answer = requests.get(server.url + ROUTES + "/models", params={"provider": provider}, timeout=10)
        assert answer.status_code == 200 and answer.json()["models"], provider
    # No list was ever fetched, so the first look started a background refresh (no waiting).
    deadline = time.monotonic() + 10
    while not emulators["openai"].requests_to("/models") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(emulators["openai"].requests_to("/models")) == 1
    requests.get(server.url + ROUTES + "/models", params={"provider": "openai"}, timeout=10)
    time.sleep(0.5)
    assert len(emulators["openai"].requests_to("/models")) == 1  # fresh now: no new fetch
    refreshed = requests.get(server.url + ROUTES + "/models",
                             params={"provider": "openai", "refresh": "1"}, timeout=30).json()
    assert len(emulators["openai"].requests_to("/models")) == 2
    assert OPENAI_MODEL in [m["id"] for m in refreshed["models"]]
    missing = requests.get(server.url + ROUTES + "/models", params={"provider": "nope"}, timeout=10)
    assert missing.status_code == 404


def test_progress_text_is_shown_under_the_node(server, emulators) -> None:
    texts = server.run_texts(workflow(edit_node(prompt="a progress report")))
    assert ("10", "openai: sending 0 image(s) to gpt-image-1.5") in texts
    assert any(node == "10" and "received 1 image" in text for node, text in texts)


def test_the_old_route_paths_still_answer(server) -> None:
    import requests

    for prefix in ("/apiedit", "/api/apiedit", "/comfy-apiedit"):
        for route in ("providers", "keys"):
            answer = requests.get(f"{server.url}{prefix}/{route}", timeout=10)
            assert answer.status_code == 200, (prefix, route)
            assert answer.json() == requests.get(f"{server.url}{ROUTES}/{route}", timeout=10).json()
        models = requests.get(f"{server.url}{prefix}/models", params={"provider": "openai"}, timeout=10)
        assert OPENAI_MODEL in [m["id"] for m in models.json()["models"]], prefix


def test_the_original_node_is_deprecated_and_never_sends_a_stored_key(server, emulators) -> None:
    info = server.object_info("APIImageEditNode")["APIImageEditNode"]
    assert info["deprecated"] is True
    required = list(info["input"]["required"])
    assert required == ["api_provider", "api_key", "model", "prompt"]  # the original's order
    stored = "sk-stored-in-workflow-SENTINEL"
    graph = {"1": {"class_type": "APIImageEditNode",
                   "inputs": {"api_provider": "OpenAI", "api_key": stored, "model": OPENAI_MODEL,
                              "prompt": "an original workflow", "seed": 3}},
             "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "orig"}}}
    entry = run(server, graph)
    assert entry["status"]["status_str"] == "success", error_message(entry)
    call = emulators["openai"].requests[-1]
    assert call.headers["authorization"] == f"Bearer {SENTINEL_KEY}"
    assert "keys no longer live in workflows" in server.log_text() and stored not in server.log_text()


# ---- keys ---------------------------------------------------------------------------------------

def test_key_route_is_write_only(server) -> None:
    import requests

    url = server.url + ROUTES + "/keys"
    answer = requests.post(url, json={"provider": "gemini", "api_key": "sk-route-SENTINEL-42"}, timeout=10)
    assert answer.status_code == 200 and answer.json() == {"provider": "gemini", "set": True}
    status = requests.get(url, timeout=10).json()
    assert status["gemini"]["set"] is True and status["openai"]["set"] is True
    assert "sk-route-SENTINEL-42" not in json.dumps(status)


def test_the_sentinel_key_leaks_nowhere(server, emulators) -> None:
    ok = run(server, workflow(edit_node(prompt="a quiet harbour")))
    failed = run(server, workflow(edit_node(prompt="emulate:auth")))
    assert failed["status"]["status_str"] == "error"
    for data in saved_images(server, ok):
        chunks = Image.open(io.BytesIO(data)).text
        assert chunks, "expected ComfyUI's prompt/workflow metadata"
        assert SENTINEL_KEY not in json.dumps(chunks)
    import requests

    texts = [
        json.dumps(server.history()),
        json.dumps(server.object_info()),
        requests.get(server.url + ROUTES + "/keys", timeout=10).text,
        requests.get(server.url + ROUTES + "/providers", timeout=10).text,
        server.log_text(),
        error_message(failed),
    ]
    for text in texts:
        assert SENTINEL_KEY not in text
        assert "sk-route-SENTINEL-42" not in text
    assert emulators["openai"].requests[0].headers["authorization"] == f"Bearer {SENTINEL_KEY}"


def test_import_time_of_the_pack_is_logged_small(server) -> None:
    match = re.search(r"([\d.]+) seconds: .*apiedit", server.log_text())
    assert match, "ComfyUI logs each pack's import time"
    print(f"\nComfyUI import time of the pack: {match.group(1)} s")
    assert float(match.group(1)) < 1.0


# ---- conversations (run last: one of them restarts ComfyUI) ------------------------------------

def turn(server: ComfyServer, name: str, prompt: str, **inputs: Any) -> dict[str, Any]:
    node = edit_node(prompt=prompt, conversation_mode=True, conversation_name=name, **inputs)
    entry = run(server, workflow(node))
    assert entry["status"]["status_str"] == "success", error_message(entry)
    return entry


def test_reset_applies_once_while_the_switch_stays_on(server, emulators) -> None:
    calls = emulators["openai"].calls
    turn(server, "reset-once", "a teapot")
    turn(server, "reset-once", "make it green", reset_conversation=True)
    assert calls[-1].images == [], "the reset turn starts fresh: no last image fed back"
    second_output = calls[-1].outputs[0]
    turn(server, "reset-once", "add steam", reset_conversation=True)
    assert [pixels(i) for i in calls[-1].images] == [pixels(second_output)], "no second reset"


def test_conversations_with_different_names_never_share_history(server, emulators) -> None:
    calls = emulators["openai"].calls
    turn(server, "alpha", "a red kite")
    alpha_output = calls[-1].outputs[0]
    turn(server, "beta", "a blue boat")
    turn(server, "alpha", "make the kite fly higher")
    assert [pixels(i) for i in calls[-1].images] == [pixels(alpha_output)]


def test_three_turn_conversation_survives_a_comfyui_restart(server, emulators) -> None:
    calls = emulators["openai"].calls
    turn(server, "beach", "a portrait of a smiling woman")
    first = calls[-1]
    assert first.endpoint == "generations"
    turn(server, "beach", "add a flower in her hair")
    second = calls[-1]
    assert second.endpoint == "edits"
    assert [pixels(i) for i in second.images] == [pixels(first.outputs[0])]
    server.restart()
    entry = turn(server, "beach", "change the background to a beach")
    third = calls[-1]
    assert [pixels(i) for i in third.images] == [pixels(second.outputs[0])]
    assert pixels(saved_images(server, entry)[0]) == pixels(third.outputs[0])
    info = info_of(entry)
    assert info["conversation"] == "last_image" and info["turn"] == 3
