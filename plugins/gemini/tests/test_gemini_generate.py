"""Text-to-image and editing over real HTTP, through both transports."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from apiedit import EditResult, ImageData, UnsupportedFeatureError
from apiedit.images import image_size
from apiedit.testing.conformance import sample_png
from apiedit_gemini.emulator import GeminiEmulator
from PIL import Image

Call = Callable[..., EditResult]


def big_png(size: tuple[int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buf, "PNG")
    return buf.getvalue()


def test_text_to_image_sends_one_user_turn_and_returns_the_image(
    transport: str, call: Call, emulator: GeminiEmulator
) -> None:
    result = call(prompt="a red fox in snow")
    sent = emulator.calls[0]
    assert sent.body["contents"] == [{"role": "user", "parts": [{"text": "a red fox in snow"}]}]
    assert sent.body["generationConfig"]["responseModalities"] == ["TEXT", "IMAGE"]
    assert image_size(result.images[0].data) == (1024 // 8, 1024 // 8)
    assert result.images[0].mime_type == "image/png"
    assert result.text == "Here is the image you asked for."
    assert result.info["transport"] == transport
    assert emulator.billable_count == 1


def test_key_is_sent_in_the_header_never_in_the_url(
    transport: str, call: Call, emulator: GeminiEmulator, sentinel_key: str
) -> None:
    call()
    request = emulator.calls[0].request
    assert request.headers["x-goog-api-key"] == sentinel_key
    assert not emulator.calls[0].key_in_query and "key" not in request.query


def test_default_path_is_v1beta_models_generate_content(transport: str, call: Call, emulator: GeminiEmulator) -> None:
    call(model="gemini-3-pro-image")
    assert emulator.calls[0].request.path == "/v1beta/models/gemini-3-pro-image:generateContent"


def test_api_version_env_switches_the_path(
    transport: str, call: Call, emulator: GeminiEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APIEDIT_GEMINI_API_VERSION", "v1")
    result = call()
    assert emulator.calls[0].request.path == "/v1/models/gemini-nano-banana-2.1:generateContent"
    assert result.info["api_version"] == "v1"


def test_base_url_path_prefix_and_version_suffix_are_kept(
    transport: str, host: Any, emulator: GeminiEmulator, sentinel_key: str
) -> None:
    from apiedit import EditRequest

    request = EditRequest(model="gemini-nano-banana-2.1", prompt="fox")
    host.edit("gemini", request, api_key=sentinel_key, base_url=f"{emulator.base_url}/relay/v1")
    assert emulator.calls[0].request.path == "/relay/v1/models/gemini-nano-banana-2.1:generateContent"


def test_edit_with_one_image_sends_it_inline_after_the_prompt(
    transport: str, call: Call, emulator: GeminiEmulator
) -> None:
    png = sample_png((200, 40, 40))
    call(prompt="make it blue", images=(ImageData(png),))
    parts = emulator.calls[0].current["parts"]
    assert parts[0] == {"text": "make it blue"}
    assert parts[1]["inlineData"]["mimeType"] == "image/png"
    assert emulator.calls[0].images == [png]


def test_compose_sends_every_image_in_order_in_one_request(
    transport: str, call: Call, emulator: GeminiEmulator
) -> None:
    inputs = [sample_png((40 * i, 90, 200 - 40 * i)) for i in range(5)]
    result = call(model="gemini-3-pro-image", prompt="put them together",
                  images=tuple(ImageData(b) for b in inputs))
    assert emulator.calls[0].images == inputs
    assert emulator.billable_count == 1
    assert result.images


def test_inputs_above_the_pixel_budget_are_downscaled(transport: str, call: Call, emulator: GeminiEmulator) -> None:
    call(prompt="tidy up", images=(ImageData(big_png((3000, 2000))),))
    width, height = image_size(emulator.calls[0].images[0])
    assert width * height <= 2048 * 2048 and width / height == pytest.approx(1.5, rel=0.01)


def test_aspect_ratio_and_resolution_go_into_image_config(
    transport: str, call: Call, emulator: GeminiEmulator
) -> None:
    result = call(model="gemini-3-pro-image", aspect_ratio="16:9", resolution="2K")
    assert emulator.calls[0].body["generationConfig"]["imageConfig"] == {"aspectRatio": "16:9", "imageSize": "2K"}
    assert image_size(result.images[0].data) == (2752 // 8, 1536 // 8)


def test_an_aspect_ratio_alone_sends_no_image_size(
    transport: str, call: Call, emulator: GeminiEmulator
) -> None:
    call(model="gemini-nano-banana-2.1", aspect_ratio="3:4")
    assert emulator.calls[0].body["generationConfig"]["imageConfig"] == {"aspectRatio": "3:4"}


def test_a_pixel_size_is_sent_as_its_aspect_ratio_and_image_size(
    transport: str, call: Call, emulator: GeminiEmulator
) -> None:
    call(model="gemini-3-pro-image", size="1264x848")
    assert emulator.calls[0].body["generationConfig"]["imageConfig"] == {"aspectRatio": "3:2", "imageSize": "1K"}


def test_size_auto_sends_no_image_config(transport: str, call: Call, emulator: GeminiEmulator) -> None:
    call(size="auto")
    assert "imageConfig" not in emulator.calls[0].body["generationConfig"]


def test_a_size_that_contradicts_the_aspect_ratio_is_refused_before_sending(
    call: Call, emulator: GeminiEmulator
) -> None:
    with pytest.raises(UnsupportedFeatureError, match="contradicts"):
        call(model="gemini-nano-banana-2.1", size="1376x768", aspect_ratio="1:1")
    assert emulator.requests == []


def test_an_unknown_size_is_refused_before_sending(call: Call, emulator: GeminiEmulator) -> None:
    with pytest.raises(UnsupportedFeatureError):
        call(model="gemini-nano-banana-2.1", size="1000x1000")
    assert emulator.requests == []


def test_seed_is_sent_in_generation_config(transport: str, call: Call, emulator: GeminiEmulator) -> None:
    call(seed=42)
    assert emulator.calls[0].body["generationConfig"]["seed"] == 42


def test_a_seed_beyond_32_bits_is_reduced_with_a_warning(call: Call, emulator: GeminiEmulator) -> None:
    result = call(seed=2**40 + 5)
    assert emulator.calls[0].body["generationConfig"]["seed"] == 5
    assert any("32-bit" in w for w in result.warnings)


def test_negative_prompt_is_not_sent_and_is_warned_about(call: Call, emulator: GeminiEmulator) -> None:
    result = call(negative_prompt="blurry")
    assert "blurry" not in emulator.calls[0].request.body.decode()
    assert any("negative prompt" in w for w in result.warnings)


def test_unknown_extra_options_are_warned_about_and_not_sent(call: Call, emulator: GeminiEmulator) -> None:
    result = call(extra={"temperature": 0.5, "fancy": True})
    assert emulator.calls[0].body["generationConfig"]["temperature"] == 0.5
    assert "fancy" not in emulator.calls[0].request.body.decode()
    assert any("'fancy'" in w for w in result.warnings)


def test_image_only_modality_can_be_requested(transport: str, call: Call, emulator: GeminiEmulator) -> None:
    emulator.variant = "image_only"
    result = call(extra={"response_modalities": ["IMAGE"]})
    assert emulator.calls[0].body["generationConfig"]["responseModalities"] == ["IMAGE"]
    assert result.images and result.text == ""


def test_jpeg_bytes_labelled_png_come_back_labelled_jpeg(transport: str, call: Call, emulator: GeminiEmulator) -> None:
    emulator.variant = "jpeg_as_png"
    result = call()
    assert result.images[0].mime_type == "image/jpeg"
    assert result.images[0].data.startswith(b"\xff\xd8\xff")


def test_thought_parts_are_neither_images_nor_text_of_the_result(
    transport: str, call: Call, emulator: GeminiEmulator
) -> None:
    emulator.variant = "with_thoughts"
    result = call(model="gemini-3-pro-image")
    assert len(result.images) == 1
    assert "Planning" not in result.text
    assert result.info["thought_parts"] == 2


def test_every_image_of_the_answer_is_returned(transport: str, call: Call, emulator: GeminiEmulator) -> None:
    emulator.variant = "two_images"
    assert len(call().images) == 2


@pytest.mark.parametrize("alphabet", ["urlsafe", "unpadded"])
def test_answers_in_any_base64_spelling_decode(
    transport: str, call: Call, emulator: GeminiEmulator, alphabet: str
) -> None:
    emulator.response_base64 = alphabet
    result = call()
    assert result.images[0].data.startswith(b"\x89PNG")


def test_usage_and_response_id_are_reported(transport: str, call: Call, emulator: GeminiEmulator) -> None:
    result = call()
    assert result.request_id == "emu-0001"
    assert result.usage["output_tokens"] == 1290 + 12
    assert result.usage["total_tokens"] == result.usage["input_tokens"] + result.usage["output_tokens"]
    assert result.info["model_version"] == "gemini-nano-banana-2.1"
    assert result.info["finish_reason"] == "STOP"
