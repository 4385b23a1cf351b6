"""Tensor <-> image conversions of the node (torch only here, as in ComfyUI)."""

from __future__ import annotations

import io

import pytest

torch = pytest.importorskip("torch")
from PIL import Image  # noqa: E402

from apiedit.types import ImageData  # noqa: E402
from apiedit_comfy.tensors import batch_to_images, images_to_batch, mask_to_alpha_png  # noqa: E402


def png(size: tuple[int, int], colour: tuple[int, int, int]) -> ImageData:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    return ImageData(buf.getvalue())


def test_every_frame_of_a_batch_becomes_an_image_in_order() -> None:
    batch = torch.zeros(3, 8, 12, 3)
    for i in range(3):
        batch[i, :, :, i] = 1.0
    images = batch_to_images(batch)
    colours = [Image.open(io.BytesIO(i.data)).getpixel((0, 0)) for i in images]
    assert colours == [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    assert Image.open(io.BytesIO(images[0].data)).size == (12, 8)


def test_round_trip_keeps_pixels() -> None:
    batch = images_to_batch([png((10, 6), (10, 200, 30))])
    assert tuple(batch.shape) == (1, 6, 10, 3)
    again = Image.open(io.BytesIO(batch_to_images(batch)[0].data))
    assert again.getpixel((5, 3)) == (10, 200, 30)


def test_different_sizes_are_letterboxed_to_the_first_image() -> None:
    batch = images_to_batch([png((40, 20), (255, 0, 0)), png((20, 20), (0, 255, 0))])
    assert tuple(batch.shape) == (2, 20, 40, 3)
    second = batch[1]
    assert second[10, 20].tolist() == pytest.approx([0.0, 1.0, 0.0])  # centre: the image
    assert second[10, 2].tolist() == [0.0, 0.0, 0.0]  # sides: padding, not stretching


def test_mask_becomes_transparent_where_masked_and_is_resized() -> None:
    mask = torch.zeros(1, 4, 4)
    mask[0, :2, :] = 1.0  # top half masked
    alpha = Image.open(io.BytesIO(mask_to_alpha_png(mask, (8, 8)).data)).getchannel("A")
    assert alpha.size == (8, 8)
    assert alpha.getpixel((0, 0)) == 0 and alpha.getpixel((0, 7)) == 255
