"""Output files that never overwrite a paid image, checked before any paid call."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable

from ..errors import InvalidInputError
from ..images import extension_for
from ..types import ImageData

__all__ = ["file_stem", "prepare_out_dir", "save_images"]


def file_stem(text: str) -> str:
    """A file-name-safe version of `text` (a conversation name, say)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "conversation"


def prepare_out_dir(out: str | os.PathLike[str]) -> Path:
    """Create the output directory, or say at once why images could not be saved there."""
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise InvalidInputError(
            f"-o {str(out)!r} is a file, but -o names the output directory. Pass a directory "
            "(created if missing); use --name to choose the file name."
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInputError(
            f"Cannot create the output directory {str(out)!r} ({exc.strerror}). Pass another -o."
        ) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise InvalidInputError(f"The output directory {str(out)!r} is not writable. Pass another -o.")
    return path


def _taken(out: Path, stem: str, index: int) -> list[Path]:
    return sorted(out.glob(f"{glob_escape(stem)}-{index}.*"))


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def save_images(images: Iterable[ImageData], out: Path, stem: str) -> list[Path]:
    """Write each image as STEM-N.EXT with the lowest free N; never overwrite a file.

    A file that already holds exactly these bytes (a stored conversation answer saved again)
    is reused rather than duplicated.
    """
    paths: list[Path] = []
    index = 1
    for image in images:
        while True:
            existing = _taken(out, stem, index)
            if any(p.read_bytes() == image.data for p in existing if p not in paths):
                paths.append(next(p for p in existing if p.read_bytes() == image.data))
                index += 1
                break
            if existing:
                index += 1
                continue
            path = out / f"{stem}-{index}.{extension_for(image.data)}"
            try:
                with open(path, "xb") as handle:  # exclusive: a parallel run cannot clobber it
                    handle.write(image.data)
            except FileExistsError:
                index += 1
                continue
            paths.append(path)
            index += 1
            break
    return paths
