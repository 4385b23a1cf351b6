"""JSON for provider state and turn metadata, kept verbatim and bytes-safe.

Strings (base64 thought signatures included) pass through untouched. Raw `bytes` become
`{"$bytes": "<base64>"}`; a dict key the caller wrote with a leading `$` gets one more `$`
on the way in and loses it on the way out, so no caller value can be mistaken for that tag.
"""

from __future__ import annotations

import base64
import json
from typing import Any

__all__ = ["dumps", "from_plain", "loads", "to_plain"]

_BYTES = "$bytes"


def _encode(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {_BYTES: base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dict) or hasattr(value, "items"):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"state keys must be strings, not {type(key).__name__} ({key!r})")
            out["$" + key if key.startswith("$") else key] = _encode(item)
        return out
    if isinstance(value, (list, tuple)):
        return [_encode(item) for item in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"{type(value).__name__} is not JSON data")


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and _BYTES in value:
            return base64.b64decode(value[_BYTES])
        return {key.removeprefix("$"): _decode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_decode(item) for item in value]
    return value


def to_plain(value: Any) -> Any:
    """The JSON-ready form of `value` (bytes tagged); TypeError for non-JSON data."""
    return _encode(value)


def from_plain(value: Any) -> Any:
    """The inverse of `to_plain`."""
    return _decode(value)


def dumps(value: Any) -> str:
    """Compact JSON text of `value`, key order kept; TypeError for anything that is not JSON data or bytes."""
    return json.dumps(_encode(value), ensure_ascii=True, separators=(",", ":"))


def loads(text: str) -> Any:
    return _decode(json.loads(text))
