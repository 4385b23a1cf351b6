"""A plugin's model table: curated models, the listed ones merged in, and answers by id."""

from __future__ import annotations

from pathlib import Path

import attrs
from apiedit.modeltable import ModelTable
from apiedit.settings import ProviderSettings
from apiedit.types import Capability, ModelInfo

C = Capability
CURATED = [ModelInfo("known", capabilities=C.EDIT, max_input_images=3)]


def settings(tmp_path: Path) -> ProviderSettings:
    return ProviderSettings(provider="p", label="P", base_url="https://api.example.invalid",
                            cache_dir=tmp_path / "cache")


def test_live_models_follow_the_curated_ones(tmp_path: Path) -> None:
    live = [ModelInfo("known", max_input_images=99), ModelInfo("new")]
    models = ModelTable(CURATED).list_models(settings(tmp_path), refresh=True, fetch=lambda: live)
    assert [m.id for m in models] == ["known", "new"]
    assert models[0].max_input_images == 3


def test_the_plugins_merge_rule_is_used(tmp_path: Path) -> None:
    def label_all(curated, live):
        return [attrs.evolve(m, label="merged") for m in [*curated, *live]]

    table = ModelTable(CURATED, merge=label_all)
    models = table.list_models(settings(tmp_path), refresh=True, fetch=lambda: [ModelInfo("new")])
    assert [(m.id, m.label) for m in models] == [("known", "merged"), ("new", "merged")]


def test_find_model_reads_the_cached_list_without_fetching(tmp_path: Path) -> None:
    table = ModelTable(CURATED)
    table.list_models(settings(tmp_path), refresh=True, fetch=lambda: [ModelInfo("new")])
    assert table.find_model("new", settings(tmp_path)) == ModelInfo("new")
    assert table.find_model("missing", settings(tmp_path)) is None


def test_supports_knows_curated_models_before_any_list() -> None:
    table = ModelTable(CURATED)
    assert table.supports("known", C.EDIT)
    assert not table.supports("known", C.CONVERSATION)
    assert not table.supports("never-listed", C.EDIT)


def test_supports_follows_the_last_list_that_showed_the_model(tmp_path: Path) -> None:
    table = ModelTable(CURATED)
    chatty = ModelInfo("chatty", capabilities=C.EDIT | C.CONVERSATION)
    table.list_models(settings(tmp_path), refresh=True, fetch=lambda: [chatty])
    assert table.supports("chatty", C.CONVERSATION)
