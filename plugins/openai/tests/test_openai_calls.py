"""Generating and editing through the host, over real HTTP to the OpenAI emulator."""

from __future__ import annotations

import io
import logging

import pytest
from apiedit.errors import InvalidInputError, UnsupportedFeatureError
from PIL import Image


def _image(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def test_text_to_image_posts_json_to_generations(call, emulator, sentinel_key):
    result = call(prompt="a red fox in snow", quality="low")
    (sent,) = emulator.requests_to("/images/generations")
    assert sent.headers["authorization"] == f"Bearer {sentinel_key}"
    assert sent.json() == {"model": "gpt-image-1.5", "prompt": "a red fox in snow", "quality": "low"}
    assert len(result.images) == 1 and result.images[0].mime_type == "image/png"
    assert _image(result.images[0].data).size == (1024, 1024)
    assert result.request_id and result.request_id.startswith("req_")
    assert result.usage["total_tokens"] > 0
    assert result.info["endpoint"] == "generations" and result.info["quality"] == "low"
    assert emulator.billable_count == 1


def test_edit_with_one_image_sends_field_image(call, emulator, png):
    source = png((10, 200, 10))
    result = call(prompt="make it night", images=[source])
    (received,) = emulator.calls
    assert received.endpoint == "edits" and received.body_kind == "multipart"
    assert received.image_fields == ["image"]
    assert received.images == [source]  # PNG within budget: sent byte for byte
    assert _image(result.images[0].data).getpixel((5, 5))[:3] == (10, 200, 10)
    assert result.info["endpoint"] == "edits" and result.info["input_images"] == 1


def test_edit_with_four_images_keeps_their_order(call, emulator, png):
    colours = [(250, 0, 0), (0, 250, 0), (0, 0, 250), (250, 250, 0)]
    sources = [png(c) for c in colours]
    result = call(prompt="combine these", images=sources)
    (received,) = emulator.calls
    assert received.image_fields == ["image[]"] * 4
    assert received.images == sources
    # The emulator paints the inputs' colours as strips, left to right, in the order received.
    out = _image(result.images[0].data).convert("RGB")
    strip = out.width // 4
    assert [out.getpixel((i * strip + strip // 2, 10)) for i in range(4)] == colours
    assert emulator.billable_count == 1


def test_n_2_returns_two_different_images(call, emulator):
    result = call(n=2)
    assert emulator.requests_to("/images/generations")[0].json()["n"] == 2
    assert len(result.images) == 2
    assert result.images[0].data != result.images[1].data
    assert emulator.billable_count == 1


def test_n_1_is_not_sent(call, emulator):
    call()
    assert "n" not in emulator.requests_to("/images/generations")[0].json()


def test_greyscale_mask_becomes_transparent_where_white(call, emulator, png):
    from PIL import Image

    mask = Image.new("L", (32, 24), 0)
    mask.paste(255, (0, 0, 16, 24))  # left half white = edit here (ComfyUI convention)
    buf = io.BytesIO()
    mask.save(buf, "PNG")
    call(prompt="add a moon", images=[png(size=(64, 48))], mask=buf.getvalue())
    (received,) = emulator.calls
    sent = _image(received.mask)
    assert sent.format == "PNG" and sent.mode == "RGBA"
    assert sent.size == (64, 48)  # resized to the first image
    assert sent.getpixel((5, 20))[3] == 0  # white -> transparent -> edited
    assert sent.getpixel((60, 20))[3] == 255  # black -> opaque -> kept


def test_mask_with_transparency_keeps_openai_polarity(call, emulator, png):
    mask = make_rgba_mask()
    call(prompt="add a moon", images=[png(size=(64, 48))], mask=mask)
    sent = _image(emulator.calls[0].mask)
    assert sent.getpixel((5, 5))[3] == 0 and sent.getpixel((60, 40))[3] == 255


def make_rgba_mask() -> bytes:
    img = Image.new("RGBA", (64, 48), (0, 0, 0, 255))
    img.paste((0, 0, 0, 0), (0, 0, 32, 24))  # top-left quarter transparent = edit here
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def test_three_turns_feed_the_last_output_back(call, emulator, png):
    first = call(prompt="a cottage", images=[png((120, 60, 30))])
    second = call(prompt="add snow", images=[first.images[0].data])
    third = call(prompt="make it night", images=[second.images[0].data])
    assert [c.prompt for c in emulator.calls] == ["a cottage", "add snow", "make it night"]
    # Turn 2 edited turn 1's output, and turn 3 received exactly turn 2's output.
    assert emulator.origin_of(emulator.calls[1].images[0]) == (0, 0)
    assert emulator.origin_of(emulator.calls[2].images[0]) == (1, 0)
    assert emulator.origin_of(third.images[0].data) == (2, 0)
    assert emulator.billable_count == 3


def test_large_input_is_downscaled_to_the_pixel_budget(call, emulator):
    big = Image.new("RGB", (4000, 3000), (90, 90, 200))
    buf = io.BytesIO()
    big.save(buf, "JPEG", quality=80)
    call(prompt="tidy up", images=[buf.getvalue()])
    sent = _image(emulator.calls[0].images[0])
    assert sent.width * sent.height <= 2048 * 2048
    assert abs(sent.width / sent.height - 4 / 3) < 0.01


def test_quality_is_passed_through(call, emulator):
    call(model="gpt-image-2.5-flare", quality="xhigh")
    assert emulator.requests_to("/images/generations")[0].json()["quality"] == "xhigh"


def test_quality_the_model_lacks_is_refused_before_sending(call, emulator):
    with pytest.raises(UnsupportedFeatureError, match="quality 'xhigh'"):
        call(model="gpt-image-1.5", quality="xhigh")
    assert emulator.requests == []


def test_extra_options_are_sent_and_unknown_ones_reported(call, emulator):
    result = call(extra={"background": "transparent", "output_format": "webp", "colour": "red"})
    body = emulator.requests_to("/images/generations")[0].json()
    assert body["background"] == "transparent" and body["output_format"] == "webp"
    assert "colour" not in body
    assert result.images[0].mime_type == "image/webp"
    assert any("'colour'" in w for w in result.warnings)


def test_response_format_is_not_sent_to_gpt_image_models(call, emulator):
    result = call(extra={"response_format": "b64_json"})
    assert "response_format" not in emulator.requests_to("/images/generations")[0].json()
    assert any("response_format" in w for w in result.warnings)


def test_seed_and_negative_prompt_become_warnings(call, emulator):
    result = call(seed=7, negative_prompt="blurry")
    body = emulator.requests_to("/images/generations")[0].json()
    assert "seed" not in body and "negative_prompt" not in body
    assert any("seed" in w for w in result.warnings)
    assert any("negative prompt" in w for w in result.warnings)


def test_too_long_prompt_is_refused_before_sending(call, emulator):
    with pytest.raises(InvalidInputError, match="32,000"):
        call(prompt="x" * 32_001)
    assert emulator.requests == []


def test_seventeen_images_are_refused_before_sending(call, emulator, png):
    with pytest.raises(UnsupportedFeatureError, match="at most 16"):
        call(images=[png()] * 17)
    assert emulator.requests == []


def test_progress_lines_are_reported(host, emulator, sentinel_key):
    from apiedit.types import EditRequest

    lines: list[str] = []
    host.edit("openai", EditRequest(model="gpt-image-1.5", prompt="p"), api_key=sentinel_key,
              base_url=emulator.base_url, progress=lines.append)
    assert any("generating" in line for line in lines)


def test_sentinel_key_never_reaches_logs_results_or_errors(call, emulator, sentinel_key, caplog):
    caplog.set_level(logging.DEBUG)
    result = call()
    emulator.valid_keys = {"some-other-key"}
    with pytest.raises(Exception) as caught:
        call()
    assert sentinel_key not in caplog.text
    assert sentinel_key not in repr(result) and sentinel_key not in str(result.raw)
    assert sentinel_key not in str(caught.value) and sentinel_key[-4:] not in str(caught.value)
