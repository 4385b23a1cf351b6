"""Small files the pack keeps in apiedit's cache folder from one ComfyUI start to the next
(`schema_data`, `badge_store`): how a source file is fingerprinted, how a file is written."""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

from apiedit.redact import get_logger

log = get_logger("apiedit.comfy")


def file_stat(path: str) -> list[Any]:
    """The path with its size and modification time (None when missing): part of a fingerprint."""
    try:
        found = os.stat(path)
    except OSError:
        return [path, None]
    return [path, found.st_size, found.st_mtime_ns]


def write_json(path: str, data: Any, what: str) -> None:
    """Written to a temporary file and renamed: two ComfyUI processes never read half a file.
    A read-only cache folder only costs the next start the computation (logged)."""
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".apiedit-", dir=os.path.dirname(path))
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, ensure_ascii=False)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError as exc:
        log.info("%s was not stored: %s", what, exc)
