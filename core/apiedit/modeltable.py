"""A plugin's models by id: its curated table plus every model a list has shown since.

Hooks that get only a model id (`supports_conversation`) ask the table, so they agree with
what `list_models` last returned, live-only models included.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from .modelcache import cached_models, merge_models
from .types import Capability, ModelInfo

if TYPE_CHECKING:
    from .settings import ProviderSettings

__all__ = ["ModelTable"]

Merge = Callable[[Iterable[ModelInfo], Iterable[ModelInfo]], list[ModelInfo]]


class ModelTable:
    """Curated models merged with the cached or live list; `merge` is the plugin's own rule."""

    def __init__(self, curated: Iterable[ModelInfo], *, merge: Merge = merge_models) -> None:
        self.curated = tuple(curated)
        self._merge = merge
        self._seen = {m.id: m for m in self.curated}

    def list_models(self, settings: ProviderSettings, *, refresh: bool,
                    fetch: Callable[[], list[ModelInfo]]) -> list[ModelInfo]:
        """The cached list (live when `refresh`) merged with the curated one, and remembered."""
        live = cached_models(settings, refresh=refresh, fetch=fetch, curated=[])
        models = self._merge(self.curated, live)
        self.remember(models)
        return models

    def find_model(self, model_id: str, settings: ProviderSettings) -> ModelInfo | None:
        """The model as the list shows it without going online, or None when it is not listed."""
        offline = self.list_models(settings, refresh=False, fetch=list)  # never called offline
        return next((m for m in offline if m.id == model_id), None)

    def remember(self, models: Iterable[ModelInfo]) -> None:
        for model in models:
            self._seen[model.id] = model

    def supports(self, model_id: str, capability: Capability) -> bool:
        """What the last list showing `model_id` said; False for a model never listed."""
        known = self._seen.get(model_id)
        return known is not None and known.supports(capability)
