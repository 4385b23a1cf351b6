"""The emulator itself, driven with plain `requests`: what it accepts is what Gemini accepts."""

from __future__ import annotations

import base64
from typing import Any

import pytest
import requests
from apiedit.testing.conformance import sample_png
from apiedit_gemini.emulator import GeminiEmulator

KEY = {"x-goog-api-key": "k-emulator-test"}
PNG = sample_png()


def post(emulator: GeminiEmulator, path: str, body: dict[str, Any], headers: dict[str, str] | None = None,
         **kw: Any) -> requests.Response:
    return requests.post(f"{emulator.base_url}{path}", json=body, headers=KEY if headers is None else headers,
                         timeout=10, **kw)


def generate(emulator: GeminiEmulator, body: dict[str, Any], model: str = "gemini-nano-banana-2.1",
             version: str = "v1beta") -> requests.Response:
    return post(emulator, f"/{version}/models/{model}:generateContent", body)


def edit_body(data: str, key_style: str = "camel") -> dict[str, Any]:
    inline = {"mimeType": "image/png", "data": data} if key_style == "camel" else {"mime_type": "image/png", "data": data}
    part = {"inlineData": inline} if key_style == "camel" else {"inline_data": inline}
    config = ({"generationConfig": {"responseModalities": ["TEXT", "IMAGE"]}} if key_style == "camel"
              else {"generation_config": {"response_modalities": ["TEXT", "IMAGE"]}})
    return {"contents": [{"role": "user", "parts": [{"text": "edit"}, part]}], **config}


@pytest.mark.parametrize("version", ["v1", "v1beta"])
def test_both_api_versions_are_served(emulator: GeminiEmulator, version: str) -> None:
    answer = generate(emulator, edit_body(base64.b64encode(PNG).decode()), version=version)
    assert answer.status_code == 200
    assert answer.json()["candidates"][0]["content"]["parts"][1]["inlineData"]["mimeType"] == "image/png"


@pytest.mark.parametrize("key_style", ["camel", "snake"])
@pytest.mark.parametrize("encode", [
    lambda b: base64.b64encode(b).decode(),
    lambda b: base64.urlsafe_b64encode(b).decode(),
    lambda b: base64.urlsafe_b64encode(b).decode().rstrip("="),
    lambda b: base64.b64encode(b).decode().rstrip("="),
], ids=["standard", "urlsafe", "urlsafe-unpadded", "standard-unpadded"])
def test_any_key_spelling_and_base64_alphabet_is_accepted(emulator: GeminiEmulator, key_style: str, encode: Any) -> None:
    assert generate(emulator, edit_body(encode(PNG), key_style)).status_code == 200
    assert emulator.calls[0].images == [PNG]


def test_a_single_user_turn_may_omit_its_role(emulator: GeminiEmulator) -> None:
    body = {"contents": [{"parts": [{"text": "a cat"}]}], "generationConfig": {"responseModalities": ["IMAGE"]}}
    assert generate(emulator, body).status_code == 200


def test_the_key_may_come_in_the_query(emulator: GeminiEmulator) -> None:
    answer = post(emulator, "/v1beta/models/gemini-nano-banana-2.1:generateContent?key=k-query",
                  edit_body(base64.b64encode(PNG).decode()), headers={})
    assert answer.status_code == 200 and emulator.calls[0].key_in_query


def test_a_missing_key_is_permission_denied(emulator: GeminiEmulator) -> None:
    answer = post(emulator, "/v1beta/models/gemini-nano-banana-2.1:generateContent",
                  edit_body(base64.b64encode(PNG).decode()), headers={})
    assert answer.status_code == 403 and answer.json()["error"]["status"] == "PERMISSION_DENIED"


def test_an_id_carrying_models_and_a_base_path_prefix_are_served(emulator: GeminiEmulator) -> None:
    answer = post(emulator, "/relay/gemini/v1beta/models/models/gemini-nano-banana-2.1:generateContent",
                  edit_body(base64.b64encode(PNG).decode()))
    assert answer.status_code == 200 and emulator.calls[0].model == "gemini-nano-banana-2.1"


@pytest.mark.parametrize("model", ["gemini-0-image", "gemini-3-pro-image-preview",
                                   "gemini-3.1-flash-image-preview", "gemini-2.5-flash-image"])
def test_an_unknown_or_shut_down_model_is_not_found(emulator: GeminiEmulator, model: str) -> None:
    answer = generate(emulator, edit_body(base64.b64encode(PNG).decode()), model=model)
    assert answer.status_code == 404 and answer.json()["error"]["status"] == "NOT_FOUND"


def test_the_extended_aspect_ratios_are_served_by_3_1_flash_image_only(emulator: GeminiEmulator) -> None:
    body = {"contents": [{"parts": [{"text": "x"}]}],
            "generationConfig": {"imageConfig": {"aspectRatio": "4:1"}}}
    assert generate(emulator, body, model="gemini-3.1-flash-image").status_code == 200
    assert generate(emulator, body, model="gemini-3-pro-image").status_code == 400


def test_several_candidates_are_refused_for_image_models(emulator: GeminiEmulator) -> None:
    body = {"contents": [{"parts": [{"text": "x"}]}], "generationConfig": {"candidateCount": 2}}
    answer = generate(emulator, body)
    assert answer.status_code == 400 and "Multiple candidates" in answer.json()["error"]["message"]


def test_turns_must_alternate(emulator: GeminiEmulator) -> None:
    body = {"contents": [{"role": "user", "parts": [{"text": "a"}]}, {"role": "user", "parts": [{"text": "b"}]}]}
    assert generate(emulator, body).status_code == 400


def test_bytes_that_are_not_an_image_are_refused(emulator: GeminiEmulator) -> None:
    assert generate(emulator, edit_body(base64.b64encode(b"not an image").decode())).status_code == 400


def test_a_gemini_3_image_replayed_without_its_signature_is_accepted_as_google_documents(
    emulator: GeminiEmulator,
) -> None:
    """Vertex thought-signatures page: Gemini 3 Pro Image does not reject the turn."""
    first = generate(emulator, edit_body(base64.b64encode(PNG).decode()), model="gemini-3-pro-image").json()
    parts = [{k: v for k, v in p.items() if k != "thoughtSignature"} for p in first["candidates"][0]["content"]["parts"]]
    body = {"contents": [{"role": "user", "parts": [{"text": "edit"}]}, {"role": "model", "parts": parts},
                         {"role": "user", "parts": [{"text": "again"}]}]}
    assert generate(emulator, body, model="gemini-3-pro-image").status_code == 200


def test_the_strict_signature_switch_refuses_a_turn_without_its_signature(emulator: GeminiEmulator) -> None:
    emulator.require_signatures = True
    first = generate(emulator, edit_body(base64.b64encode(PNG).decode()), model="gemini-3-pro-image").json()
    parts = [{k: v for k, v in p.items() if k != "thoughtSignature"} for p in first["candidates"][0]["content"]["parts"]]
    body = {"contents": [{"role": "user", "parts": [{"text": "edit"}]}, {"role": "model", "parts": parts},
                         {"role": "user", "parts": [{"text": "again"}]}]}
    answer = generate(emulator, body, model="gemini-3-pro-image")
    assert answer.status_code == 400
    assert "missing a thought_signature in content position 2" in answer.json()["error"]["message"]


def test_an_altered_image_in_a_replayed_turn_is_reported(emulator: GeminiEmulator) -> None:
    first = generate(emulator, edit_body(base64.b64encode(PNG).decode()), model="gemini-3-pro-image").json()
    parts = first["candidates"][0]["content"]["parts"]
    parts[1]["inlineData"]["data"] = base64.b64encode(sample_png((1, 2, 3))).decode()
    body = {"contents": [{"role": "user", "parts": [{"text": "edit"}]}, {"role": "model", "parts": parts},
                         {"role": "user", "parts": [{"text": "again"}]}]}
    assert generate(emulator, body, model="gemini-3-pro-image").status_code == 400
    assert emulator.replay_problems


def test_a_magic_prompt_selects_a_canned_answer(emulator: GeminiEmulator) -> None:
    body = {"contents": [{"parts": [{"text": "a fox emulate:finish:IMAGE_SAFETY"}]}],
            "generationConfig": {"responseModalities": ["TEXT", "IMAGE"]}}
    assert generate(emulator, body).json()["candidates"] == [{"finishReason": "IMAGE_SAFETY", "index": 0}]


def test_error_variants_use_googles_envelope(emulator: GeminiEmulator) -> None:
    emulator.next_variants = ["rate_limit"]
    answer = generate(emulator, {"contents": [{"parts": [{"text": "x"}]}]})
    error = answer.json()["error"]
    assert answer.status_code == 429 and error["status"] == "RESOURCE_EXHAUSTED"
    assert any(d["@type"].endswith("RetryInfo") for d in error["details"])


def test_the_model_list_is_paged(emulator: GeminiEmulator) -> None:
    emulator.max_page_size = 4
    first = requests.get(f"{emulator.base_url}/v1/models", headers=KEY, timeout=10).json()
    second = requests.get(f"{emulator.base_url}/v1/models", params={"pageToken": first["nextPageToken"]},
                          headers=KEY, timeout=10).json()
    assert len(first["models"]) == 4 and "nextPageToken" not in second
    assert len(first["models"]) + len(second["models"]) == len(emulator.models)
