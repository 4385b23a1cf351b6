"""The live model list: `GET /{version}/models`, paged, filtered to the image models."""

from __future__ import annotations

from typing import Any

from apiedit import ModelInfo
from apiedit.settings import ProviderSettings

from . import models

_MAX_PAGES = 20


def fetch_models(settings: ProviderSettings) -> list[ModelInfo]:
    """Every image model the key can see (free GETs, retried by core on transient failures)."""
    # imported here: answering from the stored list (the node's schema at ComfyUI start-up)
    # must not import the wire module and the HTTP stack
    from . import wire

    key = settings.require_key()
    root, version = wire.endpoint(settings.base_url)
    found: list[ModelInfo] = []
    token = ""
    for _ in range(_MAX_PAGES):
        params: dict[str, Any] = {"pageSize": 1000}
        if token:
            params["pageToken"] = token
        page = settings.http.get_json(
            f"{root}/{version}/models",
            params=params,
            headers={"x-goog-api-key": key},
            map_error=lambda r: wire.map_error(r, settings.label),
        )
        for entry in page.get("models") or []:
            if isinstance(entry, dict) and entry.get("name") and models.is_image_model(entry):
                found.append(models.live_model_info(entry))
        token = page.get("nextPageToken") or ""
        if not token:
            break
    return found
