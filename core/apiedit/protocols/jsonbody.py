"""JSON request bodies with multi-MB inline images, built without encoding the images twice.

`json.dumps` scans every character of a base64 payload for escaping and writes it out again,
then the text is encoded to bytes once more: on a 1024² upload that costs more than the
base64 encoding itself. Payloads made by `apiedit.images` (`Base64Text`: base64 characters
only) are copied in as the bytes they already are; everything else goes through `json.dumps`.
The bytes are those `json.dumps(body).encode()` gives (default separators, ASCII only).
"""

from __future__ import annotations

import json
from typing import Any

from ..images import Base64Text

__all__ = ["json_body"]

_SPLICE_MIN = 4096  # shorter strings: the encoder is as fast as a splice


def json_body(body: Any) -> bytes:
    """`json.dumps(body, allow_nan=False).encode("utf-8")`, faster on inline images."""
    pieces: list[bytes] = []
    try:
        _write(body, pieces)
    except _Fallback:
        return json.dumps(body, allow_nan=False).encode("utf-8")
    return b"".join(pieces)


class _Fallback(Exception):
    """A value this writer does not reproduce exactly (non-str keys, custom types)."""


def _write(value: Any, out: list[bytes]) -> None:
    if isinstance(value, Base64Text) and len(value) >= _SPLICE_MIN:
        out.append(b'"')
        out.append(value.ascii)
        out.append(b'"')
    elif isinstance(value, dict):
        out.append(b"{")
        for index, (key, item) in enumerate(value.items()):
            if not isinstance(key, str):
                raise _Fallback
            out.append(b", " if index else b"")
            out.append(json.dumps(key).encode("ascii"))
            out.append(b": ")
            _write(item, out)
        out.append(b"}")
    elif isinstance(value, (list, tuple)):
        out.append(b"[")
        for index, item in enumerate(value):
            if index:
                out.append(b", ")
            _write(item, out)
        out.append(b"]")
    elif value is None or isinstance(value, (str, int, float, bool)):
        out.append(json.dumps(value, allow_nan=False).encode("ascii"))
    else:
        raise _Fallback
