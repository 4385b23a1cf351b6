"""A plugin's models: the live list is the truth, curated entries and families are metadata.

A curated `ModelInfo` describes one id the provider documents (limits, lifecycle dates, the
source); a `Family` describes every id matching its pattern, so a new version of a known family
inherits its limits without a release. The list a user sees is built from the key's live list:
  - a live model the table knows gets the table's limits (`verified`, `available=True`);
  - a live model only a family matches gets the family's limits (`verified`, `listed=False`);
  - a live model nothing describes keeps what the live list says (`verified=False`);
  - a curated model the live list lacks is shown with `available=False`, never as current.
Before any live list exists the curated table answers (`available=None`).

Hooks that get only a model id (`supports_conversation`) ask the table, so they agree with
what `list_models` last returned, live-only models included.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

import attrs

from .modelcache import live_list
from .modelpolicy import with_lifecycle
from .types import Capability, ModelInfo

if TYPE_CHECKING:
    from .settings import ProviderSettings

__all__ = ["Family", "ModelTable", "merge_live"]

Merge = Callable[[Iterable[ModelInfo], Iterable[ModelInfo]], list[ModelInfo]]
_LIVE_FIELDS = ("deprecated_on", "shutdown_on", "replacement")


@attrs.frozen
class Family:
    """Limits shared by every id `pattern` matches (re.search, case-insensitive).

    `template` carries the limits (its id is ignored). `recommended` marks the family whose
    newest current member is the provider's default.
    """

    name: str
    pattern: str
    template: ModelInfo
    recommended: bool = False

    def matches(self, model_id: str) -> bool:
        return re.search(self.pattern, model_id, re.IGNORECASE) is not None

    def describe(self, model_id: str, label: str = "") -> ModelInfo:
        extra = {**self.template.extra, "family": self.name}
        if self.recommended:
            extra["recommended"] = True
        return attrs.evolve(self.template, id=model_id, label=label or model_id, extra=extra,
                            verified=True, listed=False, deprecated_on=None, shutdown_on=None,
                            released_on=None, retired=False, replacement=None)


def _with_family(model: ModelInfo, families: Sequence[Family]) -> ModelInfo:
    """A curated entry tagged with its family (and the recommended flag) if one matches."""
    family = next((f for f in families if f.matches(model.id)), None)
    if family is None:
        return model
    extra = {"family": family.name, **model.extra}
    if family.recommended and extra["family"] == family.name:
        extra["recommended"] = True
    return attrs.evolve(model, extra=extra)


def merge_live(curated: Sequence[ModelInfo], live: Sequence[ModelInfo] | None,
               families: Sequence[Family] = ()) -> list[ModelInfo]:
    """The rule in the module docstring: curated first, then live-only models in list order."""
    if live is None:
        return [with_lifecycle(m) for m in curated]
    live_by_id = {m.id: m for m in live}
    merged: list[ModelInfo] = []
    for model in curated:
        seen = live_by_id.pop(model.id, None)
        if seen is None:
            merged.append(with_lifecycle(attrs.evolve(model, available=False)))
            continue
        dates = {f: getattr(seen, f) for f in _LIVE_FIELDS if getattr(seen, f)}
        extra = {**{k: v for k, v in seen.extra.items() if k not in model.extra}, **model.extra}
        merged.append(with_lifecycle(attrs.evolve(model, available=True, extra=extra, **dates)))
    for model in live_by_id.values():
        family = next((f for f in families if f.matches(model.id)), None)
        if family is not None:
            described = family.describe(model.id, model.label)
            dates = {f: getattr(model, f) for f in _LIVE_FIELDS if getattr(model, f)}
            model = attrs.evolve(described, extra={**model.extra, **described.extra}, **dates)
        merged.append(with_lifecycle(attrs.evolve(model, available=True)))
    return merged


class ModelTable:
    """Curated models and families merged with the cached or live list.

    `merge` (optional) replaces the rule for plugins with their own; it gets the curated entries
    and the live list (empty when none was fetched yet). `empty_live_is_unknown` is for
    providers whose list may not show image models at all: an empty one then says nothing.
    """

    def __init__(self, curated: Iterable[ModelInfo], *, families: Iterable[Family] = (),
                 merge: Merge | None = None, empty_live_is_unknown: bool = False) -> None:
        self.families = tuple(families)
        self.empty_live_is_unknown = empty_live_is_unknown
        self.curated = tuple(_with_family(m, self.families) for m in curated)
        self._merge = merge
        self._by_id = {m.id: m for m in self.curated}
        self._seen = dict(self._by_id)

    def list_models(self, settings: ProviderSettings, *, refresh: bool,
                    fetch: Callable[[], list[ModelInfo]]) -> list[ModelInfo]:
        """The stored list (live when `refresh`; a failed refresh raises) merged with the table."""
        live = live_list(settings, refresh=refresh, fetch=fetch)
        if not live and self.empty_live_is_unknown:
            live = None
        if self._merge is not None:
            models = [with_lifecycle(m) for m in self._merge(self.curated, live or [])]
        else:
            models = merge_live(self.curated, live, self.families)
        self.remember(models)
        return models

    def find_model(self, model_id: str, settings: ProviderSettings) -> ModelInfo | None:
        """The model as the list shows it without going online, else what the table or a
        family says about the id; None when nothing describes it."""
        offline = self.list_models(settings, refresh=False, fetch=list)  # never called offline
        return next((m for m in offline if m.id == model_id), None) or self.describe(model_id)

    def describe(self, model_id: str) -> ModelInfo | None:
        """What the table knows about an id without any list: its entry, or its family's limits."""
        known = self._by_id.get(model_id)
        if known is not None:
            return with_lifecycle(known)
        family = next((f for f in self.families if f.matches(model_id)), None)
        return family.describe(model_id) if family else None

    def remember(self, models: Iterable[ModelInfo]) -> None:
        for model in models:
            self._seen[model.id] = model

    def supports(self, model_id: str, capability: Capability) -> bool:
        """What the last list showing `model_id` said, else its family; False if unknown."""
        known = self._seen.get(model_id) or self.describe(model_id)
        return known is not None and known.supports(capability)
