"""Conversation images on disk, one file per distinct content: `images/ab/<sha256>.<ext>`.

Files are written atomically (temp file, fsync, `os.replace`) before the database commit that
refers to them, so a crash leaves at worst an unreferenced file, never a reference to a missing
or half-written one. The extension comes from the bytes, so equal content has exactly one path.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from pathlib import Path
from typing import Iterator

__all__ = ["ImageFiles", "extension_for"]

_TEMP_SUFFIX = ".tmp"
_STALE_TEMP_S = 3600.0  # a temp file this old belongs to a writer that died
def extension_for(data: bytes) -> str:
    """The file extension the magic bytes announce ('bin' when unknown)."""
    from ..images import extension_for as _extension  # here: importing the store loads no Pillow

    return _extension(data)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # not possible on every platform; the file itself was synced
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _writer_gone(temp_name: str) -> bool:
    """Whether the process that wrote this temp file (`.<sha>.<pid>.<rand>.tmp`) has exited."""
    try:
        pid = int(temp_name.split(".")[2])
    except (IndexError, ValueError):
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive but not ours, or no way to tell on this platform
        return False
    return False


class ImageFiles:
    """A content-addressed directory of image files."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str, ext: str) -> Path:
        return self.root / sha256[:2] / f"{sha256}.{ext}"

    def write(self, data: bytes) -> tuple[str, str]:
        """Store `data` unless an identical file exists; return its (sha256, ext)."""
        sha256 = hashlib.sha256(data).hexdigest()
        ext = extension_for(data)
        self.ensure(sha256, ext, data)
        return sha256, ext

    def ensure(self, sha256: str, ext: str, data: bytes) -> None:
        """Make sure the file for `sha256` exists with `data` (a no-op when it does)."""
        target = self.path(sha256, ext)
        if target.is_file():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f".{sha256}.{os.getpid()}.{uuid.uuid4().hex[:8]}{_TEMP_SUFFIX}"
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(target.parent)

    def read(self, sha256: str, ext: str) -> bytes:
        """The file's bytes; FileNotFoundError if it is gone, ValueError if it is damaged."""
        data = self.path(sha256, ext).read_bytes()
        if hashlib.sha256(data).hexdigest() != sha256:
            raise ValueError(f"{self.path(sha256, ext)} no longer matches its hash")
        return data

    def remove(self, sha256: str, ext: str) -> None:
        self.path(sha256, ext).unlink(missing_ok=True)

    def stored(self) -> Iterator[tuple[str, str]]:
        """Every (sha256, ext) on disk; temp files of writers that died are removed."""
        if not self.root.is_dir():
            return
        now = time.time()
        for sub in self.root.iterdir():
            if not sub.is_dir():
                continue
            for entry in sub.iterdir():
                name = entry.name
                if name.endswith(_TEMP_SUFFIX):
                    try:
                        if _writer_gone(name) or now - entry.stat().st_mtime > _STALE_TEMP_S:
                            entry.unlink(missing_ok=True)
                    except OSError:
                        pass
                    continue
                stem, dot, ext = name.partition(".")
                if dot and len(stem) == 64:
                    yield stem, ext
