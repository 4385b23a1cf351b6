"""Reading `-i` / `--mask` files, with a one-line answer for every everyday mistake."""

from __future__ import annotations

from pathlib import Path

from ..errors import InvalidInputError
from ..images import open_image, sniff_mime
from ..types import ImageData

__all__ = ["read_image"]


def read_image(path: str, flag: str = "-i") -> ImageData:
    """The file's bytes as ImageData; an InvalidInputError naming `flag` for anything else."""
    if path.startswith(("http://", "https://", "data:")):
        raise InvalidInputError(
            f"{flag} takes a local file, not a URL ({path[:60]!r}). Download it first, "
            f"e.g. `curl -Lo input.png URL`, then pass {flag} input.png."
        )
    file = Path(path).expanduser()
    if file.is_dir():
        raise InvalidInputError(
            f"{flag} {path!r} is a directory. Pass an image file; repeat {flag} for several images."
        )
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise InvalidInputError(f"{flag} {path!r}: no such file. Check the path.") from None
    except OSError as exc:
        raise InvalidInputError(f"{flag} {path!r} cannot be read ({exc.strerror}).") from None
    mime = sniff_mime(data)
    if mime is None:
        what = "empty" if not data else "not an image apiedit can read"
        raise InvalidInputError(
            f"{flag} {path!r} is {what}. Pass a PNG, JPEG, WebP, GIF, BMP or TIFF file."
        )
    try:
        open_image(data)  # decode it here: a damaged file must fail before any paid call
    except InvalidInputError as exc:
        raise InvalidInputError(
            f"{flag} {path!r}: {exc.fact.rstrip(':')}. Pass an undamaged PNG, JPEG or WebP file."
        ) from None
    return ImageData(data, mime)
