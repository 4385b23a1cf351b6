"""Pictures a person can read, for emulators in front of people (`apiedit demo`, `apiedit emulate`).

Test emulators paint colour codes that assertions decode; this painter instead shows what a
request meant: the prompt's words are written into the picture, a few words are drawn (a face,
a smile, a flower, a cat, a beach, a park...), an edit visibly changes its input, and a
composition puts the inputs' subjects into one scene. Emulators call `paint()` when their
`storybook` flag is on. Pillow only; no fonts beyond what the system or Pillow ships.
"""

from __future__ import annotations

import functools
import hashlib
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

__all__ = ["Frame", "draw_cat", "draw_portrait", "paint"]

_FONT_FILES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # CJK prompts, where installed
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/System/Library/Fonts/Supplemental/Arial Unicode.ttf",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/arial.ttf",
)
SKIN = (236, 196, 160)
HAIR = (92, 58, 38)
BACKDROP = (196, 214, 232)  # the flat studio background of the demo's input portrait
MAX_SIDE = 768  # storybook pictures are for looking at, not for pixel budgets


@functools.lru_cache(maxsize=16)
def _font(size: int) -> Any:
    from PIL import ImageFont

    for path in _FONT_FILES:
        if Path(path).exists():
            try:
                return ImageFont.truetype(path, size)
            except OSError:
                continue
    try:
        return ImageFont.load_default(size)  # Pillow >= 10.1 ships a scalable default font
    except TypeError:
        return ImageFont.load_default()


def _hash_colour(text: str, lo: int = 60, hi: int = 200) -> tuple[int, int, int]:
    digest = hashlib.sha256(text.encode()).digest()
    return tuple(lo + b * (hi - lo) // 255 for b in digest[:3])  # type: ignore[return-value]


@dataclass(frozen=True)
class Frame:
    """Where things go: the picture above the caption band, and the face's place in it."""

    w: int
    h: int

    @property
    def band(self) -> int:
        return max(28, self.h // 7)

    @property
    def ch(self) -> int:  # content height
        return self.h - self.band

    @property
    def face(self) -> tuple[float, float, float]:
        r = min(self.w, self.ch) * 0.24
        return self.w / 2, self.ch * 0.47, r


# ---- things to draw ----------------------------------------------------------------------------


def _face(draw: Any, cx: float, cy: float, r: float, smile: bool = False) -> None:
    draw.ellipse((cx - r * 1.12, cy - r * 1.25, cx + r * 1.12, cy + r * 0.55), fill=HAIR)  # hair
    draw.rectangle((cx - r * 1.12, cy - r * 0.2, cx + r * 1.12, cy + r * 1.5), fill=HAIR)
    draw.ellipse((cx - r * 0.32, cy + r * 0.7, cx + r * 0.32, cy + r * 1.6), fill=SKIN)  # neck
    draw.ellipse((cx - r * 0.85, cy - r, cx + r * 0.85, cy + r), fill=SKIN)
    draw.ellipse((cx - r * 0.85, cy - r, cx + r * 0.85, cy - r * 0.35), fill=HAIR)  # fringe
    for side in (-1, 1):
        ex = cx + side * r * 0.35
        draw.ellipse((ex - r * 0.1, cy - r * 0.12, ex + r * 0.1, cy + r * 0.08), fill=(40, 40, 50))
    _mouth(draw, cx, cy, r, smile)


def _mouth(draw: Any, cx: float, cy: float, r: float, smile: bool) -> None:
    width = max(2, int(r * 0.08))
    if smile:
        draw.arc((cx - r * 0.42, cy + r * 0.05, cx + r * 0.42, cy + r * 0.62), 15, 165,
                 fill=(180, 40, 60), width=width)
        for side in (-1, 1):  # rosy cheeks
            x = cx + side * r * 0.55
            draw.ellipse((x - r * 0.13, cy + r * 0.2, x + r * 0.13, cy + r * 0.38), fill=(240, 150, 150))
    else:
        draw.line((cx - r * 0.25, cy + r * 0.45, cx + r * 0.25, cy + r * 0.45), fill=(150, 60, 60),
                  width=width)


def _flower(draw: Any, x: float, y: float, s: float, colour=(235, 90, 150)) -> None:
    for i in range(5):
        a = i * 2 * math.pi / 5
        px, py = x + math.cos(a) * s * 0.55, y + math.sin(a) * s * 0.55
        draw.ellipse((px - s * 0.42, py - s * 0.42, px + s * 0.42, py + s * 0.42), fill=colour)
    draw.ellipse((x - s * 0.3, y - s * 0.3, x + s * 0.3, y + s * 0.3), fill=(250, 210, 60))


def _cat(draw: Any, cx: float, cy: float, r: float, colour=(230, 140, 50)) -> None:
    draw.polygon([(cx - r * 0.8, cy - r * 0.3), (cx - r * 0.55, cy - r * 1.15), (cx - r * 0.1, cy - r * 0.7)],
                 fill=colour)
    draw.polygon([(cx + r * 0.8, cy - r * 0.3), (cx + r * 0.55, cy - r * 1.15), (cx + r * 0.1, cy - r * 0.7)],
                 fill=colour)
    draw.ellipse((cx - r * 0.85, cy - r * 0.85, cx + r * 0.85, cy + r * 0.75), fill=colour)
    for side in (-1, 1):
        ex = cx + side * r * 0.33
        draw.ellipse((ex - r * 0.12, cy - r * 0.25, ex + r * 0.12, cy), fill=(60, 160, 60))
        for dy in (0.2, 0.32):
            draw.line((cx + side * r * 0.2, cy + r * 0.25, cx + side * r * 1.05, cy + r * dy),
                      fill=(60, 40, 30), width=max(1, int(r * 0.03)))
    draw.polygon([(cx - r * 0.1, cy + r * 0.1), (cx + r * 0.1, cy + r * 0.1), (cx, cy + r * 0.22)],
                 fill=(200, 90, 110))


def _sun(draw: Any, f: Frame) -> None:
    s = min(f.w, f.ch) * 0.09
    x, y = f.w - s * 2, s * 2
    draw.ellipse((x - s, y - s, x + s, y + s), fill=(255, 215, 60))


def _beach(img: Any, f: Frame, sky_mask: Any | None) -> None:
    """Sky, sea and sand; behind the subject when the background could be found."""
    from PIL import Image, ImageDraw

    scene = Image.new("RGB", (f.w, f.ch), (140, 200, 240))
    d = ImageDraw.Draw(scene)
    d.rectangle((0, f.ch * 0.55, f.w, f.ch * 0.72), fill=(40, 120, 190))  # sea
    d.rectangle((0, f.ch * 0.72, f.w, f.ch), fill=(238, 214, 160))  # sand
    for i in range(6):
        y = f.ch * (0.58 + i * 0.025)
        d.line((f.w * (0.1 + 0.13 * i), y, f.w * (0.18 + 0.13 * i), y), fill=(230, 240, 255), width=2)
    _sun(d, f)
    _paste_behind(img, scene, f, sky_mask)


def _park(img: Any, f: Frame, sky_mask: Any | None) -> None:
    from PIL import Image, ImageDraw

    scene = Image.new("RGB", (f.w, f.ch), (170, 215, 245))
    d = ImageDraw.Draw(scene)
    d.rectangle((0, f.ch * 0.62, f.w, f.ch), fill=(110, 180, 80))
    for x in (0.12, 0.88):
        tx, ty, s = f.w * x, f.ch * 0.5, min(f.w, f.ch) * 0.12
        d.rectangle((tx - s * 0.15, ty, tx + s * 0.15, ty + s * 1.3), fill=(120, 80, 50))
        d.ellipse((tx - s, ty - s * 1.4, tx + s, ty + s * 0.3), fill=(50, 140, 60))
    _sun(d, f)
    _paste_behind(img, scene, f, sky_mask)


def _snow(img: Any, f: Frame, sky_mask: Any | None) -> None:
    from PIL import Image, ImageDraw

    scene = Image.new("RGB", (f.w, f.ch), (120, 150, 190))
    d = ImageDraw.Draw(scene)
    d.rectangle((0, f.ch * 0.7, f.w, f.ch), fill=(245, 248, 255))
    digest = hashlib.sha256(b"snow").digest()
    for i in range(0, 60, 2):
        x, y = digest[i % 32] / 255 * f.w, digest[(i + 1) % 32] / 255 * f.ch * 0.7
        d.ellipse((x - 3, y - 3, x + 3, y + 3), fill=(255, 255, 255))
    _paste_behind(img, scene, f, sky_mask)


def _paste_behind(img: Any, scene: Any, f: Frame, background: Any | None) -> None:
    """The scene where the old background was, or across the lower part when none was found."""
    from PIL import Image

    if background is None:
        mask = Image.new("L", (f.w, f.ch), 0)
        mask.paste(255, (0, int(f.ch * 0.78), f.w, f.ch))
        mask.paste(255, (int(f.w * 0.8), 0, f.w, int(f.ch * 0.2)))
        background = mask
    img.paste(scene, (0, 0), background)


def _background_mask(picture: Any) -> Any | None:
    """The flat background around a subject (flood-filled from the edges), or None."""
    from PIL import Image, ImageDraw

    probe = picture.convert("RGB")
    w, h = probe.size
    magic = (1, 254, 3)
    for xy in ((0, 0), (w - 1, 0), (0, h // 2), (w - 1, h // 2), (w // 2, 0)):
        if probe.getpixel(xy) != magic:
            ImageDraw.floodfill(probe, xy, magic, thresh=24)
    r, g, b = probe.split()
    mask = Image.eval(g, lambda v: 255 if v == 254 else 0)
    mask.paste(0, (0, 0), Image.eval(r, lambda v: 0 if v == 1 else 255))
    covered = mask.histogram()[255] / (w * h)
    return mask if 0.15 < covered < 0.95 else None


def _strip_caption(img: Any) -> Any:
    """An earlier storybook picture without its caption band (so turns do not nest)."""
    w, h = img.size
    band = Frame(w, h).band
    samples = [img.getpixel((x, h - 2)) for x in (w - 3, w // 2, w - w // 8)]
    if all(all(abs(a - b) < 8 for a, b in zip(p, (25, 28, 36))) for p in samples):
        return img.crop((0, 0, w, h - band))
    return img


# ---- the vocabulary ----------------------------------------------------------------------------

_FACE_WORDS = r"\b(portrait|person|woman|man|girl|boy|face|her|him|she|he|me)\b|人|女|男"
_SCENES: dict[str, Callable[[Any, Frame, Any], None]] = {
    r"beach|sea|ocean|海": _beach, r"park|garden|forest|公园": _park, r"snow|winter|雪": _snow,
}


def _words(prompt: str, pattern: str) -> bool:
    return re.search(pattern, prompt, re.IGNORECASE) is not None


def _scene_for(prompt: str) -> Callable[[Any, Frame, Any], None] | None:
    return next((fn for pattern, fn in _SCENES.items() if _words(prompt, pattern)), None)


def _fox(draw: Any, cx: float, cy: float, r: float) -> None:
    _cat(draw, cx, cy, r, colour=(215, 95, 35))
    draw.polygon([(cx - r * 0.5, cy + r * 0.15), (cx + r * 0.5, cy + r * 0.15), (cx, cy + r * 0.75)],
                 fill=(250, 245, 235))
    draw.ellipse((cx - r * 0.1, cy + r * 0.55, cx + r * 0.1, cy + r * 0.72), fill=(40, 30, 30))


_ANIMALS = {r"\bcat|kitten|猫": _cat, r"\bfox|狐": _fox}


def _details(img: Any, f: Frame, prompt: str, has_face: bool, animals: bool = True) -> None:
    """Smiles, flowers, cats: drawn where a person expects them."""
    from PIL import ImageDraw

    d = ImageDraw.Draw(img)
    cx, cy, r = f.face
    if _words(prompt, r"smil|laugh|happy|笑"):
        if has_face:
            d.rectangle((cx - r * 0.45, cy + r * 0.3, cx + r * 0.45, cy + r * 0.62), fill=SKIN)
        _mouth(d, cx, cy, r, smile=True)
    if _words(prompt, r"flower|rose|花"):
        if has_face:
            _flower(d, cx - r * 0.8, cy - r * 0.85, r * 0.32)
        else:
            d.line((f.w / 2, f.ch * 0.5, f.w / 2, f.ch * 0.9), fill=(60, 140, 60), width=max(2, f.w // 80))
            _flower(d, f.w / 2, f.ch * 0.45, min(f.w, f.ch) * 0.14)
    for pattern, animal in _ANIMALS.items():
        if animals and not has_face and _words(prompt, pattern):
            animal(d, cx, f.ch * 0.6, r)
            break


# ---- text --------------------------------------------------------------------------------------


def _wrap(text: str, font: Any, width: int, draw: Any) -> list[str]:
    words, lines, line = text.split(), [], ""
    for word in words:
        trial = f"{line} {word}".strip()
        if draw.textlength(trial, font=font) <= width or not line:
            line = trial
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines


def _caption(img: Any, f: Frame, title: str, prompt: str, label: str) -> None:
    from PIL import ImageDraw

    d = ImageDraw.Draw(img)
    d.rectangle((0, f.ch, f.w, f.h), fill=(25, 28, 36))
    text = f"“{prompt.strip()}”"
    for size in range(max(10, f.band // 3), 7, -1):  # the largest type that fits the band
        font, small = _font(size), _font(max(8, size * 2 // 3))
        lines = _wrap(text, font, f.w - size, d)
        if size * (1.3 + 1.1 * len(lines)) <= f.band:
            break
    if size * (1.3 + 1.1 * len(lines)) > f.band:
        lines = lines[:1]
        lines[0] = lines[0][:-1] + "…"
    y = f.ch + size * 0.3
    d.text((size // 2, y), title, font=small, fill=(150, 200, 255))
    y += size * 0.95
    for line in lines:
        d.text((size // 2, y), line, font=font, fill=(255, 255, 255))
        y += size * 1.1
    if label:
        tag = f"{label} emulator"
        d.rounded_rectangle((4, 4, 12 + d.textlength(tag, font=small), 8 + size * 0.8),
                            radius=4, fill=(25, 28, 36))
        d.text((8, 5), tag, font=small, fill=(255, 230, 120))


# ---- the three modes ---------------------------------------------------------------------------


def _open(data: Any) -> Any:
    from PIL import Image

    if isinstance(data, (bytes, bytearray)):
        with Image.open(io.BytesIO(data)) as img:
            return _strip_caption(img.convert("RGB"))
    return _strip_caption(data.convert("RGB"))


def _fit(size: tuple[int, int]) -> tuple[int, int]:
    w, h = size
    scale = min(1.0, MAX_SIDE / max(w, h))
    return max(256, int(w * scale)), max(256, int(h * scale))


def _cover(img: Any, w: int, h: int) -> Any:
    from PIL import ImageOps

    return ImageOps.fit(img, (w, h))


def _generate(f: Frame, prompt: str) -> Any:
    from PIL import Image, ImageDraw

    top, bottom = _hash_colour(prompt, 120, 230), _hash_colour(prompt[::-1], 60, 160)
    img = Image.new("RGB", (f.w, f.h))
    d = ImageDraw.Draw(img)
    for y in range(f.ch):
        t = y / max(1, f.ch - 1)
        d.line((0, y, f.w, y), fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom)))
    scene = _scene_for(prompt)
    if scene:
        scene(img, f, Image.new("L", (f.w, f.ch), 255))
    has_face = _words(prompt, _FACE_WORDS)
    if has_face:
        _face(ImageDraw.Draw(img), *f.face)
    _details(img, f, prompt, has_face)
    if not (scene or has_face) and not _words(prompt, r"flower|rose|花|" + "|".join(_ANIMALS)):
        word = max(re.findall(r"\w+", prompt) or ["?"], key=len)  # nothing to draw: the main word
        size = max(16, f.ch // 5)
        while size > 12 and d.textlength(word, font=_font(size)) > f.w * 0.9:
            size -= 4
        big = _font(size)
        left, top, right, bottom = d.textbbox((0, 0), word, font=big)
        d.text(((f.w - right - left) / 2, (f.ch - bottom - top) / 2), word, font=big,
               fill=(255, 255, 255))
    return img


def _edit(f: Frame, prompt: str, source: Any) -> Any:
    from PIL import Image, ImageOps

    img = Image.new("RGB", (f.w, f.h), (25, 28, 36))
    img.paste(_cover(source, f.w, f.ch), (0, 0))
    scene = _scene_for(prompt)
    if scene:
        scene(img, f, _background_mask(img.crop((0, 0, f.w, f.ch))))
    has_face = _words(prompt, _FACE_WORDS) or _looks_like_portrait(img, f)
    _details(img, f, prompt, has_face, animals=False)  # the input already holds its subject
    if not scene and not _words(prompt, r"smil|laugh|happy|笑|flower|rose|花"):
        tint = Image.new("RGB", (f.w, f.ch), _tint_for(prompt))
        content = ImageOps.posterize(img.crop((0, 0, f.w, f.ch)), 3)
        img.paste(Image.blend(content, tint, 0.4), (0, 0))
    return img


_TINTS = {
    r"sunset|warm|orange|gold|夕阳": (250, 120, 40), r"\bred\b|红": (220, 40, 40),
    r"\bblue\b|cold|night|蓝": (40, 80, 220), r"\bgreen\b|绿": (40, 170, 70),
    r"sepia|old|vintage": (160, 120, 70), r"pink|粉": (240, 120, 180),
}


def _tint_for(prompt: str) -> tuple[int, int, int]:
    """The colour an edit shifts its input towards: a colour the prompt names, or its own hash."""
    return next((c for pattern, c in _TINTS.items() if _words(prompt, pattern)), _hash_colour(prompt))


def _looks_like_portrait(img: Any, f: Frame) -> bool:
    cx, cy, r = f.face
    pixel = img.getpixel((int(cx - r * 0.5), int(cy)))
    return all(abs(a - b) < 30 for a, b in zip(pixel, SKIN))


def _compose(f: Frame, prompt: str, sources: Sequence[Any]) -> Any:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (f.w, f.h), (25, 28, 36))
    scene = _scene_for(prompt) or _park
    scene(img, f, Image.new("L", (f.w, f.ch), 255))
    count = len(sources)
    slot = f.w / count
    side = int(min(slot * 0.95, f.ch * 0.8))
    for i, source in enumerate(sources):
        panel = _cover(source, side, side)
        mask = _background_mask(panel)
        cutout = Image.new("L", (side, side), 255)
        if mask is not None:
            cutout.paste(0, (0, 0), mask)
        x, y = int(slot * i + (slot - side) / 2), int(f.ch - side)
        img.paste(panel, (x, y), cutout)
        tag = _font(max(10, side // 10))
        ImageDraw.Draw(img).text((x + 6, y + 4), str(i + 1), font=tag, fill=(255, 255, 255),
                                 stroke_width=2, stroke_fill=(0, 0, 0))
    _details(img, f, prompt, has_face=False, animals=False)  # the inputs are the subjects
    return img


def paint(prompt: str, inputs: Sequence[Any] = (), size: tuple[int, int] = (512, 512), *,
          fmt: str = "PNG", label: str = "") -> bytes:
    """The picture for `prompt`: generated with no inputs, an edit of one, a composition of
    several (bytes or PIL images); encoded as `fmt`, at most MAX_SIDE pixels on a side."""
    f = Frame(*_fit(size))
    images = [_open(i) for i in inputs if i]
    if not images:
        img, title = _generate(f, prompt), "text-to-image"
    elif len(images) == 1:
        img, title = _edit(f, prompt, images[0]), "edit of 1 image"
    else:
        img, title = _compose(f, prompt, images), f"composition of {len(images)} images"
    _caption(img, f, title, prompt, label)
    buf = io.BytesIO()
    img.save(buf, "JPEG" if fmt.upper() in ("JPEG", "JPG") else fmt.upper())
    return buf.getvalue()


# ---- demo inputs -------------------------------------------------------------------------------


def draw_portrait(size: tuple[int, int] = (512, 512)) -> bytes:
    """A plain portrait (neutral mouth, flat backdrop) that the painter's edits know how to change."""
    from PIL import Image, ImageDraw

    f = Frame(*size)
    img = Image.new("RGB", (f.w, f.h), BACKDROP)
    _face(ImageDraw.Draw(img), *f.face)
    _caption(img, f, "input image", "portrait", "")
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def draw_cat(size: tuple[int, int] = (512, 512)) -> bytes:
    """A cat on a flat backdrop, the demo's second input for a composition."""
    from PIL import Image, ImageDraw

    f = Frame(*size)
    img = Image.new("RGB", (f.w, f.h), (232, 222, 200))
    cx, cy, r = f.face
    _cat(ImageDraw.Draw(img), cx, cy, r)
    _caption(img, f, "input image", "cat", "")
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()
