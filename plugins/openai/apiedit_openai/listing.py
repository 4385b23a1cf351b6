"""The live model list: `GET /models`, filtered to image models, merged with the curated table.

`/models` has no capability field, so image models are recognised by id prefix; the curated
table's limits win for the models it knows, and `shutdown_date` retires a model once it passes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from apiedit.types import ModelInfo

from .models import TABLE, model_from_live, with_live_status

if TYPE_CHECKING:
    from apiedit.settings import ProviderSettings

__all__ = ["fetch_models", "list_models"]


def fetch_models(settings: ProviderSettings) -> list[ModelInfo]:
    """The provider's image models as it lists them now (one free GET)."""
    # imported here: answering from the stored list (the node's schema at ComfyUI start-up)
    # must not import the HTTP stack
    from apiedit.errors import ProviderError
    from apiedit.protocols.openai_images import auth_headers, error_mapper

    body = settings.http.get_json(
        "models", headers=auth_headers(settings), map_error=error_mapper(settings)
    )
    entries = body.get("data") if isinstance(body, dict) else None
    if not isinstance(entries, list):
        raise ProviderError(
            f"{settings.label} answered /models without a `data` list; check the base URL.",
            provider=settings.provider,
        )
    found = [model_from_live(e) for e in entries if isinstance(e, dict)]
    return [m for m in found if m is not None]


def list_models(refresh: bool, settings: ProviderSettings) -> list[ModelInfo]:
    """Curated models first (with the live shutdown date, unavailable when the live list lacks
    them), then live-only ones with their family's limits."""
    models = TABLE.list_models(settings, refresh=refresh, fetch=lambda: fetch_models(settings))
    return [with_live_status(m) for m in models]
