"""The price badge's table, kept on disk from one ComfyUI start to the next.

ComfyUI 0.33 builds the node's schema when it loads the pack. A later start takes the table
from the stored schema data (`schema_data`); this file serves when that data is computed again
(a new day, a changed setting) while the table's own inputs did not change, so its hundreds of
price look-ups through the plugins (~40 ms here) are paid only when a plugin, a model list or
the node's inputs change. It is kept in the cache directory
(`APIEDIT_CACHE_DIR`, safe to delete) under a fingerprint of everything it is computed from:
the node's model lists and inputs (what the caller passes), and for each provider its plugin's
distribution version and the size and modification time of the files beside its module (its
price and model tables), plus core's pricing code and the badge's own rules (`price_badge.py`).
Anything else recomputes it and replaces the file; an unreadable or foreign file is ignored,
never trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .stored import file_stat, write_json

if TYPE_CHECKING:
    from apiedit.host import Host

__all__ = ["FILE_NAME", "fingerprint", "remembered"]

FORMAT = 1  # bump when the table's shape changes
FILE_NAME = "comfy-price-badge.json"
_PRICE_BADGE_FILE = os.path.join(os.path.dirname(__file__), "price_badge.py")


def fingerprint(models: Mapping[str, Sequence[str]], inputs: Any, host: Host) -> str:
    """A digest of the table's inputs, the plugins' code and core's pricing code."""
    from importlib.util import find_spec

    records = {r.name: [r.distribution, r.version] for r in host.records()}
    code = {provider: [records.get(provider), [file_stat(f) for f in host.plugin_files(provider)]]
            for provider in sorted(models)}
    # found, not imported: the later start that reads the table never needs the pricing code;
    # the badge's own rules (price_badge.py) too, so upgrading only this pack recomputes it
    code_files = [getattr(find_spec(m), "origin", None) or m for m in ("apiedit.pricing", "apiedit.types")]
    core = [file_stat(f) for f in (*code_files, _PRICE_BADGE_FILE)]
    text = json.dumps([FORMAT, models, inputs, code, core], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _path() -> str:
    from apiedit.paths import cache_dir

    return os.path.join(cache_dir(), FILE_NAME)


def _load(key: str) -> dict[str, Any] | None:
    try:
        with open(_path(), encoding="utf-8") as f:
            stored = json.load(f)
    except (OSError, ValueError):
        return None
    if isinstance(stored, dict) and stored.get("key") == key and isinstance(stored.get("table"), dict):
        return stored["table"]
    return None


def _save(key: str, table: dict[str, Any]) -> None:
    write_json(_path(), {"key": key, "table": table}, "the price badge's table")


def remembered(models: Mapping[str, Sequence[str]], inputs: Any,
               compute: Callable[[], dict[str, Any]], host: Host | None = None) -> dict[str, Any]:
    """The stored table when its fingerprint matches, else `compute()` (then stored)."""
    if host is None:
        from apiedit.host import default_host

        host = default_host()
    key = fingerprint(models, inputs, host)
    table = _load(key)
    if table is None:
        table = compute()
        _save(key, table)
    return table
