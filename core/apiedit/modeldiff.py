"""Compare a saved live model list with a provider's tables, for maintainers.

    apiedit models gemini --refresh --json > live.json
    apiedit models-diff gemini live.json

The file may be that output (only entries with `available: true` count as live), or a raw
`/models` answer (`{"data": [{"id": ...}]}`, Gemini's `{"models": [{"name": ...}]}`, or a
list). Each live id is classified against the tables as they are now; table models the live
list lacks are reported as removed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from .errors import InvalidInputError

if TYPE_CHECKING:
    from .host import Host

__all__ = ["ModelDiff", "diff_models", "live_ids"]


@attrs.frozen
class ModelDiff:
    """What a maintainer has to look at; empty lists mean the tables match the live list."""

    added: tuple[tuple[str, str], ...]  # (id, family): new members of a known family
    unknown_family: tuple[str, ...]  # ids no table or family describes
    removed: tuple[str, ...]  # current table entries the live list lacks

    @property
    def clean(self) -> bool:
        return not (self.added or self.unknown_family or self.removed)

    def to_json(self) -> dict[str, Any]:
        return {"added": [{"id": i, "family": f} for i, f in self.added],
                "unknown_family": list(self.unknown_family), "removed": list(self.removed)}


def live_ids(data: Any) -> list[str]:
    """The live ids in a saved `apiedit models --json` output or a raw `/models` answer."""
    if isinstance(data, dict):
        data = data.get("data", data.get("models", []))
    if not isinstance(data, list):
        raise InvalidInputError("The file holds no model list: save `apiedit models PROVIDER "
                                "--refresh --json` or the provider's raw /models answer.")
    ids = []
    for item in data:
        if isinstance(item, str):
            ids.append(item)
        elif isinstance(item, dict) and item.get("available", True) is not False:
            name = item.get("id") or item.get("name")
            if isinstance(name, str) and name:
                ids.append(name.removeprefix("models/"))
    return list(dict.fromkeys(ids))


def diff_models(host: Host, provider: str, path: str | Path) -> ModelDiff:
    """Classify the file's live ids against `provider`'s tables (no network)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"Could not read the saved model list {path}: {exc}") from exc
    live = live_ids(data)
    settings = host.settings(provider)
    added, unknown = [], []
    for model_id in live:
        info = host._guarded(provider, "model_info", model=model_id, settings=settings)
        if info is None:
            unknown.append(model_id)
        elif not info.listed:
            added.append((model_id, str(info.extra.get("family", "?"))))
    tables = host.list_models(provider)
    removed = [m.id for m in tables if m.listed and m.verified and not m.retired and m.id not in live]
    return ModelDiff(tuple(added), tuple(unknown), tuple(removed))
