"""The one output painter for emulators: distinct, recognisable images a test can read back.

An emulator's answer image must show what the request asked for, so that a test (and the
conformance suite) can tell "the inputs arrived in order" and "image 2 of 3 came back second"
from the pixels, whichever provider it speaks:
  * a strip of blocks, left to right: one per input image, filled with that input's mean colour,
    in the order received; with no inputs, one block in the prompt's colour (`prompt_colour`);
  * a band along the bottom eighth, black with `index + 1` white ticks: the output's position
    in its answer (`painted_index` reads it back);
  * the requested `size` (exact) or aspect `ratio` ("16:9"; the short side two blocks high).
`block_colours` and `painted_index` decode these. With `storybook=True` (an emulator in front
of a person: `apiedit demo`, `apiedit emulate`) the picture is the storybook's readable scene
instead, captioned with its index when there are several. Pillow only, imported when painting.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Sequence

__all__ = ["BLOCK", "block_colours", "mean_colour", "paint_output", "painted_index",
           "prompt_colour", "strip"]

BLOCK = 32  # pixels per block along the strip when no exact size is asked for
_RATIO = re.compile(r"^(\d+(?:\.\d+)?):(\d+(?:\.\d+)?)$")
_SIZE = re.compile(r"^(\d+)[x*](\d+)$")


def prompt_colour(prompt: str) -> tuple[int, int, int]:
    """The colour a text-to-image answer paints for `prompt` (the first 3 bytes of its SHA-256)."""
    digest = hashlib.sha256(prompt.encode()).digest()
    return digest[0], digest[1], digest[2]


def mean_colour(data: bytes) -> tuple[int, int, int]:
    """The average RGB colour of an encoded image."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        pixel = img.convert("RGB").resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
        r, g, b = pixel  # type: ignore[misc]
        return int(r), int(g), int(b)


def _dimensions(count: int, size: tuple[int, int] | str | None, ratio: str | None) -> tuple[int, int]:
    if isinstance(size, str):
        found = _SIZE.match(size.strip())
        size = (int(found[1]), int(found[2])) if found else None
    if size:
        return max(1, int(size[0])), max(1, int(size[1]))
    w, h = 1.0, 1.0
    if ratio and _RATIO.match(ratio.strip()):
        w, h = (float(x) for x in ratio.strip().split(":"))
    scale = max(BLOCK * 2 / min(w, h), BLOCK * count / w)
    return max(1, round(w * scale)), max(1, round(h * scale))


def strip(colours: Sequence[tuple[int, int, int]], *, size: tuple[int, int] | str | None = None,
          ratio: str | None = None, index: int | None = 0, fmt: str = "PNG",
          serial: int | None = None) -> bytes:
    """The test picture: `colours` as blocks left to right, the index band unless `index` is
    None, at `size` ("WxH" or a tuple) or `ratio`; encoded as `fmt`. A `serial` is written into
    the top-left pixel, so that repeated answers to one request differ too."""
    from PIL import Image, ImageDraw

    colours = list(colours) or [(128, 128, 128)]
    w, h = _dimensions(len(colours), size, ratio)
    line = Image.new("RGB", (len(colours), 1))
    for i, colour in enumerate(colours):
        line.putpixel((i, 0), tuple(colour))
    img = line.resize((w, h), Image.Resampling.NEAREST)
    if index is not None and index >= 0:
        band = max(2, h // 8)
        draw = ImageDraw.Draw(img)
        draw.rectangle((0, h - band, w, h), fill=(0, 0, 0))
        ticks = index + 1
        slot = w / (2 * ticks + 1)  # black, tick, black, tick, ..., black
        for t in range(ticks):
            x0 = round((2 * t + 1) * slot)
            draw.rectangle((x0, h - band, max(x0, round((2 * t + 2) * slot) - 1), h), fill=(255, 255, 255))
    if serial is not None:
        img.putpixel((0, 0), (serial % 251, serial // 251 % 251, 255 - serial % 7))
    buf = io.BytesIO()
    img.save(buf, "JPEG" if fmt.upper() in ("JPEG", "JPG") else fmt.upper())
    return buf.getvalue()


def paint_output(prompt: str = "", inputs: Sequence[bytes] = (), *, index: int = 0,
                 size: tuple[int, int] | str | None = None, ratio: str | None = None,
                 fmt: str = "PNG", storybook: bool = False, label: str = "") -> bytes:
    """Output image `index` of an answer to `prompt` with `inputs` (encoded images, in order).

    The blocks show the inputs' mean colours in order (or the prompt's colour), the band shows
    `index`; `storybook=True` paints the readable storybook scene instead (at most 768 px)."""
    if storybook:
        from .storybook import paint

        w, h = _dimensions(1, size, ratio) if (size or ratio) else (512, 512)
        tag = f"{label} #{index + 1}".strip() if index else label
        return paint(prompt, [i for i in inputs if i], (w, h), fmt=fmt, label=tag)
    colours = [mean_colour(i) if i else (128, 128, 128) for i in inputs] or [prompt_colour(prompt)]
    return strip(colours, size=size, ratio=ratio, index=index, fmt=fmt)


def block_colours(data: bytes, count: int) -> list[tuple[int, int, int]]:
    """The colours of the `count` blocks of a painted image, left to right (read above the band)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        rgb = img.convert("RGB")
        w, h = rgb.size
        pixels = [rgb.getpixel((int((i + 0.5) * w / count), h // 2)) for i in range(count)]
        return [(int(p[0]), int(p[1]), int(p[2])) for p in pixels]  # type: ignore[index]


def painted_index(data: bytes) -> int | None:
    """The index band of a painted image (its position in the answer), or None without a band."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        rgb = img.convert("L")
        w, h = rgb.size
        band = max(2, h // 8)
        y = h - 1 - band // 2
        row = [rgb.getpixel((x, y)) > 127 for x in range(w)]  # type: ignore[operator]
    if not row or row[0] or row[-1]:  # the band starts and ends black
        return None
    ticks = sum(1 for x in range(1, w) if row[x] and not row[x - 1])
    return ticks - 1 if ticks else None
