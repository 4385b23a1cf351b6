"""The node's inputs in a real ComfyUI: adaptive on 0.33 (DynamicCombo + Autogrow), flat on 0.3.75.

On 0.33 the node for a model shows only that model's knobs and image sockets up to its cap; a
prompt in 0.33's nested names reaches the provider as asked, the flat names keep working on both
versions (the portable API format), and 0.3.75 refuses nested names instead of dropping them.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from PIL import Image

from harness import ComfyServer, PromptError

pytestmark = [pytest.mark.comfyui, pytest.mark.usefixtures("fresh_emulators")]

NODE = "APIImageEdit"
ANY_MODEL = "(any model: type its id in Model override)"
DEFAULT = "provider default"
ABSENT_FOR_GPT_IMAGE = {"steps", "guidance", "negative_prompt", "strength", "seed", "resolution",
                        "watermark"}


@pytest.fixture(scope="module")
def node_info(server: ComfyServer) -> dict[str, Any]:
    info: dict[str, Any] = server.object_info(NODE)[NODE]
    return info


@pytest.fixture(scope="module")
def adaptive(node_info: dict[str, Any]) -> bool:
    return bool(node_info["input"]["required"]["model"][0] == "COMFY_DYNAMICCOMBO_V3")


def option(node_info: dict[str, Any], model: str) -> dict[str, Any]:
    """The inputs the adaptive model combo shows for `model` (name -> [type, spec])."""
    options = node_info["input"]["required"]["model"][1]["options"]
    inputs = next(o["inputs"] for o in options if o["key"] == model)
    return {**inputs.get("required", {}), **inputs.get("optional", {})}


def png(colour: tuple[int, int, int], size: tuple[int, int] = (40, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    return buf.getvalue()


def pixels(data: bytes) -> bytes:
    return Image.open(io.BytesIO(data)).convert("RGB").tobytes()


COLOURS = [(250, 0, 0), (0, 250, 0), (0, 0, 250), (250, 250, 0), (0, 250, 250), (250, 0, 250)]


def graph(server: ComfyServer, inputs: dict[str, Any], images: int = 0,
          image_key: str = "image{}") -> dict[str, Any]:
    """LoadImage nodes "1".."n" wired to `image_key` names, the edit node "10", SaveImage "20"."""
    nodes: dict[str, Any] = {}
    wired: dict[str, Any] = {}
    for i in range(1, images + 1):
        name = server.upload_image(png(COLOURS[i - 1]), f"adaptive-{i}.png")["name"]
        nodes[str(i)] = {"class_type": "LoadImage", "inputs": {"image": name}}
        wired[image_key.format(i)] = [str(i), 0]
    base = {"provider": "openai", "model": "gpt-image-1.5", "prompt": "combine them",
            "conversation_mode": False}
    nodes["10"] = {"class_type": NODE, "inputs": {**base, **wired, **inputs}}
    nodes["20"] = {"class_type": "SaveImage", "inputs": {"images": ["10", 0], "filename_prefix": "adaptive"}}
    return nodes


def run(server: ComfyServer, prompt: dict[str, Any]) -> dict[str, Any]:
    entry = server.wait(server.queue(prompt), timeout=90)
    messages = [d for e, d in entry["status"].get("messages", []) if e == "execution_error"]
    assert entry["status"]["status_str"] == "success", messages
    return entry


def refused(server: ComfyServer, prompt: dict[str, Any]) -> list[dict[str, Any]]:
    with pytest.raises(PromptError) as caught:
        server.queue(prompt)
    errors: list[dict[str, Any]] = caught.value.node_errors["10"]["errors"]
    return errors


def run_error(server: ComfyServer, prompt: dict[str, Any]) -> str:
    entry = server.wait(server.queue(prompt), timeout=90)
    assert entry["status"]["status_str"] == "error"
    data = next(d for e, d in entry["status"]["messages"] if e == "execution_error")
    return f"{data['exception_type']}: {data['exception_message']}"


# ---- what the node shows ----------------------------------------------------------------------

def test_inputs_have_readable_names_and_empty_choices_read_provider_default(node_info, adaptive) -> None:
    specs = {**node_info["input"]["required"], **node_info["input"].get("optional", {})}
    if adaptive:
        specs |= option(node_info, ANY_MODEL)  # the knobs live in the model's option
    labels = {name: spec[1].get("display_name") for name, spec in specs.items()}
    assert labels["model_override"] == "Model override"
    assert labels["negative_prompt"] == "Negative prompt"
    assert labels["aspect_ratio"] == "Aspect ratio"
    assert labels["provider"] == "Provider" and labels["model"] == "Model"
    for name in ("size", "aspect_ratio", "resolution"):
        assert specs[name][1]["options"][0] == DEFAULT and specs[name][1]["default"] == DEFAULT
        assert "" not in specs[name][1]["options"]
    assert all(spec[1].get("tooltip") for name, spec in specs.items()), "every input explains itself"
    # the classic canvas writes a text box's placeholder inside it, or else its raw input name
    # ("model.negative_prompt" on 0.33's adaptive node)
    assert specs["prompt"][1]["placeholder"].startswith("Prompt")
    assert specs["negative_prompt"][1]["placeholder"].startswith("Negative prompt")


def test_gpt_image_1_5_shows_only_its_knobs_and_up_to_16_images(node_info, adaptive) -> None:
    if not adaptive:
        # 0.3.75 has no DynamicCombo: the flat schema with every knob and the original 4 ports
        names = set(node_info["input"]["required"]) | set(node_info["input"]["optional"])
        assert {"image1", "image2", "image3", "image4", "mask"} | ABSENT_FOR_GPT_IMAGE <= names
        assert "image5" not in names
        return
    knobs = option(node_info, "gpt-image-1.5")
    assert not ABSENT_FOR_GPT_IMAGE & set(knobs), sorted(knobs)
    assert set(knobs) == {"images", "mask", "size", "aspect_ratio", "count"}
    template = knobs["images"][1]["template"]
    assert knobs["images"][0] == "COMFY_AUTOGROW_V3"
    assert template["names"] == [f"image{i}" for i in range(1, 17)] and template["min"] == 0
    assert knobs["size"][1]["options"] == [DEFAULT, "auto", "1024x1024", "1536x1024", "1024x1536"]
    assert knobs["count"][1]["max"] == 10
    # the top level keeps only what every model takes
    top = set(node_info["input"]["required"]) | set(node_info["input"].get("optional", {}))
    assert not top & (ABSENT_FOR_GPT_IMAGE | {"size", "count", "mask", "image1"}), sorted(top)


def test_each_model_gets_its_own_caps(node_info, adaptive) -> None:
    if not adaptive:
        pytest.skip("0.3.75 has no DynamicCombo: one flat schema for every model")
    gemini = option(node_info, "gemini-3-pro-image")
    assert len(gemini["images"][1]["template"]["names"]) == 14
    assert {"seed", "aspect_ratio", "resolution"} <= set(gemini) and "steps" not in gemini
    qwen = option(node_info, "Qwen/Qwen-Image")  # text-to-image only: no image sockets
    assert "images" not in qwen and "mask" not in qwen
    assert {"negative_prompt", "seed", "steps", "guidance", "count"} <= set(qwen)
    assert qwen["count"][1]["max"] == 4
    kontext = option(node_info, "flux-kontext-max")  # one input image: still the original's 4
    assert len(kontext["images"][1]["template"]["names"]) == 4
    every = option(node_info, ANY_MODEL)  # a typed id (day-0 model): every knob
    assert ABSENT_FOR_GPT_IMAGE | {"size", "count", "mask", "images"} <= set(every)
    assert len(every["images"][1]["template"]["names"]) == 16


# ---- what reaches the provider ----------------------------------------------------------------

def nested(**knobs: Any) -> dict[str, Any]:
    return {f"model.{k}": v for k, v in knobs.items()}


def test_adaptive_inputs_reach_the_provider_as_asked(server, emulators, adaptive) -> None:
    prompt = graph(server, nested(size="1536x1024", count=2), images=2, image_key="model.images.image{}")
    if not adaptive:
        # 0.3.75 would drop names it lacks (no images, default size) and bill: refused instead
        message = run_error(server, prompt)
        assert "adaptive node of ComfyUI 0.33" in message and "model.images.image1" in message
        assert emulators["openai"].billable_count == 0 and emulators["openai"].calls == []
        return
    run(server, prompt)
    call = emulators["openai"].calls[-1]
    assert call.endpoint == "edits" and len(call.images) == 2
    assert [pixels(i) for i in call.images] == [pixels(png(c)) for c in COLOURS[:2]]
    assert call.params.get("size") == "1536x1024" and int(call.params.get("n")) == 2


def test_the_flat_api_format_runs_on_both_versions_with_the_same_request(server, emulators) -> None:
    run(server, graph(server, {"size": "1536x1024", "count": 2}, images=2))
    call = emulators["openai"].calls[-1]
    assert call.endpoint == "edits"
    assert [pixels(i) for i in call.images] == [pixels(png(c)) for c in COLOURS[:2]]
    assert call.params.get("size") == "1536x1024" and int(call.params.get("n")) == 2


def test_images_grow_past_the_original_four(server, emulators, adaptive) -> None:
    if not adaptive:
        pytest.skip("0.3.75's flat node has the original's 4 image ports")
    run(server, graph(server, {}, images=6, image_key="model.images.image{}"))
    call = emulators["openai"].calls[-1]
    assert [pixels(i) for i in call.images] == [pixels(png(c)) for c in COLOURS[:6]]


def test_provider_default_and_an_old_empty_value_send_no_size(server, emulators, adaptive) -> None:
    knobs = nested(size=DEFAULT) if adaptive else {"size": DEFAULT}
    run(server, graph(server, knobs))
    assert "size" not in emulators["openai"].calls[-1].params
    run(server, graph(server, {"size": ""}))  # a workflow saved before the label existed
    assert "size" not in emulators["openai"].calls[-1].params


# ---- refused before any paid call -------------------------------------------------------------

@pytest.mark.parametrize("knob, value, kind", [
    ("seed", -7, "value_smaller_than_min"),
    ("count", 11, "value_bigger_than_max"),
    ("size", "512x512", "value_not_in_list"),
])
def test_nested_values_outside_the_models_limits_are_refused_by_comfyui(
        server, emulators, adaptive, knob, value, kind) -> None:
    if not adaptive:
        pytest.skip("nested names exist only in 0.33's adaptive schema")
    model = "Qwen/Qwen-Image" if knob == "seed" else "gpt-image-1.5"  # gpt-image takes no seed
    provider = "modelscope" if knob == "seed" else "openai"
    errors = refused(server, graph(server, {"provider": provider, "model": model, **nested(**{knob: value})}))
    assert [e["type"] for e in errors] == [kind], errors
    assert errors[0]["extra_info"]["input_name"] == f"model.{knob}"
    assert all(e.billable_count == 0 and not e.calls for e in emulators.values() if hasattr(e, "calls"))


def test_seed_minus_7_is_refused_before_any_provider_call(server, emulators) -> None:
    # the flat name on both versions (0.3.75: ComfyUI's own check; 0.33: the node's)
    errors = refused(server, graph(server, {"provider": "modelscope", "model": "Qwen/Qwen-Image", "seed": -7}))
    assert errors and all("seed" in json.dumps(e) for e in errors), errors
    assert emulators["modelscope"].billable_count == 0 and emulators["modelscope"].tasks == []


def test_the_catch_all_option_needs_a_typed_model_id(server, emulators, adaptive) -> None:
    if not adaptive:
        pytest.skip("the catch-all option belongs to the adaptive model combo")
    errors = refused(server, graph(server, {"model": ANY_MODEL}))
    assert "type the model id in Model override" in json.dumps(errors)
    run(server, graph(server, {"model": ANY_MODEL, "model_override": "gpt-image-1.5",
                               **nested(size="1024x1024")}))
    call = emulators["openai"].calls[-1]
    assert call.model == "gpt-image-1.5" and call.params.get("size") == "1024x1024"
