"""Provider and model lists for the node, from memory: schema building must be instant.

The first look-up per provider reads its cached model list (a file, or the plugin's curated
table); network refreshes happen only through the refresh route, and a failed one is kept in
`refresh_error` for the route to show. Nothing here raises.
"""

from __future__ import annotations

import threading

from apiedit.host import default_host
from apiedit.modelpolicy import choose_default
from apiedit.redact import get_logger, redact
from apiedit.types import ModelInfo

log = get_logger("apiedit.comfy")

_lock = threading.Lock()
_models: dict[str, list[ModelInfo]] = {}
_errors: dict[str, str] = {}  # provider -> why its last refresh failed (cleared on success)


def provider_ids() -> list[str]:
    """Installed providers, the default first (a built-in, see `Host.default_provider`): the
    node's provider input defaults to the first, never a third-party plugin that sorts first."""
    try:
        host = default_host()
        first = host.default_provider()
        return sorted(host.providers(), key=lambda p: p != first)
    except Exception as exc:  # a broken environment must not break /object_info
        log.warning("could not list apiedit providers: %s", exc)
        return []


def provider_tooltip() -> str:
    """The provider input's tooltip; names plugins that failed to load, so the UI shows them."""
    text = "Installed provider plugins (pip install apiedit-<name> adds one)."
    try:
        failed = default_host().failures()
    except Exception:  # a broken environment must not break /object_info
        return text
    if failed:
        text += " Failed to load: " + "; ".join(f"{r.name} ({r.error})" for r in failed) + (
            ". Run `apiedit plugins` or see /comfy-apiedit/plugins.")
    return text


def models(provider: str, *, refresh: bool = False) -> list[ModelInfo]:
    """The provider's models; `refresh=True` asks the provider (network) and updates memory."""
    with _lock:
        cached = _models.get(provider)
    if cached is not None and not refresh:
        return cached
    try:
        found = default_host().list_models(provider, refresh=refresh)
        error = None
    except Exception as exc:
        log.warning("could not list models of %s: %s", provider, exc)
        error = redact(str(exc))
        if cached is None:  # serve the stored list (marked stale by the error), never nothing
            try:
                cached = default_host().list_models(provider)
            except Exception:
                cached = []
        found = cached
    with _lock:
        _models[provider] = found
        if refresh:
            if error:
                _errors[provider] = error
            else:
                _errors.pop(provider, None)
    return found


def refresh_error(provider: str) -> str | None:
    """Why the provider's last refresh failed, or None if it succeeded (or none was tried)."""
    with _lock:
        return _errors.get(provider)


def default_model_id(provider: str) -> str | None:
    """The provider's default by rule (newest current model of its recommended family)."""
    chosen = choose_default(models(provider))
    return chosen.id if chosen else None


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
    """Current models, the default first; retired and not-offered-to-this-key ones left out."""
    first = default_model_id(provider)
    ids = [m.id for m in models(provider) if not m.retired and m.available is not False]
    return sorted(ids, key=lambda i: i != first)


def all_model_ids() -> list[str]:
    """Every provider's usable ids; the first provider's default comes first (the node default)."""
    seen: dict[str, None] = {}
    for provider in provider_ids():
        for model_id in usable_model_ids(provider):
            seen.setdefault(model_id, None)
    return list(seen)


def forget() -> None:
    with _lock:
        _models.clear()
        _errors.clear()
