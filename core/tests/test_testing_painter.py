"""apiedit.testing.painter: the shared output painter's pictures read back as painted."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from apiedit.testing.conformance import sample_png
from apiedit.testing.painter import (block_colours, mean_colour, paint_output, painted_index,
                                     prompt_colour, strip)


def _close(a: tuple[int, ...], b: tuple[int, ...], tolerance: int = 8) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b))


def test_inputs_show_as_blocks_in_order() -> None:
    colours = [(200, 30, 30), (30, 200, 30), (30, 30, 200)]
    out = paint_output("p", [sample_png(c) for c in colours])
    assert all(_close(c, e) for c, e in zip(block_colours(out, 3), colours))
    reversed_out = paint_output("p", [sample_png(c) for c in reversed(colours)])
    assert block_colours(reversed_out, 3) != block_colours(out, 3)


def test_text_to_image_is_the_prompts_colour_and_prompts_differ() -> None:
    out = paint_output("a red fox")
    assert _close(block_colours(out, 1)[0], prompt_colour("a red fox"), 0)
    assert paint_output("a red fox") != paint_output("a blue fox")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_each_index_is_distinct_and_reads_back(fmt: str) -> None:
    images = [paint_output("p", index=i, fmt=fmt) for i in range(6)]
    assert len(set(images)) == 6
    assert [painted_index(i) for i in images] == list(range(6))


def test_size_is_exact_and_ratio_is_kept() -> None:
    assert Image.open(io.BytesIO(paint_output("p", size=(40, 24)))).size == (40, 24)
    assert Image.open(io.BytesIO(paint_output("p", size="300x200"))).size == (300, 200)
    w, h = Image.open(io.BytesIO(paint_output("p", ratio="16:9"))).size
    assert abs(w / h - 16 / 9) < 0.02
    assert painted_index(paint_output("p", index=3, size=(32, 32))) == 3


def test_a_picture_without_a_band_has_no_index() -> None:
    assert painted_index(sample_png()) is None
    assert painted_index(strip([(255, 255, 255)], index=None)) is None
    assert mean_colour(strip([(10, 20, 30)], index=None)) == (10, 20, 30)


def test_storybook_paints_the_readable_scene_at_the_size() -> None:
    out = paint_output("a smiling face", storybook=True, size=(320, 240), label="Acme", index=1)
    img = Image.open(io.BytesIO(out))
    assert abs(img.width / img.height - 320 / 240) < 0.1  # the storybook rounds to its grid
    assert out != paint_output("a smiling face", storybook=True, size=(320, 240), label="Acme")
