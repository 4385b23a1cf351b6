"""Model lists that stay current without slowing anyone down.

`cached_models` answers from a JSON file in the cache directory. Only `refresh=True` goes to
the network; when that fails the stale file is kept, and with no file at all the plugin's
curated table is the answer. The live list is merged over the curated one so that curated
capabilities (input caps, sizes) win for models both know.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterable

from .errors import ApiEditError
from .redact import get_logger
from .settings import ProviderSettings
from .types import ModelInfo

__all__ = ["DEFAULT_TTL", "cache_age", "cached_models", "merge_models"]

DEFAULT_TTL = 24 * 3600.0
log = get_logger("apiedit.modelcache")


def _cache_file(settings: ProviderSettings) -> Path | None:
    if settings.cache_dir is None:
        return None
    # one file per base URL, so an emulator or relay never overwrites the real provider's list
    import hashlib

    tag = hashlib.sha256(settings.base_url.encode()).hexdigest()[:12]
    return settings.cache_dir / f"models-{tag}.json"


def _read(path: Path) -> tuple[float, list[ModelInfo]] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return float(data["fetched_at"]), [ModelInfo.from_json(m) for m in data["models"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write(path: Path, models: list[ModelInfo]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
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


def merge_models(curated: Iterable[ModelInfo], live: Iterable[ModelInfo]) -> list[ModelInfo]:
    """Curated entries first (their limits are known), then live-only models in list order."""
    merged = {m.id: m for m in curated}
    for model in live:
        merged.setdefault(model.id, model)
    return list(merged.values())


def cached_models(
    settings: ProviderSettings,
    *,
    refresh: bool,
    fetch: Callable[[], list[ModelInfo]],
    curated: list[ModelInfo],
    ttl: float = DEFAULT_TTL,
) -> list[ModelInfo]:
    """The model list: cache when fresh, network on refresh or when stale and a key is set."""
    path = _cache_file(settings)
    cached = _read(path) if path else None
    fresh = cached is not None and time.time() - cached[0] < ttl
    if cached is not None and fresh and not refresh:
        return merge_models(curated, cached[1])
    if not refresh:
        # Never block a UI on the network: stale cache or curated table, no I/O.
        return merge_models(curated, cached[1] if cached else [])
    try:
        live = fetch()
    except ApiEditError as exc:
        log.warning("could not refresh the %s model list, keeping the last one: %s", settings.label, exc)
        return merge_models(curated, cached[1] if cached else [])
    if path is not None:
        try:
            _write(path, live)
        except OSError as exc:
            log.warning("could not write the model cache %s: %s", path, exc)
    return merge_models(curated, live)
