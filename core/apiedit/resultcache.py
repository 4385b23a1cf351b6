"""A result cache across restarts, so that an identical request is not paid for twice.

Used by `apiedit.edit` and `apiedit edit` (ComfyUI has its own node cache; conversations
their turn dedupe). The key is a SHA-256 of the provider, the base URL's origin, every
request field and the bytes of every input image, never the API key. Only requests with a
fixed seed are cached by default (an unseeded request asks for a new image each time);
`cache=True` caches any request, `cache=False` or `APIEDIT_RESULT_CACHE=0` none. Entries live
in `cache_dir()/results/` (one JSON file each, mode 0600), the oldest go first when the total
passes `APIEDIT_RESULT_CACHE_MB` (default 500).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from .conversation import jsoncodec
from .origins import origin_of
from .paths import cache_dir
from .redact import get_logger
from .types import EditRequest, EditResult, ImageData

if TYPE_CHECKING:
    from .host import Host

__all__ = ["cached_edit", "request_digest"]

log = get_logger("apiedit.resultcache")
_NOT_PART_OF_THE_RESULT = {"timeout_s", "images", "mask", "history"}


def _enabled(cache: bool | None, request: EditRequest) -> bool:
    if cache is not None:
        return cache
    if os.environ.get("APIEDIT_RESULT_CACHE", "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    return request.seed is not None


def _limit_bytes() -> int:
    try:
        return int(float(os.environ.get("APIEDIT_RESULT_CACHE_MB", "500")) * 1024 * 1024)
    except ValueError:
        return 500 * 1024 * 1024


def request_digest(provider: str, base_url: str, request: EditRequest) -> str:
    """The cache key: provider, origin, every field that shapes the result, input bytes."""
    fields = {k: v for k, v in attrs.asdict(request, recurse=False).items()
              if k not in _NOT_PART_OF_THE_RESULT}
    fields["extra"] = dict(request.extra)
    digest = hashlib.sha256()
    head = {"provider": provider, "origin": origin_of(base_url), "fields": fields}
    digest.update(json.dumps(head, sort_keys=True, default=str).encode())
    for image in (*request.images, *((request.mask,) if request.mask else ())):
        digest.update(b"\0image\0" + hashlib.sha256(image.data).digest())
    return digest.hexdigest()


def _folder() -> Path:
    return cache_dir() / "results"


def _load(path: Path) -> EditResult | None:
    try:
        data = jsoncodec.loads(path.read_text(encoding="utf-8"))
        images = tuple(ImageData(base64.b64decode(i["data"]), i["mime_type"])
                       for i in data["images"])
        os.utime(path)  # recently used: evicted last
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.debug("Result cache entry %s is unreadable (%s); ignored.", path.name, exc)
        return None
    return EditResult(images=images, provider=data["provider"], model=data["model"],
                      text=data.get("text", ""), request_id=data.get("request_id"),
                      usage=data.get("usage") or {}, warnings=tuple(data.get("warnings") or ()),
                      info={**(data.get("info") or {}), "cached": True},
                      state=data.get("state") or {})


def _save(path: Path, result: EditResult) -> None:
    payload = {
        "provider": result.provider, "model": result.model, "text": result.text,
        "request_id": result.request_id, "usage": dict(result.usage),
        "warnings": list(result.warnings), "info": dict(result.info), "state": dict(result.state),
        "images": [{"mime_type": i.mime_type, "data": base64.b64encode(i.data).decode("ascii")}
                   for i in result.images],
        "saved_at": time.time(),
    }
    try:
        text = jsoncodec.dumps(payload)
    except (TypeError, ValueError):
        text = jsoncodec.dumps(json.loads(json.dumps(payload, default=str)))
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _evict(path.parent, _limit_bytes())


def _evict(folder: Path, limit: int) -> None:
    entries = []
    for entry in folder.glob("*.json"):
        try:
            stat = entry.stat()
        except OSError:
            continue
        entries.append((stat.st_mtime, stat.st_size, entry))
    total = sum(size for _, size, _ in entries)
    for _, size, entry in sorted(entries):
        if total <= limit:
            break
        entry.unlink(missing_ok=True)
        total -= size


def cached_edit(host: Host, provider: str, request: EditRequest, *, cache: bool | None = None,
                **options: Any) -> EditResult:
    """`host.edit(provider, request, **options)`, answered from the cache when it may be."""
    if not _enabled(cache, request):
        return host.edit(provider, request, **options)
    settings = host.settings(provider, api_key=options.get("api_key"),
                             base_url=options.get("base_url"),
                             trust_base_url=options.get("trust_base_url", True))
    path = _folder() / f"{request_digest(provider, settings.base_url, request)}.json"
    hit = _load(path) if path.exists() else None
    if hit is not None:
        log.info("%s: the identical request was answered before; returning the cached result "
                 "(not sent, not billed).", provider)
        progress = options.get("progress")
        if progress is not None:
            try:
                progress("Identical request answered before: using the cached result (not billed).")
            except Exception:  # a broken progress sink must not fail the call
                pass
        # said in the result too: a progress line may not be shown (no terminal)
        note = ("The identical request was answered before: this is the cached result (not "
                "sent, not billed again); turn the cache off for a new picture.")
        return attrs.evolve(hit, warnings=(*hit.warnings, note))
    result = host.edit(provider, request, **options)
    try:
        _save(path, result)
    except (OSError, TypeError, ValueError) as exc:
        log.warning("The result could not be cached (%s); it is returned all the same.", exc)
    return result
