"""The identity of a conversation turn's request, so that re-sending it is recognised.

The key hashes what decides the answer: provider, model, prompt, the caller's input images,
whether the last image is fed back, every request option, and the key of the turn it continues
from. Chaining the parent's key makes the key name a position in the conversation, so a fork
or an exported copy keeps recognising its own turns. Keys and base URLs never enter it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import attrs

from ..types import EditRequest

__all__ = ["request_key"]

# Fields that never change the picture, or that the conversation supplies itself.
_IGNORED = {"model", "prompt", "images", "history", "timeout_s", "mask", "extra"}


def request_key(
    provider: str,
    request: EditRequest,
    *,
    use_last_image: bool,
    parent_key: str | None,
) -> str:
    """A hex digest naming this request at this point of the conversation."""
    options = {
        field.name: getattr(request, field.name)
        for field in attrs.fields(EditRequest)
        if field.name not in _IGNORED
    }
    identity: dict[str, Any] = {
        "v": 1,
        "provider": provider,
        "model": request.model,
        "prompt": request.prompt,
        "images": [image.sha256 for image in request.images],
        "use_last_image": bool(use_last_image) and not request.images,
        "mask": request.mask.sha256 if request.mask is not None else None,
        "options": options,
        "extra": dict(request.extra),
        "parent": parent_key,
    }
    text = json.dumps(identity, sort_keys=True, separators=(",", ":"), default=repr)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
