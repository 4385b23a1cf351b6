"""Model lists that stay current without slowing anyone down.

`cached_models` answers from a JSON file in the cache directory. Only `refresh=True` goes to
the network, and a refresh that fails raises (the stored list is kept on disk, and the failure
is recorded so `list_status` can say the list is stale and why): a bad key, a wrong base URL or
no network is never answered with the built-in table as if it were current.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterable

import attrs

from .errors import ApiEditError
from .redact import get_logger
from .settings import ProviderSettings
from .types import ModelInfo

__all__ = [
    "DEFAULT_TTL",
    "ListStatus",
    "cache_age",
    "cached_models",
    "list_status",
    "live_list",
    "merge_models",
]

DEFAULT_TTL = 24 * 3600.0
log = get_logger("apiedit.modelcache")


def _cache_file(settings: ProviderSettings) -> Path | None:
    if settings.cache_dir is None:
        return None
    # one file per base URL, so an emulator or relay never overwrites the real provider's list
    import hashlib

    tag = hashlib.sha256(settings.base_url.encode()).hexdigest()[:12]
    return settings.cache_dir / f"models-{tag}.json"


def _load(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None


def _read(path: Path) -> tuple[float, list[ModelInfo]] | None:
    data = _load(path)
    try:
        return float(data["fetched_at"]), [ModelInfo.from_json(m) for m in data["models"]]  # type: ignore[index]
    except (ValueError, KeyError, TypeError):
        return None


def _write(path: Path, models: list[ModelInfo] | None, *, error: str | None = None) -> None:
    """Store a fetched list, or (models None) record a failed refresh next to the old list."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if models is None:
        payload = _load(path) or {}
        payload.update(failed_at=time.time(), error=error)
    else:
        payload = {"fetched_at": time.time(), "models": [m.to_json() for m in models]}
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(payload, fh)
    os.replace(tmp, path)


def cache_age(settings: ProviderSettings) -> float | None:
    """Seconds since the provider's list was last fetched, or None if it never was."""
    path = _cache_file(settings)
    cached = _read(path) if path else None
    return None if cached is None else max(0.0, time.time() - cached[0])


@attrs.frozen
class ListStatus:
    """How current a provider's model list is: when it was fetched, and the last failure."""

    fetched_at: float | None = None
    failed_at: float | None = None
    error: str | None = None

    @property
    def stale(self) -> bool:
        """True when the newest refresh failed (or none ever succeeded after a failure)."""
        return self.failed_at is not None and (self.fetched_at or 0) < self.failed_at

    def to_json(self) -> dict[str, Any]:
        return {"fetched_at": self.fetched_at, "failed_at": self.failed_at,
                "error": self.error if self.stale else None, "stale": self.stale}


def list_status(settings: ProviderSettings) -> ListStatus:
    """The provider's list status from the cache file (no I/O beyond reading it)."""
    path = _cache_file(settings)
    data = (_load(path) if path else None) or {}
    def num(key: str) -> float | None:
        value = data.get(key)
        return float(value) if isinstance(value, (int, float)) else None
    return ListStatus(num("fetched_at"), num("failed_at"),
                      str(data["error"]) if data.get("error") else None)


def merge_models(curated: Iterable[ModelInfo], live: Iterable[ModelInfo]) -> list[ModelInfo]:
    """Curated entries first (their limits are known), then live-only models in list order."""
    merged = {m.id: m for m in curated}
    for model in live:
        merged.setdefault(model.id, model)
    return list(merged.values())


def live_list(
    settings: ProviderSettings,
    *,
    refresh: bool,
    fetch: Callable[[], list[ModelInfo]],
) -> list[ModelInfo] | None:
    """The live list (fetched when `refresh`, else the stored one), or None if none was ever
    fetched. A failed refresh raises its typed error, after recording it for `list_status`."""
    path = _cache_file(settings)
    if not refresh:
        cached = _read(path) if path else None
        return cached[1] if cached else None
    try:
        live = fetch()
    except ApiEditError as exc:
        if path is not None:
            try:
                _write(path, None, error=str(exc))
            except OSError:
                pass
        exc.message = (f"Could not refresh the {settings.label} model list: {exc.message} "
                       "The last stored list is kept and marked stale.")
        raise
    if path is not None:
        try:
            _write(path, live)
        except OSError as exc:
            log.warning("could not write the model cache %s: %s", path, exc)
    return live


def cached_models(
    settings: ProviderSettings,
    *,
    refresh: bool,
    fetch: Callable[[], list[ModelInfo]],
    curated: list[ModelInfo],
    ttl: float = DEFAULT_TTL,
) -> list[ModelInfo]:
    """The stored (or, on refresh, live) list merged under `curated`; a failed refresh raises.

    Kept for third-party plugins; ours use `apiedit.modeltable.ModelTable`, which also marks
    curated models the live list lacks as unavailable. `ttl` is unused: nothing here goes
    online without `refresh` (a UI must never wait on the network).
    """
    live = live_list(settings, refresh=refresh, fetch=fetch)
    return merge_models(curated, live or [])
