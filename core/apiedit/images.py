"""Image decode and encode for every provider: bytes in, bytes out, Pillow only.

One place owns EXIF orientation, odd modes (LA, P, I;16, CMYK...), decompression bombs, pixel
budgets, fast upload encoding and output sniffing, so no plugin re-implements them.
Never imports numpy or torch; tensor conversion belongs to the ComfyUI layer.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
import re
import struct
import sys
import warnings
import zlib
from typing import cast
from urllib.parse import unquote_to_bytes

from PIL import Image, UnidentifiedImageError

from .errors import InvalidInputError
from .types import ImageData

__all__ = [
    "Base64Text",
    "DECODE_FORMATS",
    "MAX_DECODE_PIXELS",
    "MAX_INPUT_PIXELS",
    "MAX_OUTPUT_BYTES",
    "b64decode_any",
    "b64encode",
    "encode",
    "fit_to_pixel_budget",
    "from_image",
    "image_size",
    "normalize_output",
    "open_image",
    "parse_data_url",
    "prepare_upload",
    "sniff_mime",
    "to_data_url",
]

MAX_DECODE_PIXELS: int = 80_000_000
"""Images whose header claims more pixels are refused before any pixel is allocated.

Read at call time, so it can be raised at runtime; Pillow's own hard limit
(2 x ``PIL.Image.MAX_IMAGE_PIXELS``) still applies above it.
"""

MAX_INPUT_PIXELS: int = 150_000_000
"""The stated ceiling for input images (12000 x 12000 = 144 MP fits): anything up to it is
decoded and downscaled to the model's pixel budget; above it the input is refused. Outputs
keep `MAX_DECODE_PIXELS`. Pillow's hard limit (2 x ``PIL.Image.MAX_IMAGE_PIXELS``, about
179 MP) stays above both."""

DECODE_FORMATS: tuple[str, ...] = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF")
"""Pillow plugins tried on untrusted bytes (JPEG covers MPO); EPS, PSD and the rest never are."""

_FIX_HINT = "connect a PNG, JPEG or WebP image"
_EXIF_ORIENTATION = 0x0112
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_BMP_DIB_HEADER_SIZES = {12, 16, 40, 52, 56, 64, 108, 124}
_FORMATS = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
_MIME_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "image/x-png": "image/png"}
_HIGH_BIT_GREY = ("I;16", "I;16L", "I;16B", "I;16N", "I")
_FAST_PATH_MODES = ("RGB", "RGBA", "L", "LA", "P")
_WHITESPACE = re.compile(rb"\s+")
_STRICT_A2B = sys.version_info >= (3, 11)  # binascii.a2b_base64(strict_mode=...) exists
_URLSAFE = bytes.maketrans(b"+/", b"-_")


# --- sniffing ---------------------------------------------------------------------------------


_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif",
               "image/bmp": "bmp", "image/tiff": "tif"}


def extension_for(data: bytes) -> str:
    """The file extension the magic bytes announce ('bin' when unknown), without a dot."""
    return _EXTENSIONS.get(sniff_mime(data) or "", "bin")


def sniff_mime(data: bytes) -> str | None:
    """The MIME type the magic bytes announce, or None; labels from providers often lie."""
    head = bytes(data[:32])
    if head.startswith(_PNG_SIGNATURE):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "image/tiff"
    # "BM" alone is too weak (plain text can start with it): also check the DIB header size.
    if head[:2] == b"BM" and len(head) >= 18:
        if struct.unpack_from("<I", head, 14)[0] in _BMP_DIB_HEADER_SIZES:
            return "image/bmp"
    return None


# --- decoding ---------------------------------------------------------------------------------


def _describe(data: bytes) -> str:
    """A short, safe hint of what the bytes are, for error messages (HTML error pages...)."""
    head = bytes(data[:40])
    if head.isascii():
        shown, text = len(head), repr(head.decode("ascii"))
    else:
        shown, text = min(16, len(head)), head[:16].hex(" ")
    return f"{len(data)} bytes starting with {text}{'...' if len(data) > shown else ''}"


def _bomb_error(
    pixels: int, output: bool, size: tuple[int, int] | None = None
) -> InvalidInputError:
    claim = f"{size[0]}x{size[1]} = {pixels:,} pixels" if size else f"{pixels:,} pixels"
    own = MAX_DECODE_PIXELS if output else MAX_INPUT_PIXELS
    limit = min(own, 2 * (Image.MAX_IMAGE_PIXELS or own))
    if output:
        return InvalidInputError(
            f"The provider returned an image too large to decode safely ({claim}; the limit "
            f"is {limit:,}): ask for a smaller output size."
        )
    return InvalidInputError(
        f"The input image is too large to decode safely ({claim}; the limit is {limit:,}): "
        "downscale it first and try again."
    )


def _undecodable(reason: str, output: bool) -> InvalidInputError:
    if output:
        return InvalidInputError(
            f"The provider returned bytes that are not an image ({reason}): try again, "
            "and report it to the provider plugin's author if it persists."
        )
    return InvalidInputError(f"The input image could not be decoded ({reason}):",
                             hint=f"{_FIX_HINT}.", hint_id="bad_image")


def _open_header(data: bytes, *, output: bool = False) -> Image.Image:
    """Parse only the header, refusing bombs before any pixel buffer exists."""
    if not data:
        reason = "0 bytes" if not output else "empty body"
        raise _undecodable(reason, output)
    try:
        # Our own check below enforces MAX_DECODE_PIXELS, so Pillow's softer warning is muted
        # for this call (catch_warnings is process-wide; a race only decides whether that one
        # warning is printed). Its hard DecompressionBombError still fires at 2x its limit.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=DECODE_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _bomb_error(_claimed_pixels(str(exc)), output) from None
    except UnidentifiedImageError:
        reason = f"{_describe(data)}: not a PNG, JPEG, WebP, GIF, BMP or TIFF file"
        raise _undecodable(reason, output) from None
    except Exception as exc:  # Pillow raises many types (OSError, SyntaxError, ...) on junk.
        raise _undecodable(f"{_describe(data)}: {exc}", output) from None
    w, h = img.size
    if w < 1 or h < 1:
        raise _undecodable(f"{w}x{h} pixels", output)
    if w * h > (MAX_DECODE_PIXELS if output else MAX_INPUT_PIXELS):
        raise _bomb_error(w * h, output, (w, h))
    return img


def _claimed_pixels(message: str) -> int:
    """Pillow refuses bombs inside Image.open, before we see the size; its message has the count."""
    match = re.search(r"\((\d+) pixels\)", message)
    return int(match.group(1)) if match else 0


def _load(img: Image.Image, data: bytes, *, output: bool = False) -> None:
    try:
        img.load()
    except Image.DecompressionBombError:
        raise _bomb_error(img.size[0] * img.size[1], output, img.size) from None
    except Exception as exc:  # truncated streams raise OSError, broken ones anything
        raise _undecodable(f"{_describe(data)}: {exc}", output) from None


def _exif_transpose(img: Image.Image) -> Image.Image:
    """Rotate/flip per EXIF; a malformed EXIF block is ignored rather than failing the image."""
    try:
        if img.getexif().get(_EXIF_ORIENTATION, 1) in (1, None):
            return img  # exif_transpose would copy the whole image for nothing
        from PIL import ImageOps  # only rotated photos need it: not on every first call

        return ImageOps.exif_transpose(img) or img
    except Exception:  # broken EXIF in the wild: better an unrotated image than none
        return img


def _has_alpha(img: Image.Image) -> bool:
    if img.mode in ("LA", "La", "PA", "RGBA", "RGBa") or "transparency" in img.info:
        return True
    return img.mode == "P" and img.palette is not None and img.palette.mode.endswith("A")


def _grey_to_l(img: Image.Image) -> Image.Image:
    """Scale high-bit grey to 8 bits by its real range: 16-bit 65535 -> 255, not clipped."""
    wide = img if img.mode in ("I", "F") else img.convert("I")
    lo, hi = cast("tuple[float, float]", wide.getextrema())
    if img.mode == "F" and lo >= 0 and hi <= 1:  # normalised floats
        scale, offset = 255.0, 0.0
    elif img.mode == "F" and lo >= 0 and hi <= 255:
        scale, offset = 1.0, 0.0
    elif img.mode != "F" and lo >= 0 and hi <= 65535:  # 16-bit samples, Pillow's usual I
        scale, offset = 255.0 / 65535.0, 0.0
    else:  # genuine 32-bit or unbounded float data: stretch its range
        scale = 255.0 / (hi - lo) if hi > lo else 0.0
        offset = -lo * scale
    # point() truncates, hence +0.5 to round; the conversion to L then clips to 0..255.
    return wide.point(lambda v: v * scale + offset + 0.5).convert("L")


def _to_rgb_or_rgba(img: Image.Image) -> Image.Image:
    """RGBA when there is any transparency, RGB otherwise: the two modes callers handle."""
    if img.mode == "RGBA":
        return img
    if img.mode in _HIGH_BIT_GREY or img.mode == "F":
        # tRNS on 16-bit grey is dropped: too rare to justify a per-pixel pass.
        return _grey_to_l(img).convert("RGB")
    if _has_alpha(img):
        return img.convert("RGBA")
    if img.mode == "RGB":
        return img
    return img.convert("RGB")  # L, 1, P, CMYK, YCbCr, LAB, HSV, RGBX...


def _decode(data: bytes, *, output: bool = False, draft_pixels: int | None = None) -> Image.Image:
    img = _open_header(data, output=output)
    if draft_pixels and img.format in ("JPEG", "MPO"):
        w, h = img.size
        if w * h > draft_pixels:
            # libjpeg decodes at 1/2, 1/4 or 1/8 scale for free, never below the target.
            s = math.sqrt(draft_pixels / (w * h))
            img.draft(None, (max(1, math.ceil(w * s)), max(1, math.ceil(h * s))))
    _load(img, data, output=output)
    icc = img.info.get("icc_profile")
    try:
        img = _to_rgb_or_rgba(_exif_transpose(img))
    except ValueError as exc:  # a pixel mode Pillow can read but not convert (e.g. I;16S)
        raise _undecodable(f"{img.mode} pixels: {exc}", output) from None
    if icc and _is_rgb_profile(icc):
        img.info["icc_profile"] = icc
    else:
        img.info.pop("icc_profile", None)  # a CMYK/grey profile would lie about RGB pixels
    return img


def open_image(data: bytes) -> Image.Image:
    """Decode PNG/JPEG/WebP/GIF (first frame)/BMP/TIFF upright, as RGB or RGBA."""
    return _decode(data)


def _png_chunk(data: bytes, kind: bytes) -> bytes | None:
    """Walk PNG chunk headers (no decompression) to find one that may follow IDAT."""
    pos = len(_PNG_SIGNATURE)
    while pos + 8 <= len(data):
        length, name = struct.unpack_from(">I4s", data, pos)
        if name == kind:
            return data[pos + 8 : pos + 8 + length]
        if name == b"IEND":
            return None
        pos += 12 + length
    return None


def _header_orientation(img: Image.Image, data: bytes) -> int:
    """EXIF orientation from headers only (Pillow's PNG getexif would decode every pixel)."""
    try:
        if img.format == "PNG":
            raw = img.info.get("exif") or _png_chunk(data, b"eXIf")
            if not raw:
                return 1
            exif = Image.Exif()
            exif.load(raw)
        else:
            exif = img.getexif()
        value = exif.get(_EXIF_ORIENTATION, 1)
        return value if isinstance(value, int) and 1 <= value <= 8 else 1
    except Exception:  # malformed EXIF: treated as upright, as _exif_transpose does
        return 1


def image_size(data: bytes) -> tuple[int, int]:
    """(width, height) as displayed, read from the header without decoding pixels."""
    img = _open_header(data)
    w, h = img.size
    if _header_orientation(img, data) not in (5, 6, 7, 8):
        return w, h
    tags = getattr(img, "tag_v2", {})  # TIFF only: width and length as stored
    if img.format == "TIFF" and (w, h) != (tags.get(256), tags.get(257)):
        return w, h  # recent Pillow already reports TIFF sizes upright
    return h, w


# --- resizing and encoding --------------------------------------------------------------------


def fit_to_pixel_budget(img: Image.Image, max_pixels: int) -> Image.Image:
    """Shrink (never enlarge) to at most `max_pixels`, keeping the aspect ratio."""
    if max_pixels < 1:
        raise ValueError(f"max_pixels must be at least 1, not {max_pixels}")
    w, h = img.size
    if w * h <= max_pixels:
        return img
    scale = math.sqrt(max_pixels / (w * h))
    nw = max(1, min(w, int(w * scale)))
    nh = max(1, min(h, int(h * scale)))
    nw = max(1, min(nw, max_pixels // nh))  # guards float error and 1-pixel-thin images
    nh = max(1, min(nh, max_pixels // nw))
    # reducing_gap: integer reduce() first, then Lanczos; much faster at large ratios.
    return img.resize((nw, nh), Image.Resampling.LANCZOS, reducing_gap=3.0)


def _format_name(fmt: str) -> str:
    """'png' | 'jpeg' | 'webp' from a short name or a MIME type ('jpg', 'image/jpeg'...)."""
    name = fmt.strip().lower()
    name = _MIME_ALIASES.get(name, name).removeprefix("image/")
    name = "jpeg" if name == "jpg" else name
    if name not in _FORMATS:
        raise ValueError(f"cannot encode {fmt!r}: use one of {', '.join(_FORMATS)}")
    return name


def _is_rgb_profile(icc: bytes) -> bool:
    return len(icc) >= 20 and icc[16:20] == b"RGB "


def encode(img: Image.Image, fmt: str = "png", *, quality: int = 92) -> ImageData:
    """Encode for upload: fast PNG, JPEG flattened on white, WebP; no metadata but the ICC."""
    name = _format_name(fmt)
    if img.mode not in ("RGB", "RGBA"):
        img = _to_rgb_or_rgba(img)
    if name == "jpeg" and img.mode == "RGBA":
        flat = Image.new("RGB", img.size, (255, 255, 255))
        flat.paste(img, mask=img.getchannel("A"))
        flat.info = img.info
        img = flat
    icc = img.info.get("icc_profile")
    # Always pass it: PNG falls back to img.info, which may hold a CMYK or grey profile.
    options: dict[str, object] = {"icc_profile": icc if icc and _is_rgb_profile(icc) else None}
    if name == "png":
        # level 1 with zlib's RLE strategy: ~2x faster than Pillow's default on photos and as
        # small (level 1 alone is ~10% larger and hardly faster), still small on flat graphics
        options["compress_level"] = 1
        options["compress_type"] = 3
    else:
        options["quality"] = quality
    if name == "jpeg":
        options["comment"] = b""  # JPEG falls back to img.info's comment too
    buf = io.BytesIO()
    img.save(buf, format=name.upper(), **options)
    return ImageData(buf.getvalue(), _FORMATS[name])


def from_image(img: Image.Image) -> ImageData:
    """A PIL image as PNG ImageData, for tests and callers holding a PIL image."""
    return encode(img, "png")


def _is_opaque(img: Image.Image) -> bool:
    return img.mode != "RGBA" or img.getchannel("A").getextrema() == (255, 255)


def prepare_upload(
    image: ImageData,
    *,
    max_pixels: int | None = None,
    formats: tuple[str, ...] = ("image/png", "image/jpeg", "image/webp"),
    prefer: str | None = None,
) -> ImageData:
    """Bytes a provider accepts: the input untouched when it already fits, else re-encoded.

    The fast path (allowed format, upright, within budget, single frame, 8-bit) reads headers
    only and returns the very same bytes. Otherwise the image is decoded, turned upright,
    downscaled to `max_pixels` and encoded as PNG when it has transparency, else as `prefer`
    or the first allowed format.
    """
    allowed = tuple(_FORMATS[_format_name(f)] for f in formats if _encodable(f))
    if not allowed:
        raise ValueError(f"formats must include image/png, image/jpeg or image/webp: {formats}")
    data = image.data
    mime = sniff_mime(data)
    img = _open_header(data)
    w, h = img.size
    if (
        mime in allowed
        and img.mode in _FAST_PATH_MODES
        and (getattr(img, "n_frames", 1) == 1 or img.format == "MPO")  # MPO: a plain JPEG first
        and (max_pixels is None or w * h <= max_pixels)
        and _header_orientation(img, data) == 1
    ):
        return image if image.mime_type == mime else ImageData(data, mime)

    decoded = _decode(data, draft_pixels=max_pixels)
    if max_pixels is not None:
        decoded = fit_to_pixel_budget(decoded, max_pixels)
    if decoded.mode == "RGBA" and _is_opaque(decoded):
        decoded = decoded.convert("RGB")  # opaque alpha: free to use a smaller photo format
    if decoded.mode == "RGBA":
        # JPEG would flatten transparency; keep it with PNG, else WebP.
        target = next((m for m in ("image/png", "image/webp") if m in allowed), allowed[0])
    else:
        wanted = _FORMATS[_format_name(prefer)] if prefer else None
        target = wanted if wanted in allowed else allowed[0]
    return encode(decoded, target)


def _encodable(fmt: str) -> bool:
    try:
        _format_name(fmt)
    except ValueError:
        return False
    return True


def _png_intact(data: bytes) -> bool:
    """Every chunk's CRC matches and IEND is there: complete, unaltered PNG bytes (~1 ms/MB)."""
    pos = len(_PNG_SIGNATURE)
    view = memoryview(data)
    while pos + 12 <= len(data):
        length, name = struct.unpack_from(">I4s", data, pos)
        end = pos + 12 + length
        if end > len(data):
            return False
        (crc,) = struct.unpack_from(">I", data, end - 4)
        if zlib.crc32(view[pos + 4 : end - 4]) != crc:
            return False
        if name == b"IEND":
            return True
        pos = end
    return False


def _looks_complete(img: Image.Image, data: bytes) -> bool:
    """Whether the stream's own framing shows it whole, so decoding every pixel can be skipped."""
    if img.format == "PNG":
        return _png_intact(data)
    if img.format == "JPEG":
        return data.endswith(b"\xff\xd9")
    if img.format == "WEBP":
        return len(data) >= 12 and struct.unpack_from("<I", data, 4)[0] + 8 == len(data)
    return False


MAX_OUTPUT_BYTES = 50 * 1024 * 1024
"""The largest image accepted from a provider however it arrived (inline base64 or a
download, where `apiedit.download` enforces the same figure while streaming)."""


def normalize_output(data: bytes, declared_mime: str | None = None) -> ImageData:
    """Check a provider's bytes really are an image and label them by content, without re-encoding.

    PNG, JPEG and WebP whose framing shows them complete (PNG: every chunk CRC) are not decoded
    here, which would cost more than the download on loopback; anything else is decoded in full.
    """
    if len(data) > MAX_OUTPUT_BYTES:
        raise InvalidInputError(
            f"The provider returned an image of {len(data) / 1e6:.0f} MB, over apiedit's "
            f"{MAX_OUTPUT_BYTES // (1024 * 1024)} MB limit for one image, so it was not "
            "decoded. The request was answered, so it may have been billed; ask for a smaller "
            "size or another output format."
        )
    img = _open_header(data, output=True)
    if not _looks_complete(img, data):
        _load(img, data, output=True)
    mime = sniff_mime(data) or Image.MIME.get(img.format or "")
    if mime is None:
        declared = _MIME_ALIASES.get((declared_mime or "").lower(), declared_mime or "")
        mime = declared if declared.startswith("image/") else "application/octet-stream"
    return ImageData(bytes(data), mime)


# --- base64 and data URLs ---------------------------------------------------------------------


class Base64Text(str):
    """Text made here from base64 output (optionally after a `data:<mime>;base64,` prefix): only
    characters JSON writes as they are, so `apiedit.protocols.jsonbody` copies its `ascii`
    bytes into a request body instead of running the JSON encoder over megabytes of it."""

    ascii: bytes

    def __new__(cls, value: bytes | str) -> Base64Text:
        if isinstance(value, str):  # copy.deepcopy and pickle rebuild it from its text
            text = super().__new__(cls, value)
            text.ascii = value.encode("ascii")
        else:
            text = super().__new__(cls, value, "ascii")
            text.ascii = bytes(value)
        return text


_SAFE_MIME = re.compile(r"[A-Za-z0-9.+/-]{1,100}")  # what a data URL's prefix may carry as is


def b64encode(data: bytes, urlsafe: bool = False) -> str:
    """Padded base64 text, standard or URL-safe alphabet (a `Base64Text`)."""
    encoded = binascii.b2a_base64(data, newline=False)
    return Base64Text(encoded.translate(_URLSAFE) if urlsafe else encoded)


def b64decode_any(s: str | bytes) -> bytes:
    """Decode base64 from any provider: standard or URL-safe, padded or not, with whitespace."""
    try:
        # Fast path: well-formed standard base64, what nearly every provider sends. The
        # tolerant clean-up below costs more than the decode itself on multi-MB answers.
        # binascii reads ASCII text as it is (b64decode would first copy it into bytes).
        if _STRICT_A2B:
            return binascii.a2b_base64(s, strict_mode=True)
        return base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError):
        pass
    try:
        raw = s.encode("ascii") if isinstance(s, str) else bytes(s)
    except UnicodeEncodeError:
        raise InvalidInputError(
            "The base64 image data contains non-ASCII characters: pass plain base64 text."
        ) from None
    raw = _WHITESPACE.sub(b"", raw).translate(bytes.maketrans(b"-_", b"+/")).rstrip(b"=")
    if len(raw) % 4 == 1:
        raise InvalidInputError(
            f"The base64 image data is truncated ({len(raw)} characters is not a valid "
            "length): pass the complete base64 text."
        )
    try:
        return base64.b64decode(raw + b"=" * (-len(raw) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInputError(
            f"The base64 image data is invalid ({exc}): pass standard or URL-safe base64 text."
        ) from None


def to_data_url(image: ImageData) -> str:
    """`data:<mime>;base64,<payload>`, the form chat-style APIs accept inline."""
    if _SAFE_MIME.fullmatch(image.mime_type):  # built as bytes: one copy less, JSON-ready
        prefix = f"data:{image.mime_type};base64,".encode("ascii")
        return Base64Text(prefix + binascii.b2a_base64(image.data, newline=False))
    return f"data:{image.mime_type};base64,{b64encode(image.data)}"


def parse_data_url(url: str) -> ImageData:
    """The image in a `data:` URL; the MIME comes from the bytes (labels like image/jpg vary)."""
    text = url.strip()
    if text[:5].lower() != "data:" or "," not in text:
        preview = text[:40] + ("..." if len(text) > 40 else "")
        raise InvalidInputError(
            f"Expected a data URL like 'data:image/png;base64,...', got {preview!r}: "
            "pass a data URL or use the https download helper for links."
        )
    comma = text.index(",")  # one copy of a multi-MB payload, not two (slice, then split)
    header, payload = text[5:comma], text[comma + 1 :]
    params = [p.strip().lower() for p in header.split(";")]
    if params and params[-1] == "base64":
        if "%" in payload:  # percent-encoded '+', '/', '=' from URL-escaping clients
            payload = unquote_to_bytes(payload).decode("ascii", "replace")
        data = b64decode_any(payload)
    else:
        data = unquote_to_bytes(payload)
    declared = _MIME_ALIASES.get(params[0], params[0]) if params else ""
    mime = sniff_mime(data)
    if mime is None:
        if not (data and declared.startswith("image/")):
            raise InvalidInputError(
                f"The data URL does not contain an image ({_describe(data)}):",
                hint=f"{_FIX_HINT}.", hint_id="bad_image",
            )
        mime = declared  # a format we do not sniff; decoding will tell
    return ImageData(data, mime)
