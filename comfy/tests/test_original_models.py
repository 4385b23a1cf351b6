"""The original pack's model ids map to models that the installed plugins' tables call current."""

from __future__ import annotations

import pytest

from apiedit_comfy import catalog
from apiedit_comfy.original_models import ORIGINAL_MODELS, current_model


def table(provider: str) -> dict[str, object]:
    return {m.id: m for m in catalog.models(provider)}


@pytest.mark.parametrize(("provider", "original"), sorted(ORIGINAL_MODELS))
def test_each_original_id_runs_a_current_model(provider: str, original: str) -> None:
    mapped = current_model(provider, original)
    info = table(provider).get(mapped)
    assert info is not None, f"{provider}: {original!r} -> {mapped!r}, which the table does not know"
    assert not info.retired, f"{provider}: {original!r} -> {mapped!r}, which is retired"  # type: ignore[attr-defined]


def test_retired_ids_follow_the_tables_replacement_and_current_ids_stay() -> None:
    assert current_model("openai", "dall-e-3") == "gpt-image-1.5"
    assert current_model("gemini", "gemini-2.5-flash-image-preview") == "gemini-nano-banana-2.1"
    # a retired id the map does not list still runs its replacement (the plugin's table says which)
    assert current_model("gemini", "gemini-3-pro-image-preview") == "gemini-3-pro-image"
    for provider, model in (("modelscope", "Qwen/Qwen-Image"), ("openai", "gpt-image-1.5"),
                            ("pixelwords", "flux-kontext-max"), ("openai", "my-own-model")):
        assert current_model(provider, model) == model
