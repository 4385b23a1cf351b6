"""Export a conversation to one JSON file and import it back, byte-identical.

Images are embedded once each as base64 (keyed by SHA-256, checked on import); provider state
and turn metadata are kept verbatim (raw bytes tagged as `{"$bytes": ...}`, see jsoncodec).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError
from ..types import ImageData, Turn
from . import jsoncodec
from .store import ConversationStore, Exchange

__all__ = ["FORMAT", "VERSION", "export_conversation", "import_conversation"]

FORMAT = "apiedit.conversation"
VERSION = 1


def _message_json(message: Turn, images: dict[str, str]) -> dict[str, Any]:
    refs = []
    for image in message.images:
        images.setdefault(image.sha256, base64.b64encode(image.data).decode("ascii"))
        refs.append({"sha256": image.sha256, "mime_type": image.mime_type})
    return {
        "role": message.role,
        "text": message.text,
        "provider": message.provider,
        "model": message.model,
        "state": jsoncodec.to_plain(message.state),
        "images": refs,
    }


def export_conversation(store: ConversationStore, name: str, path: str | os.PathLike[str]) -> None:
    """Write `name` to `path` atomically (a reader never sees half a file)."""
    images: dict[str, str] = {}
    turns = []
    for exchange in store.exchanges(name):
        turns.append({
            "turn": exchange.turn,
            "request_key": exchange.request_key,
            "parent_key": exchange.parent_key,
            "created_at": exchange.created_at,
            "info": jsoncodec.to_plain(exchange.info),
            "messages": [_message_json(m, images) for m in exchange.messages],
        })
    max_messages, max_images = store.limits(name)
    document = {
        "format": FORMAT,
        "version": VERSION,
        "name": name,
        "exported_at": time.time(),
        "limits": {"max_messages": max_messages, "max_images": max_images},
        "turns": turns,
        "images": images,
    }
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(document, fh, ensure_ascii=True, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _bad(path: Path, why: str) -> InvalidInputError:
    return InvalidInputError(
        f"{path} is not a usable apiedit conversation export ({why}). Export it again with "
        "`apiedit conversations export` or Conversation.export()."
    )


def _decode_images(path: Path, table: Any) -> dict[str, bytes]:
    if not isinstance(table, dict):
        raise _bad(path, "no image table")
    out = {}
    for sha256, text in table.items():
        try:
            data = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError, TypeError):
            raise _bad(path, f"image {sha256[:12]} is not valid base64") from None
        if hashlib.sha256(data).hexdigest() != sha256:
            raise _bad(path, f"image {sha256[:12]} does not match its checksum")
        out[sha256] = data
    return out


def _message(path: Path, raw: Any, images: dict[str, bytes]) -> Turn:
    try:
        refs = [ImageData(images[ref["sha256"]], ref["mime_type"]) for ref in raw["images"]]
        return Turn(
            role=raw["role"], text=raw["text"], images=refs, provider=raw["provider"],
            model=raw["model"], state=jsoncodec.from_plain(raw["state"]),
        )
    except KeyError as exc:
        raise _bad(path, f"a message lacks {exc}") from None
    except (TypeError, ValueError) as exc:
        raise _bad(path, f"a message is malformed: {exc}") from None


def import_conversation(
    store: ConversationStore,
    path: str | os.PathLike[str],
    name: str | None = None,
    *,
    replace: bool = False,
) -> str:
    """Load the export at `path` into `store` as `name` (default: its own); return the name."""
    source = Path(path)
    try:
        document = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _bad(source, f"{type(exc).__name__}: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise _bad(source, "not an apiedit conversation")
    if document.get("version") != VERSION:
        raise _bad(source, f"format version {document.get('version')!r}; this apiedit reads "
                           f"version {VERSION}")
    images = _decode_images(source, document.get("images"))
    exchanges = []
    try:
        for raw in document["turns"]:
            user, assistant = (_message(source, m, images) for m in raw["messages"])
            exchanges.append(Exchange(
                turn=int(raw["turn"]), user=user, assistant=assistant,
                request_key=str(raw["request_key"]), parent_key=raw.get("parent_key"),
                info=jsoncodec.from_plain(raw.get("info") or {}),
                created_at=float(raw.get("created_at") or 0.0),
            ))
    except (KeyError, TypeError, ValueError) as exc:
        raise _bad(source, f"a turn is malformed: {exc!r}") from None
    for exchange in exchanges:
        if (exchange.user.role, exchange.assistant.role) != ("user", "assistant"):
            raise _bad(source, f"turn {exchange.turn} is not a user message and its answer")
    numbers = [e.turn for e in exchanges]
    if len(set(numbers)) != len(numbers) or any(n < 1 for n in numbers):
        raise _bad(source, "its turn numbers repeat or are not positive")
    limits = document.get("limits") or {}
    target = name or document.get("name")
    if not isinstance(target, str) or not target.strip():
        raise _bad(source, "it has no name; pass one")
    store.restore(
        target, exchanges, max_messages=limits.get("max_messages"),
        max_images=limits.get("max_images"), replace=replace,
    )
    return target.strip()
