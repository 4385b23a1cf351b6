"""JSON for provider state and turn metadata, kept verbatim and bytes-safe.

Strings (base64 thought signatures included) pass through untouched. Raw `bytes` become
`{"$bytes": "<base64>"}`; a dict key the caller wrote with a leading `$` gets one more `$`
on the way in and loses it on the way out, so no caller value can be mistaken for that tag.

The store passes a message's images along: a string that is exactly the standard base64 of
one of them (Gemini replays its answer image verbatim) is kept as `{"$image": <index>}` and
rebuilt from the image file on the way out, identical to the byte, instead of being stored
and loaded twice.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["dumps", "from_plain", "loads", "to_plain"]

_BYTES = "$bytes"
_IMAGE = "$image"
_MIN_IMAGE_TEXT = 1024  # shorter strings are never looked up among the images

Images = Sequence[Any]  # objects with a `.data` (ImageData), or plain bytes


def _image_bytes(image: Any) -> bytes:
    return image if isinstance(image, (bytes, bytearray)) else image.data


def _index_of(images: Images) -> Callable[[str], int | None]:
    """A lookup: text -> the index of the image it is the canonical base64 of (built lazily)."""
    table: dict[str, int] = {}

    def find(text: str) -> int | None:
        if not images or len(text) < _MIN_IMAGE_TEXT:
            return None
        if not table:
            for index, image in enumerate(images):
                table.setdefault(base64.b64encode(_image_bytes(image)).decode("ascii"), index)
        return table.get(text)

    return find


def _encode(value: Any, find: Callable[[str], int | None] | None = None) -> Any:
    if isinstance(value, str) and find is not None:
        index = find(value)
        return value if index is None else {_IMAGE: index}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {_BYTES: base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dict) or hasattr(value, "items"):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"state keys must be strings, not {type(key).__name__} ({key!r})")
            out["$" + key if key.startswith("$") else key] = _encode(item, find)
        return out
    if isinstance(value, (list, tuple)):
        return [_encode(item, find) for item in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"{type(value).__name__} is not JSON data")


def _decode(value: Any, images: Images = (), lazy: bool = False) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and _BYTES in value:
            return base64.b64decode(value[_BYTES])
        if len(value) == 1 and _IMAGE in value:
            index = value[_IMAGE]
            if not isinstance(index, int) or not 0 <= index < len(images):
                raise ValueError(f"the state refers to image {index!r}, which the message lacks")
            if lazy:
                from .lazyimage import ImageText

                return ImageText(images[index])
            return base64.b64encode(_image_bytes(images[index])).decode("ascii")
        return {key.removeprefix("$"): _decode(item, images, lazy) for key, item in value.items()}
    if isinstance(value, list):
        return [_decode(item, images, lazy) for item in value]
    return value


def to_plain(value: Any) -> Any:
    """The JSON-ready form of `value` (bytes tagged); TypeError for non-JSON data."""
    return _encode(value)


def from_plain(value: Any) -> Any:
    """The inverse of `to_plain`."""
    return _decode(value)


def dumps(value: Any, images: Images = ()) -> str:
    """Compact JSON text of `value`, key order kept; TypeError for anything that is not JSON
    data or bytes. Strings equal to the base64 of one of `images` are stored as references."""
    find = _index_of(images) if images else None
    return json.dumps(_encode(value, find), ensure_ascii=True, separators=(",", ":"))


def loads(text: str, images: Images = (), *, lazy: bool = False) -> Any:
    """The inverse of `dumps`, given the same `images`; with `lazy`, an image's text is an
    `ImageText` (built on `str()`), not the text itself."""
    return _decode(json.loads(text), images, lazy)
