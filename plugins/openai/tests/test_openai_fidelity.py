"""Fidelity: the emulator must not drift from the real API, nor the plugin from the spec.

* The official `openai` SDK, pointed at the emulator, generates and edits (one and several
  images) and reads the emulator's answers and errors as it reads OpenAI's.
* Every request the plugin sends (JSON and multipart) validates against the OpenAI OpenAPI
  document (`CreateImageRequest`, `CreateImageEditRequest`), and the emulator's answers
  validate against `ImagesResponse`, `ErrorResponse` and `ListModelsResponse`.
"""

from __future__ import annotations

import base64
import io
from collections import defaultdict
from typing import Any

import pytest
import requests
from apiedit.protocols import openai_images as api
from apiedit.types import ImageData
from PIL import Image


def _decode(b64: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(b64)))


# ---- the official SDK against the emulator ----------------------------------------------------


@pytest.fixture
def sdk(emulator, sentinel_key):
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(api_key=sentinel_key, base_url=emulator.base_url, max_retries=0)
    yield client
    client.close()


def test_sdk_generates(sdk, emulator):
    answer = sdk.images.generate(model="gpt-image-1.5", prompt="a cat", n=2, size="1024x1024",
                                 quality="low")
    assert len(answer.data) == 2
    assert _decode(answer.data[0].b64_json).size == (1024, 1024)
    assert answer.usage.total_tokens > 0 and answer.quality == "low" and answer.size == "1024x1024"
    assert emulator.calls[0].params["n"] == 2


def test_sdk_edits_one_image(sdk, emulator, png):
    answer = sdk.images.edit(model="gpt-image-1.5", prompt="make it blue",
                             image=("a.png", png((0, 0, 255)), "image/png"))
    assert emulator.calls[0].image_fields == ["image"]
    assert _decode(answer.data[0].b64_json).convert("RGB").getpixel((5, 5)) == (0, 0, 255)


def test_sdk_edits_several_images_in_order(sdk, emulator, png):
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (0, 250, 0)).save(buf, "JPEG", quality=95)
    images = [("a.png", png((250, 0, 0)), "image/png"), ("b.jpg", buf.getvalue(), "image/jpeg"),
              ("c.png", png((0, 0, 250)), "image/png")]
    answer = sdk.images.edit(model="gpt-image-1.5", prompt="combine", image=images)
    (call,) = emulator.calls
    assert call.image_fields == ["image[]"] * 3
    assert call.images == [data for _, data, _ in images]
    assert len(answer.data) == 1


def test_sdk_edits_with_a_mask(sdk, emulator, png):
    mask = png((0, 0, 0, 0), size=(64, 48), mode="RGBA")
    sdk.images.edit(model="gpt-image-1.5", prompt="fill", image=("a.png", png(), "image/png"),
                    mask=("mask.png", mask, "image/png"))
    assert emulator.calls[0].mask == mask


def test_sdk_reads_dall_e_3_urls_and_revised_prompts(sdk, emulator):
    emulator.shut_down.clear()  # a relay that still serves the retired model
    answer = sdk.images.generate(model="dall-e-3", prompt="a lighthouse", quality="hd",
                                 style="vivid", response_format="url")
    assert answer.data[0].url.startswith("http://127.0.0.1")
    assert answer.data[0].revised_prompt
    assert Image.open(io.BytesIO(requests.get(answer.data[0].url, timeout=5).content)).format == "PNG"


def test_sdk_lists_models(sdk):
    ids = [m.id for m in sdk.models.list()]
    assert "gpt-image-1.5" in ids and "gpt-4o" in ids


def test_sdk_sees_moderation_blocked_as_bad_request(sdk):
    openai = pytest.importorskip("openai")
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.images.generate(model="gpt-image-1.5", prompt="emulate:blocked")
    assert caught.value.code == "moderation_blocked"
    assert caught.value.request_id.startswith("req_")


def test_sdk_sees_insufficient_quota_as_rate_limit_with_its_code(sdk):
    openai = pytest.importorskip("openai")
    with pytest.raises(openai.RateLimitError) as caught:
        sdk.images.generate(model="gpt-image-1.5", prompt="emulate:quota")
    assert caught.value.code == "insufficient_quota"


def test_sdk_is_refused_without_a_valid_key(emulator):
    openai = pytest.importorskip("openai")
    emulator.valid_keys = {"sk-right"}
    client = openai.OpenAI(api_key="sk-wrong-key-000", base_url=emulator.base_url, max_retries=0)
    with client, pytest.raises(openai.AuthenticationError) as caught:
        client.images.generate(model="gpt-image-1.5", prompt="x")
    assert caught.value.code == "invalid_api_key"


# ---- every plugin request against the OpenAPI spec ----------------------------------------------


def _types(schema: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    kind = schema.get("type")
    found.update(kind if isinstance(kind, list) else [kind] if kind else [])
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, ()):
            found |= _types(option)
    return found


def _coerce(value: str, schema: dict[str, Any]) -> Any:
    """A multipart text value as the JSON type the schema wants (multipart has only strings)."""
    kinds = _types(schema)
    if "integer" in kinds and value.lstrip("-").isdigit():
        return int(value)
    if "boolean" in kinds and value in ("true", "false"):
        return value == "true"
    return value


def form_instance(parts: list[tuple], properties: dict[str, Any]) -> dict[str, Any]:
    """Multipart parts as the schema instance: files as binary strings, `image[]` as an array."""
    instance: dict[str, Any] = {}
    files: dict[str, list[str]] = defaultdict(list)
    arrays: set[str] = set()
    for name, value, filename, _ctype in parts:
        key = name.removesuffix("[]")
        assert key in properties, f"multipart field {name!r} is not in the schema"
        if isinstance(value, bytes) or filename is not None:
            files[key].append("<binary>")
            if name.endswith("[]"):
                arrays.add(key)
        else:
            instance[key] = _coerce(value, properties[key])
    for key, values in files.items():
        instance[key] = values if key in arrays or len(values) > 1 else values[0]
    return instance


@pytest.fixture
def plugin_traffic(call, direct, emulator, png):
    """The emulator's log after the plugin sent one request of every shape it can produce."""
    mask = png((0, 0, 0, 0), size=(64, 48), mode="RGBA")
    call()
    call(model="gpt-image-1.5", n=2, size="1536x1024", quality="high",
         extra={"background": "opaque", "output_format": "jpeg", "output_compression": 80,
                "moderation": "low", "user": "user-1"})
    call(model="gpt-image-2", aspect_ratio="16:9", resolution="2K")
    call(images=[png()])
    call(images=[png((i * 60, 20, 20)) for i in range(4)], mask=mask, n=3, quality="medium",
         size="1024x1536", extra={"input_fidelity": "high", "output_format": "webp"})
    # dall-e-2/3 were retired on 2026-05-12 (providers-2026-12.md): the emulator answers 404
    direct(model="gpt-image-1-mini", images=[png(size=(64, 64))], n=2, size="1024x1024",
           extra={"input_fidelity": "low"})
    assert not emulator.handler_errors
    return list(emulator.requests)  # a snapshot: replays below add to the live log


def test_every_generation_request_validates_against_the_spec(plugin_traffic, spec_errors, schema_properties):
    sent = [r for r in plugin_traffic if r.path == "/images/generations"]
    assert len(sent) == 3
    properties = schema_properties("CreateImageRequest")
    for request in sent:
        body = request.json()
        assert set(body) <= set(properties), set(body) - set(properties)
        assert spec_errors("CreateImageRequest", body) == [], body


def test_every_multipart_edit_validates_against_the_spec(plugin_traffic, spec_errors, schema_properties):
    sent = [r for r in plugin_traffic if r.path == "/images/edits"]
    assert len(sent) == 3
    properties = schema_properties("CreateImageEditRequest")
    for request in sent:
        assert request.headers["content-type"].startswith("multipart/form-data")
        instance = form_instance(request.form(), properties)
        assert spec_errors("CreateImageEditRequest", instance) == [], instance
    assert isinstance(form_instance(sent[1].form(), properties)["image"], list)


def test_core_json_edit_body_validates_and_is_accepted(emulator, sentinel_key, spec_errors, png):
    body = api.edit_json_body(model="gpt-image-1.5", prompt="combine",
                              images=[ImageData(png((200, 0, 0))), ImageData(png((0, 0, 200)))],
                              mask=ImageData(png((0, 0, 0, 0), mode="RGBA")), n=2, quality="low",
                              size="1024x1024")
    assert spec_errors("EditImageBodyJsonParam", body) == []
    answer = requests.post(f"{emulator.base_url}/images/edits", json=body, timeout=10,
                           headers={"Authorization": f"Bearer {sentinel_key}"})
    assert answer.status_code == 200, answer.text
    (call,) = emulator.calls
    assert call.body_kind == "json" and len(call.images) == 2 and call.mask is not None


def test_emulator_answers_validate_against_images_response(plugin_traffic, emulator, spec_errors):
    checked = 0
    for request in plugin_traffic:
        if not request.path.startswith("/images/"):
            continue
        answer = _replay(emulator, request)
        assert answer.status_code == 200
        assert spec_errors("ImagesResponse", answer.json()) == []
        checked += 1
    assert checked == 6


def _replay(emulator, request) -> requests.Response:
    headers = {k: v for k, v in request.headers.items() if k in ("authorization", "content-type")}
    return requests.post(f"{emulator.base_url}{request.path}", data=request.body, headers=headers,
                         timeout=10)


@pytest.mark.parametrize(
    "kind",
    ["auth", "quota", "rate_limit", "blocked", "bad_request", "overloaded", "server_error",
     "output_blocked", "content_policy", "verification"],
)
def test_emulator_errors_validate_against_error_response(emulator, spec_errors, kind):
    answer = emulator.error_response(kind)
    assert answer.status >= 400 and "x-request-id" in answer.headers
    body = answer.body if isinstance(answer.body, dict) else __import__("json").loads(answer.body)
    assert spec_errors("ErrorResponse", body) == []


def test_emulator_validation_errors_validate_against_error_response(emulator, sentinel_key, spec_errors):
    answer = requests.post(f"{emulator.base_url}/images/generations", timeout=5,
                           json={"model": "gpt-image-2", "prompt": "x", "size": "1000x1000"},
                           headers={"Authorization": f"Bearer {sentinel_key}"})
    assert answer.status_code == 400 and answer.json()["error"]["param"] == "size"
    assert spec_errors("ErrorResponse", answer.json()) == []


def test_emulator_model_list_validates_against_the_spec(emulator, sentinel_key, spec_errors):
    answer = requests.get(f"{emulator.base_url}/models", timeout=5,
                          headers={"Authorization": f"Bearer {sentinel_key}"})
    assert spec_errors("ListModelsResponse", answer.json()) == []
