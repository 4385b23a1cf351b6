"""IMAGE/MASK tensors <-> encoded images. The only place that touches torch and numpy.

ComfyUI IMAGE is float32 [B, H, W, 3] in 0..1; MASK is [B, H, W] or [H, W] with 1 = masked.
"""

from __future__ import annotations

import io
from typing import Any, Sequence

from apiedit.types import ImageData

__all__ = ["batch_to_images", "images_to_batch", "mask_to_alpha_png"]


JPEG_QUALITY = 98  # with 4:4:4 chroma: PSNR >= 45 dB on photos, no visible loss
_Z_RLE = 3  # zlib strategy: as small as the default on photos, far smaller than Huffman-only on graphics
_PHOTO_COLOURS = 2048  # distinct colours among ~16k sampled pixels above which a frame is a photo


def _is_photo_like(array: Any) -> bool:
    """Many distinct colours on a coarse grid: a photo or render, not flat graphics or text."""
    import numpy as np

    step = max(1, int((array.shape[0] * array.shape[1] / 16384) ** 0.5))
    sample = np.ascontiguousarray(array[::step, ::step, :3]).reshape(-1, 3).astype(np.uint32)
    packed = (sample[:, 0] << 16) | (sample[:, 1] << 8) | sample[:, 2]
    return len(np.unique(packed)) > min(_PHOTO_COLOURS, len(packed) // 8)


def batch_to_images(batch: Any, *, lossless: bool = False) -> list[ImageData]:
    """Every frame of an IMAGE batch as upload bytes, in order.

    Opaque photo-like frames become JPEG q98 4:4:4 (~50x faster to encode than Pillow's default
    PNG and about half its size, PSNR >= 45 dB); frames with alpha, flat graphics, and every
    frame when `lossless` (the node's `lossless_upload`, or a mask that must line up with the
    pixels) become PNG with zlib's fast RLE strategy. A provider that takes no JPEG gets the
    pixels re-encoded losslessly by `prepare_upload`.
    """
    import torch
    from PIL import Image

    out = []
    for frame in batch:
        array = (frame.detach().float().clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()
        mode = "RGBA" if array.shape[-1] == 4 else "RGB"
        buf = io.BytesIO()
        image = Image.fromarray(array, mode)
        if mode == "RGB" and not lossless and _is_photo_like(array):
            image.save(buf, "JPEG", quality=JPEG_QUALITY, subsampling=0)
            out.append(ImageData(buf.getvalue(), "image/jpeg"))
        else:
            image.save(buf, "PNG", compress_level=1, compress_type=_Z_RLE)
            out.append(ImageData(buf.getvalue(), "image/png"))
    return out


def mask_to_alpha_png(mask: Any, size: tuple[int, int]) -> ImageData:
    """A ComfyUI MASK as an RGBA PNG whose transparent pixels mark the area to edit.

    That is the OpenAI convention apiedit uses for `EditRequest.mask`; the mask is resized to the
    first input image (LoadImage gives a 64x64 mask for images without alpha).
    """
    import numpy as np
    from PIL import Image

    m = mask[0] if mask.dim() == 3 else mask
    array = (m.detach().cpu().float().clamp(0, 1).numpy() * 255).round().astype(np.uint8)
    alpha = Image.fromarray(255 - array, "L").resize(size, Image.Resampling.NEAREST)
    rgba = Image.new("RGBA", size, (0, 0, 0, 255))
    rgba.putalpha(alpha)
    buf = io.BytesIO()
    rgba.save(buf, "PNG")
    return ImageData(buf.getvalue(), "image/png")


def images_to_batch(images: Sequence[ImageData]) -> Any:
    """Decoded images as one IMAGE batch.

    Images of different sizes cannot be stacked: each one is scaled to fit the first image's
    size, keeping its aspect ratio, and centred on a black canvas of that size (letterboxing).
    Nothing is cropped and the first image is unchanged.
    """
    import numpy as np
    import torch
    from PIL import Image

    from apiedit.images import open_image

    decoded = [open_image(image.data).convert("RGB") for image in images]
    target = decoded[0].size
    frames = []
    for img in decoded:
        if img.size != target:
            scale = min(target[0] / img.width, target[1] / img.height)
            fitted = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))),
                                Image.Resampling.LANCZOS)
            canvas = Image.new("RGB", target, (0, 0, 0))
            canvas.paste(fitted, ((target[0] - fitted.width) // 2, (target[1] - fitted.height) // 2))
            img = canvas
        frames.append(torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0))
    return torch.stack(frames)
