"""Image decode/encode: every mode and format, EXIF, bombs, budgets, uploads, outputs, base64."""

from __future__ import annotations

import io
import random
import struct
import subprocess
import sys
import time
import warnings
import zlib
from pathlib import Path

import pytest
from PIL import Image

from apiedit import images
from apiedit.errors import InvalidInputError
from apiedit.images import (
    b64decode_any,
    b64encode,
    encode,
    fit_to_pixel_budget,
    from_image,
    image_size,
    normalize_output,
    open_image,
    parse_data_url,
    prepare_upload,
    sniff_mime,
    to_data_url,
)
from apiedit.types import ImageData

RED, BLUE, WHITE = (255, 0, 0), (0, 0, 255), (255, 255, 255)
FIX_HINT = "connect a PNG, JPEG or WebP image"


def save(img: Image.Image, fmt: str, **options: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **options)
    return buf.getvalue()


def photo(width: int, height: int) -> Image.Image:
    """Gradients plus noise: compresses like a photograph, unlike a flat colour."""
    r = Image.linear_gradient("L").resize((width, height))
    g = Image.radial_gradient("L").resize((width, height))
    b = Image.effect_noise((width, height), 48)
    return Image.merge("RGB", (r, g, b))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims any size, followed by a tiny IDAT: a decompression-bomb header."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 16))
        + chunk(b"IEND", b"")
    )


def with_orientation(img: Image.Image, fmt: str, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return save(img, fmt, exif=exif.tobytes())


def red_corner(width: int = 40, height: int = 20) -> Image.Image:
    """Blue, with the stored top-left quarter red, so a rotation shows where that corner went."""
    img = Image.new("RGB", (width, height), BLUE)
    img.paste(RED, (0, 0, width // 2, height // 2))
    return img


def pixel(img: Image.Image, x: int, y: int) -> tuple[int, ...]:
    value = img.getpixel((x, y))
    assert isinstance(value, tuple)  # open_image only returns RGB or RGBA
    return value


def close_to(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 12) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected))


# --- modes ------------------------------------------------------------------------------------


def test_rgba_stays_rgba_with_its_alpha() -> None:
    img = open_image(save(Image.new("RGBA", (4, 4), (10, 20, 30, 40)), "PNG"))
    assert img.mode == "RGBA"
    assert pixel(img, 0, 0) == (10, 20, 30, 40)


def test_grey_with_alpha_becomes_rgba_keeping_grey_and_alpha() -> None:
    img = open_image(save(Image.new("LA", (4, 4), (100, 50)), "PNG"))
    assert img.mode == "RGBA"
    assert pixel(img, 0, 0) == (100, 100, 100, 50)


def test_palette_with_transparency_becomes_rgba() -> None:
    pal = Image.new("P", (4, 4), 0)
    pal.putpalette([*RED, *BLUE])
    pal.putpixel((1, 1), 1)
    img = open_image(save(pal, "PNG", transparency=0))
    assert img.mode == "RGBA"
    assert pixel(img, 0, 0)[3] == 0
    assert pixel(img, 1, 1) == (*BLUE, 255)


def test_palette_without_transparency_becomes_rgb() -> None:
    pal = Image.new("P", (4, 4), 1)
    pal.putpalette([*RED, *BLUE])
    img = open_image(save(pal, "PNG"))
    assert img.mode == "RGB"
    assert pixel(img, 0, 0) == BLUE


def test_greyscale_becomes_rgb() -> None:
    img = open_image(save(Image.new("L", (4, 4), 77), "PNG"))
    assert img.mode == "RGB"
    assert pixel(img, 0, 0) == (77, 77, 77)


def test_bilevel_becomes_black_and_white_rgb() -> None:
    bilevel = Image.new("1", (4, 4), 0)
    bilevel.putpixel((1, 0), 1)
    img = open_image(save(bilevel, "PNG"))
    assert img.mode == "RGB"
    assert pixel(img, 0, 0) == (0, 0, 0)
    assert pixel(img, 1, 0) == WHITE


def grey16(mode: str, values: list[int]) -> Image.Image:
    img = Image.new(mode, (len(values), 1))
    for x, value in enumerate(values):
        img.putpixel((x, 0), value)
    return img


def test_16_bit_grey_png_is_scaled_to_8_bit_not_clipped() -> None:
    img = open_image(save(grey16("I;16", [65535, 1000, 0, 32896]), "PNG"))
    assert img.mode == "RGB"
    assert [pixel(img, x, 0)[0] for x in range(4)] == [255, 4, 0, 128]


def test_16_bit_big_endian_grey_is_scaled_to_8_bit() -> None:
    img = open_image(encode(grey16("I;16B", [65535, 1000]), "png").data)
    assert [pixel(img, x, 0) for x in range(2)] == [WHITE, (4, 4, 4)]


def test_16_bit_grey_tiff_is_scaled_to_8_bit() -> None:
    img = open_image(save(grey16("I;16", [65535, 1000]), "TIFF"))
    assert [pixel(img, x, 0)[0] for x in range(2)] == [255, 4]


def test_32_bit_int_grey_in_16_bit_range_is_scaled_like_16_bit() -> None:
    img = open_image(save(grey16("I", [65535, 1000, 0]), "TIFF"))
    assert img.mode == "RGB"
    assert [pixel(img, x, 0)[0] for x in range(3)] == [255, 4, 0]


def test_32_bit_int_grey_beyond_16_bits_is_stretched_to_its_range() -> None:
    img = open_image(save(grey16("I", [-100, 1_000_000, 499_950]), "TIFF"))
    assert [pixel(img, x, 0)[0] for x in range(3)] == [0, 255, 128]


def test_float_grey_in_unit_range_is_scaled_to_8_bit() -> None:
    floats = Image.new("F", (3, 1))
    for x, value in enumerate([0.0, 0.5, 1.0]):
        floats.putpixel((x, 0), value)
    img = open_image(save(floats, "TIFF"))
    assert img.mode == "RGB"
    assert [pixel(img, x, 0)[0] for x in range(3)] == [0, 128, 255]


def test_cmyk_becomes_rgb() -> None:
    img = open_image(save(Image.new("CMYK", (4, 4), (255, 0, 0, 0)), "TIFF"))
    assert img.mode == "RGB"
    assert pixel(img, 0, 0) == (0, 255, 255)


def test_cmyk_jpeg_becomes_rgb() -> None:
    img = open_image(save(Image.new("CMYK", (16, 16), (0, 0, 0, 0)), "JPEG"))
    assert img.mode == "RGB"
    assert close_to(pixel(img, 8, 8), WHITE)


def test_ycbcr_becomes_rgb() -> None:
    source = Image.new("RGB", (4, 4), (200, 100, 50)).convert("YCbCr")
    img = open_image(save(source, "TIFF"))
    assert img.mode == "RGB"
    assert close_to(pixel(img, 0, 0), (200, 100, 50), tolerance=3)


# --- formats ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF"])
def test_every_format_decodes_to_rgb_with_its_colour(fmt: str) -> None:
    img = open_image(save(Image.new("RGB", (32, 24), (200, 40, 40)), fmt))
    assert (img.mode, img.size) == ("RGB", (32, 24))
    assert close_to(pixel(img, 16, 12), (200, 40, 40))


def test_gif_decodes_its_first_frame() -> None:
    frames = [Image.new("RGB", (8, 8), RED), Image.new("RGB", (8, 8), BLUE)]
    data = save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    assert pixel(open_image(data), 4, 4) == RED


# --- EXIF orientation -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_exif_orientation_6_rotates_clockwise(fmt: str) -> None:
    img = open_image(with_orientation(red_corner(), fmt, 6))
    assert img.size == (20, 40)
    assert close_to(pixel(img, 15, 5), RED)  # stored top-left is now top-right
    assert close_to(pixel(img, 5, 5), BLUE)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_exif_orientation_8_rotates_counter_clockwise(fmt: str) -> None:
    img = open_image(with_orientation(red_corner(), fmt, 8))
    assert img.size == (20, 40)
    assert close_to(pixel(img, 5, 35), RED)  # stored top-left is now bottom-left
    assert close_to(pixel(img, 5, 5), BLUE)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "TIFF"])
def test_image_size_swaps_sides_for_rotated_exif(fmt: str) -> None:
    assert image_size(with_orientation(red_corner(), fmt, 6)) == (20, 40)
    assert image_size(with_orientation(red_corner(), fmt, 3)) == (40, 20)


def test_image_size_reads_the_header_without_decoding_pixels() -> None:
    header_only = png_header_only(3000, 2000)  # its IDAT could never fill 3000x2000
    assert image_size(header_only) == (3000, 2000)
    with pytest.raises(InvalidInputError):
        open_image(header_only)


# --- bad bytes --------------------------------------------------------------------------------


def test_empty_bytes_are_invalid_input_with_a_fix() -> None:
    with pytest.raises(InvalidInputError, match=FIX_HINT) as caught:
        open_image(b"")
    assert "0 bytes" in str(caught.value)


def test_random_text_is_invalid_input_with_a_fix() -> None:
    with pytest.raises(InvalidInputError, match=FIX_HINT) as caught:
        open_image(b"<html><body>502 Bad Gateway</body></html>")
    assert "502 Bad Gateway" in str(caught.value)  # the start of the bytes helps debugging


def test_corrupt_bytes_are_invalid_input_with_a_fix() -> None:
    noise = random.Random(7).randbytes(4096)
    with pytest.raises(InvalidInputError, match=FIX_HINT):
        open_image(noise)


def test_png_with_corrupt_pixel_data_is_invalid_input() -> None:
    data = bytearray(save(photo(256, 256), "PNG"))
    data[200:400] = b"\xff" * 200
    with pytest.raises(InvalidInputError, match=FIX_HINT):
        open_image(bytes(data))


def test_truncated_png_is_invalid_input() -> None:
    data = save(photo(256, 256), "PNG")
    with pytest.raises(InvalidInputError, match=FIX_HINT):
        open_image(data[: len(data) // 2])


def test_truncated_jpeg_is_invalid_input() -> None:
    data = save(photo(256, 256), "JPEG")
    with pytest.raises(InvalidInputError, match=FIX_HINT):
        open_image(data[: len(data) // 2])


# --- decompression bombs ----------------------------------------------------------------------


def test_bomb_header_far_beyond_pillows_limit_is_refused_quickly() -> None:
    started = time.perf_counter()
    with pytest.raises(InvalidInputError, match="too large to decode safely"):
        open_image(png_header_only(100_000, 100_000))
    assert time.perf_counter() - started < 0.5


def test_input_bomb_just_above_the_input_ceiling_is_refused_with_its_size() -> None:
    with pytest.raises(InvalidInputError, match=r"13000x12000 = 156,000,000 pixels"):
        open_image(png_header_only(13000, 12000))  # below Pillow's own hard limit


def test_output_bomb_above_the_output_limit_is_refused_with_its_size() -> None:
    with pytest.raises(InvalidInputError, match=r"provider returned .*9000x9000 = 81,000,000"):
        images.normalize_output(png_header_only(9000, 9000))


def test_bomb_in_pillows_warning_range_raises_no_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any Pillow warning would surface as an exception
        with pytest.raises(InvalidInputError, match="too large to decode safely"):
            open_image(png_header_only(13_000, 12_000))


def test_real_small_file_with_huge_dimensions_is_refused_without_decoding() -> None:
    bomb = save(Image.new("1", (13_000, 12_000)), "PNG")  # 156 Mpx in a few kB
    assert len(bomb) < 100_000
    started = time.perf_counter()
    with pytest.raises(InvalidInputError, match="13000x12000"):
        open_image(bomb)
    assert time.perf_counter() - started < 0.5


def test_decode_limit_can_be_lowered_at_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(images, "MAX_INPUT_PIXELS", 10_000)
    palette = Image.new("P", (200, 100))
    with pytest.raises(InvalidInputError, match="the limit is 10,000"):
        open_image(save(palette, "PNG"))


# --- pixel budget -----------------------------------------------------------------------------


def test_budget_downscale_respects_the_budget_and_keeps_the_aspect_ratio() -> None:
    img = fit_to_pixel_budget(Image.new("RGB", (3000, 1000)), 300_000)
    width, height = img.size
    assert width * height <= 300_000
    assert width * height > 0.98 * 300_000
    assert width / height == pytest.approx(3.0, rel=0.01)


def test_budget_never_upscales_a_small_image() -> None:
    small = Image.new("RGB", (100, 50))
    assert fit_to_pixel_budget(small, 1_000_000) is small


def test_budget_keeps_a_one_pixel_thin_image_within_budget() -> None:
    img = fit_to_pixel_budget(Image.new("RGB", (10_000, 1)), 100)
    assert img.size == (100, 1)


def test_budget_below_one_pixel_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        fit_to_pixel_budget(Image.new("RGB", (4, 4)), 0)


# --- encode -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "mime"), [("png", "image/png"), ("jpeg", "image/jpeg"),
                                           ("jpg", "image/jpeg"), ("webp", "image/webp"),
                                           ("image/webp", "image/webp")])
def test_encode_produces_the_named_format(fmt: str, mime: str) -> None:
    encoded = encode(Image.new("RGB", (8, 8), RED), fmt)
    assert encoded.mime_type == mime
    assert sniff_mime(encoded.data) == mime


def test_encode_jpeg_flattens_transparency_onto_white() -> None:
    clear = Image.new("RGBA", (16, 16), (255, 0, 0, 0))
    img = open_image(encode(clear, "jpeg").data)
    assert img.mode == "RGB"
    assert close_to(pixel(img, 8, 8), WHITE)


def test_encode_webp_keeps_transparency() -> None:
    img = open_image(encode(Image.new("RGBA", (16, 16), (255, 0, 0, 0)), "webp").data)
    assert img.mode == "RGBA"
    assert pixel(img, 8, 8)[3] == 0


@pytest.mark.parametrize("source", ["JPEG", "PNG", "WEBP"])
@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
def test_encode_drops_exif_metadata(source: str, fmt: str) -> None:
    decoded = Image.open(io.BytesIO(with_orientation(red_corner(), source, 1)))
    assert "exif" in decoded.info
    reopened = Image.open(io.BytesIO(encode(decoded, fmt).data))
    assert not reopened.getexif()


def test_encode_unknown_format_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="png, jpeg, webp"):
        encode(Image.new("RGB", (4, 4)), "gif")


def test_from_image_is_png() -> None:
    encoded = from_image(Image.new("RGB", (4, 4), RED))
    assert encoded.mime_type == "image/png"
    assert pixel(open_image(encoded.data), 0, 0) == RED


# --- prepare_upload ---------------------------------------------------------------------------


def test_upload_fast_path_returns_the_same_bytes() -> None:
    original = ImageData(save(photo(64, 48), "JPEG"), "image/jpeg")
    prepared = prepare_upload(original, max_pixels=1_000_000)
    assert prepared.data is original.data
    assert prepared.mime_type == "image/jpeg"


def test_upload_fast_path_fixes_a_wrong_label_without_re_encoding() -> None:
    original = ImageData(save(photo(64, 48), "JPEG"), "image/png")
    prepared = prepare_upload(original)
    assert prepared.data is original.data
    assert prepared.mime_type == "image/jpeg"


def test_upload_fast_path_keeps_a_multi_picture_jpeg() -> None:
    primary, extra = photo(64, 48), photo(64, 48)  # a second picture, like Ultra HDR gain maps
    mpo = ImageData(save(primary, "MPO", save_all=True, append_images=[extra]), "image/jpeg")
    assert getattr(Image.open(io.BytesIO(mpo.data)), "n_frames", 1) == 2
    assert prepare_upload(mpo).data is mpo.data


def png_with_exif_after_pixels(img: Image.Image, orientation: int) -> bytes:
    """Move the eXIf chunk behind IDAT, where some writers put it and Pillow reads it late."""
    data = with_orientation(img, "PNG", orientation)
    start = data.index(b"eXIf") - 4
    length = struct.unpack(">I", data[start : start + 4])[0]
    exif_chunk = data[start : start + 12 + length]
    rest = data[:start] + data[start + 12 + length :]
    iend = rest.index(b"IEND") - 4
    return rest[:iend] + exif_chunk + rest[iend:]


def test_upload_of_png_with_exif_after_pixels_is_re_encoded_upright() -> None:
    data = png_with_exif_after_pixels(red_corner(), 6)
    assert image_size(data) == (20, 40)
    img = open_image(prepare_upload(ImageData(data)).data)
    assert img.size == (20, 40)
    assert close_to(pixel(img, 15, 5), RED)


def test_upload_over_budget_is_downscaled_within_it() -> None:
    prepared = prepare_upload(ImageData(save(photo(800, 400), "PNG")), max_pixels=20_000)
    width, height = image_size(prepared.data)
    assert width * height <= 20_000
    assert width / height == pytest.approx(2.0, rel=0.02)


def test_upload_of_large_jpeg_is_downscaled_within_budget() -> None:
    original = ImageData(save(photo(2000, 1500), "JPEG"), "image/jpeg")
    prepared = prepare_upload(original, max_pixels=100_000, prefer="image/jpeg")
    width, height = image_size(prepared.data)
    assert 90_000 < width * height <= 100_000
    assert prepared.mime_type == "image/jpeg"


def test_upload_with_exif_rotation_is_re_encoded_upright() -> None:
    prepared = prepare_upload(ImageData(with_orientation(red_corner(), "JPEG", 6), "image/jpeg"))
    assert prepared.mime_type == "image/png"  # the first allowed format
    img = open_image(prepared.data)
    assert img.size == (20, 40)
    assert close_to(pixel(img, 15, 5), RED)


def test_upload_in_a_format_the_provider_refuses_is_converted() -> None:
    prepared = prepare_upload(ImageData(save(photo(32, 32), "BMP"), "image/bmp"),
                              formats=("image/jpeg", "image/webp"))
    assert prepared.mime_type == "image/jpeg"


def test_upload_honours_the_preferred_format_for_opaque_images() -> None:
    prepared = prepare_upload(ImageData(save(photo(32, 32), "BMP")), prefer="image/webp")
    assert prepared.mime_type == "image/webp"


def test_upload_with_transparency_is_png_even_when_jpeg_is_preferred() -> None:
    clear = ImageData(save(Image.new("RGBA", (32, 32), (0, 0, 0, 0)), "TIFF"), "image/tiff")
    prepared = prepare_upload(clear, prefer="image/jpeg")
    assert prepared.mime_type == "image/png"
    assert pixel(open_image(prepared.data), 0, 0)[3] == 0


def test_upload_with_transparency_to_a_jpeg_only_provider_is_flattened_on_white() -> None:
    clear = ImageData(save(Image.new("RGBA", (32, 32), (0, 0, 0, 0)), "PNG"))
    prepared = prepare_upload(clear, formats=("image/jpg",), max_pixels=100)
    assert prepared.mime_type == "image/jpeg"
    assert close_to(pixel(open_image(prepared.data), 2, 2), WHITE)


def test_upload_of_cmyk_jpeg_is_re_encoded_as_rgb() -> None:
    cmyk = ImageData(save(Image.new("CMYK", (16, 16), (0, 0, 0, 0)), "JPEG"), "image/jpeg")
    prepared = prepare_upload(cmyk)
    assert prepared.data != cmyk.data
    assert Image.open(io.BytesIO(prepared.data)).mode == "RGB"


def test_upload_of_an_animation_sends_its_first_frame() -> None:
    frames = [Image.new("RGB", (8, 8), RED), Image.new("RGB", (8, 8), BLUE)]
    animated = save(frames[0], "WEBP", save_all=True, append_images=frames[1:], lossless=True)
    prepared = prepare_upload(ImageData(animated, "image/webp"))
    assert getattr(Image.open(io.BytesIO(prepared.data)), "n_frames", 1) == 1
    assert pixel(open_image(prepared.data), 4, 4) == RED


def test_upload_of_non_image_bytes_is_invalid_input() -> None:
    with pytest.raises(InvalidInputError, match=FIX_HINT):
        prepare_upload(ImageData(b"not an image at all", "image/png"))


# --- provider outputs -------------------------------------------------------------------------


def test_output_jpeg_labelled_png_is_reported_as_jpeg_unchanged() -> None:
    data = save(photo(32, 32), "JPEG")
    result = normalize_output(data, "image/png")
    assert result.mime_type == "image/jpeg"
    assert result.data == data


@pytest.mark.parametrize(("fmt", "mime"), [("PNG", "image/png"), ("WEBP", "image/webp"),
                                           ("GIF", "image/gif")])
def test_output_mime_comes_from_the_bytes(fmt: str, mime: str) -> None:
    assert normalize_output(save(photo(16, 16), fmt)).mime_type == mime


def test_output_that_is_not_an_image_is_invalid_input_naming_the_provider() -> None:
    with pytest.raises(InvalidInputError, match="provider returned bytes that are not an image"):
        normalize_output(b'{"error": "overloaded"}', "image/png")


def test_truncated_output_is_invalid_input_naming_the_provider() -> None:
    data = save(photo(256, 256), "PNG")
    with pytest.raises(InvalidInputError, match="provider returned bytes that are not an image"):
        normalize_output(data[: len(data) // 2])


# --- sniffing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "mime"), [("PNG", "image/png"), ("JPEG", "image/jpeg"),
                                           ("WEBP", "image/webp"), ("GIF", "image/gif"),
                                           ("BMP", "image/bmp"), ("TIFF", "image/tiff")])
def test_sniff_mime_recognises_each_format(fmt: str, mime: str) -> None:
    assert sniff_mime(save(Image.new("RGB", (4, 4)), fmt)) == mime


@pytest.mark.parametrize("data", [b"", b"\xff\xd8", b"BM is a text that starts like a bitmap",
                                  b"RIFF\0\0\0\0WAVEfmt "])
def test_sniff_mime_returns_none_for_non_images(data: bytes) -> None:
    assert sniff_mime(data) is None


# --- base64 -----------------------------------------------------------------------------------

BINARY = bytes(range(256)) + b"\xfb\xff\xfe"  # exercises '+', '/', '-' and '_' positions


@pytest.mark.parametrize("urlsafe", [False, True])
def test_b64_round_trips_in_both_alphabets(urlsafe: bool) -> None:
    assert b64decode_any(b64encode(BINARY, urlsafe=urlsafe)) == BINARY


def test_b64_urlsafe_encoding_uses_the_urlsafe_alphabet() -> None:
    text = b64encode(BINARY, urlsafe=True)
    assert "+" not in text and "/" not in text
    assert "-" in text or "_" in text


def test_b64_decodes_without_padding() -> None:
    assert b64decode_any(b64encode(b"ab").rstrip("=")) == b"ab"


def test_b64_decodes_with_whitespace_and_newlines() -> None:
    text = b64encode(BINARY)
    wrapped = "\n".join(text[i : i + 76] for i in range(0, len(text), 76))
    assert b64decode_any(f"  {wrapped}\r\n\t") == BINARY


def test_b64_decodes_bytes_input() -> None:
    assert b64decode_any(b64encode(BINARY).encode()) == BINARY


@pytest.mark.parametrize("bad", ["not base64!", "abcde", "ab=cd", "caf\u00e9"])
def test_b64_invalid_text_is_invalid_input(bad: str) -> None:
    with pytest.raises(InvalidInputError, match="base64"):
        b64decode_any(bad)


# --- data URLs --------------------------------------------------------------------------------


def png_bytes() -> bytes:
    return save(Image.new("RGB", (4, 4), RED), "PNG")


def jpeg_bytes() -> bytes:
    return save(Image.new("RGB", (4, 4), RED), "JPEG")


def test_data_url_round_trips() -> None:
    image = ImageData(png_bytes(), "image/png")
    url = to_data_url(image)
    assert url.startswith("data:image/png;base64,")
    assert parse_data_url(url) == image


def test_data_url_with_image_jpg_is_read_as_jpeg() -> None:
    parsed = parse_data_url("data:image/jpg;base64," + b64encode(jpeg_bytes()))
    assert parsed == ImageData(jpeg_bytes(), "image/jpeg")


def test_data_url_without_mime_is_sniffed() -> None:
    assert parse_data_url("data:;base64," + b64encode(png_bytes())).mime_type == "image/png"


def test_data_url_with_a_wrong_mime_is_sniffed() -> None:
    assert parse_data_url("data:image/png;base64," + b64encode(jpeg_bytes())).mime_type == (
        "image/jpeg"
    )


def test_data_url_payload_may_hold_whitespace_and_newlines() -> None:
    payload = b64encode(png_bytes())
    wrapped = "\n".join(payload[i : i + 20] for i in range(0, len(payload), 20))
    url = f"  data:image/png;base64,{wrapped}\n"
    assert parse_data_url(url).data == png_bytes()


def test_data_url_payload_may_be_urlsafe_and_unpadded() -> None:
    payload = b64encode(png_bytes(), urlsafe=True).rstrip("=")
    assert parse_data_url("DATA:image/png;BASE64," + payload).data == png_bytes()


def test_data_url_payload_may_be_percent_encoded() -> None:
    payload = b64encode(png_bytes()).replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")
    assert parse_data_url("data:image/png;base64," + payload).data == png_bytes()


def test_https_link_is_not_a_data_url() -> None:
    with pytest.raises(InvalidInputError, match="Expected a data URL"):
        parse_data_url("https://example.com/a.png")


def test_data_url_holding_text_is_invalid_input() -> None:
    with pytest.raises(InvalidInputError, match="does not contain an image"):
        parse_data_url("data:text/plain;base64," + b64encode(b"hello"))


# --- boundaries -------------------------------------------------------------------------------


def test_images_module_imports_neither_numpy_nor_torch() -> None:
    core = Path(images.__file__).resolve().parents[1]
    code = (
        "import sys; import apiedit.images; "
        "bad = {'numpy', 'torch'} & set(sys.modules); assert not bad, bad"
    )
    env = {"PYTHONPATH": str(core)}
    subprocess.run([sys.executable, "-c", code], cwd=core, check=True, env=env)


def test_output_with_a_damaged_chunk_is_invalid_input() -> None:
    data = bytearray(save(photo(64, 64), "PNG"))
    data[len(data) // 2] ^= 0xFF  # inside the pixel data: the chunk CRC no longer matches
    with pytest.raises(InvalidInputError, match="provider returned bytes that are not an image"):
        normalize_output(bytes(data))


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_truncated_jpeg_and_webp_outputs_are_invalid_input(fmt: str) -> None:
    data = save(photo(128, 128), fmt)
    with pytest.raises(InvalidInputError, match="provider returned bytes that are not an image"):
        normalize_output(data[: len(data) * 2 // 3])
