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


def photo_batch(size: int = 256) -> "torch.Tensor":
    """Smooth gradients with fine texture: what a photo looks like to the encoder."""
    g = torch.Generator().manual_seed(7)
    y, x = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    base = torch.stack([x, y, (x + y) / 2], dim=-1)
    noise = torch.nn.functional.avg_pool2d(torch.rand(1, 3, size, size, generator=g), 5, 1, 2)[0]
    return (base * 0.7 + noise.permute(1, 2, 0) * 0.3).clamp(0, 1)[None]


def psnr(a: Image.Image, b: "torch.Tensor") -> float:
    import numpy as np

    ref = (b[0].numpy() * 255).round()
    mse = ((np.asarray(a.convert("RGB"), dtype=float) - ref) ** 2).mean()
    return 99.0 if mse == 0 else float(10 * np.log10(255**2 / mse))


def test_a_photo_goes_as_high_quality_jpeg() -> None:
    batch = photo_batch()
    (image,) = batch_to_images(batch)
    assert image.mime_type == "image/jpeg" and image.data.startswith(b"\xff\xd8")
    assert psnr(Image.open(io.BytesIO(image.data)), batch) >= 45


def test_lossless_upload_sends_the_exact_pixels_as_png() -> None:
    batch = photo_batch()
    (image,) = batch_to_images(batch, lossless=True)
    assert image.mime_type == "image/png"
    assert psnr(Image.open(io.BytesIO(image.data)), batch) == 99.0


def test_flat_graphics_and_alpha_stay_lossless() -> None:
    graphic = torch.zeros(1, 64, 64, 3)
    graphic[0, 10:30, 10:50] = torch.tensor([1.0, 0.5, 0.0])
    assert batch_to_images(graphic)[0].mime_type == "image/png"
    rgba = torch.cat([photo_batch(64), torch.full((1, 64, 64, 1), 0.5)], dim=-1)
    (image,) = batch_to_images(rgba)
    assert image.mime_type == "image/png" and Image.open(io.BytesIO(image.data)).mode == "RGBA"
