"""Provider and model lists for the node, from memory: schema building must be instant.

The first look-up per provider reads its cached model list (a file, or the plugin's curated
table); network refreshes happen only through the refresh route. Nothing here raises.
"""

from __future__ import annotations

import threading

from apiedit.host import default_host
from apiedit.redact import get_logger
from apiedit.types import ModelInfo

log = get_logger("apiedit.comfy")
NO_PROVIDER = "(no provider installed)"

_lock = threading.Lock()
_models: dict[str, list[ModelInfo]] = {}


def provider_ids() -> list[str]:
    try:
        return list(default_host().providers())
    except Exception as exc:  # a broken environment must not break /object_info
        log.warning("could not list apiedit providers: %s", exc)
        return []


def models(provider: str, *, refresh: bool = False) -> list[ModelInfo]:
    """The provider's models; `refresh=True` asks the provider (network) and updates memory."""
    with _lock:
        cached = _models.get(provider)
    if cached is not None and not refresh:
        return cached
    try:
        found = default_host().list_models(provider, refresh=refresh)
    except Exception as exc:
        log.warning("could not list models of %s: %s", provider, exc)
        found = cached or []
    with _lock:
        _models[provider] = found
    return found


_refreshing: set[str] = set()


def refresh_if_stale(provider: str) -> bool:
    """Start a background refresh when the provider's stored list is missing or older than
    its TTL, so model lists stay current without anyone waiting on the network. True if one
    was started."""
    from apiedit.modelcache import DEFAULT_TTL, cache_age

    try:
        age = cache_age(default_host().settings(provider))
    except Exception as exc:
        log.warning("could not check the %s model cache: %s", provider, exc)
        return False
    if age is not None and age < DEFAULT_TTL:
        return False
    with _lock:
        if provider in _refreshing:
            return False
        _refreshing.add(provider)

    def run() -> None:
        try:
            models(provider, refresh=True)
        finally:
            with _lock:
                _refreshing.discard(provider)

    threading.Thread(target=run, name=f"apiedit-models-{provider}", daemon=True).start()
    return True


def usable_model_ids(provider: str) -> list[str]:
    return [m.id for m in models(provider) if not m.retired]


def all_model_ids() -> list[str]:
    seen: dict[str, None] = {}
    for provider in provider_ids():
        for model_id in usable_model_ids(provider):
            seen.setdefault(model_id, None)
    return list(seen)


def forget() -> None:
    with _lock:
        _models.clear()
