"""December 2026 parameters (openai-python 3.57.0): complexity, markup, input_fidelity per model,
and gif/svg output refused clearly rather than half-supported."""

from __future__ import annotations

import pytest
from apiedit.errors import UnsupportedFeatureError


def test_complexity_is_sent_on_generate_and_edit(call, emulator, png):
    call(model="gpt-image-2.6-flare", extra={"complexity": "high"})
    call(model="gpt-image-2.6-flare", images=[png()], extra={"complexity": "low"})
    first, second = emulator.calls
    assert first.params["complexity"] == "high" and second.params["complexity"] == "low"


def test_a_bad_complexity_is_refused_before_sending(call, emulator):
    with pytest.raises(UnsupportedFeatureError, match="complexity must be one of low, medium, high"):
        call(model="gpt-image-2.5-flare", extra={"complexity": "extreme"})
    assert emulator.requests == []


def test_markup_goes_as_a_png_file_for_gpt_image_2_5(call, emulator, png):
    overlay = png(size=(64, 64), mode="RGBA")
    call(model="gpt-image-2.5-flare", images=[png(size=(64, 64))], extra={"markup": overlay})
    (received,) = emulator.calls
    assert received.markup == overlay


@pytest.mark.parametrize(("model", "with_mask", "match"), [
    ("gpt-image-1.5", False, "takes no markup"),
    ("gpt-image-2.5-sunburst", True, "markup or a mask, not both"),
])
def test_markup_where_openai_refuses_it_is_refused_before_sending(call, emulator, png, model, with_mask, match):
    image = png(size=(64, 64))
    fields = {"mask": png(size=(64, 64), mode="RGBA")} if with_mask else {}
    with pytest.raises(UnsupportedFeatureError, match=match):
        call(model=model, images=[image], extra={"markup": png(size=(64, 64), mode="RGBA")}, **fields)
    assert emulator.requests == []


def test_input_fidelity_is_not_sent_to_gpt_image_2_models(call, emulator, png):
    result = call(model="gpt-image-2.6-sunburst", images=[png()], extra={"input_fidelity": "high"})
    assert "input_fidelity" not in emulator.calls[0].params
    assert any("input_fidelity was not sent" in w for w in result.warnings)


def test_gpt_image_1_mini_takes_only_low_input_fidelity(call, emulator, png):
    with pytest.raises(UnsupportedFeatureError, match="only input_fidelity 'low'"):
        call(model="gpt-image-1-mini", images=[png()], extra={"input_fidelity": "high"})
    call(model="gpt-image-1-mini", images=[png()], extra={"input_fidelity": "low"})
    assert emulator.calls[0].params["input_fidelity"] == "low"


@pytest.mark.parametrize("fmt", ["gif", "svg"])
def test_gif_and_svg_output_are_refused_clearly(call, emulator, fmt):
    with pytest.raises(UnsupportedFeatureError, match=f"output_format '{fmt}' is not supported"):
        call(model="gpt-image-2.6-flare", extra={"output_format": fmt})
    assert emulator.requests == []
