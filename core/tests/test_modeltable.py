"""A plugin's model table: the live list is the truth, curated entries and families are metadata."""

from __future__ import annotations

from pathlib import Path

import attrs
from apiedit.modeltable import Family, ModelTable
from apiedit.settings import ProviderSettings
from apiedit.types import Capability, ModelInfo

C = Capability
CURATED = [ModelInfo("known", capabilities=C.EDIT, max_input_images=3)]
BANANA = Family("banana", r"^banana-\d", ModelInfo("template", capabilities=C.GENERATE | C.EDIT,
                                                   max_input_images=14, aspect_ratios=("4:1",)),
                recommended=True)


def settings(tmp_path: Path) -> ProviderSettings:
    return ProviderSettings(provider="p", label="P", base_url="https://api.example.invalid",
                            cache_dir=tmp_path / "cache")


def test_live_models_follow_the_curated_ones_whose_limits_win(tmp_path: Path) -> None:
    live = [ModelInfo("known", max_input_images=99), ModelInfo("new")]
    models = ModelTable(CURATED).list_models(settings(tmp_path), refresh=True, fetch=lambda: live)
    assert [m.id for m in models] == ["known", "new"]
    assert models[0].max_input_images == 3 and models[0].available is True


def test_a_curated_model_the_live_list_lacks_is_unavailable_not_current(tmp_path: Path) -> None:
    models = ModelTable(CURATED).list_models(settings(tmp_path), refresh=True,
                                             fetch=lambda: [ModelInfo("other")])
    assert {m.id: m.available for m in models} == {"known": False, "other": True}


def test_before_any_live_list_the_table_answers_with_availability_unknown(tmp_path: Path) -> None:
    models = ModelTable(CURATED).list_models(settings(tmp_path), refresh=False, fetch=list)
    assert [(m.id, m.available) for m in models] == [("known", None)]


def test_a_new_family_member_inherits_the_family_limits(tmp_path: Path) -> None:
    table = ModelTable(CURATED, families=[BANANA])
    live = [ModelInfo("banana-9.9", label="Banana 9.9")]
    models = table.list_models(settings(tmp_path), refresh=True, fetch=lambda: live)
    new = next(m for m in models if m.id == "banana-9.9")
    assert (new.max_input_images, new.aspect_ratios, new.verified) == (14, ("4:1",), True)
    assert new.label == "Banana 9.9" and new.extra["family"] == "banana"
    assert table.describe("banana-10").max_input_images == 14  # even before any list shows it


def test_a_live_model_nothing_describes_is_listed_as_unverified(tmp_path: Path) -> None:
    table = ModelTable(CURATED, families=[BANANA])
    live = [attrs.evolve(ModelInfo("mystery"), verified=False)]
    models = table.list_models(settings(tmp_path), refresh=True, fetch=lambda: live)
    assert [(m.id, m.verified, m.available) for m in models][-1] == ("mystery", False, True)
    assert table.describe("mystery") is None


def test_a_shutdown_date_from_the_live_list_retires_the_curated_entry(tmp_path: Path) -> None:
    live = [ModelInfo("known", shutdown_on="2020-01-01", replacement="newer")]
    models = ModelTable(CURATED).list_models(settings(tmp_path), refresh=True, fetch=lambda: live)
    assert models[0].retired and models[0].replacement == "newer"


def test_the_plugins_merge_rule_is_used(tmp_path: Path) -> None:
    def label_all(curated, live):
        return [attrs.evolve(m, label="merged") for m in [*curated, *live]]

    table = ModelTable(CURATED, merge=label_all)
    models = table.list_models(settings(tmp_path), refresh=True, fetch=lambda: [ModelInfo("new")])
    assert [(m.id, m.label) for m in models] == [("known", "merged"), ("new", "merged")]


def test_find_model_reads_the_cached_list_without_fetching(tmp_path: Path) -> None:
    table = ModelTable(CURATED)
    table.list_models(settings(tmp_path), refresh=True, fetch=lambda: [ModelInfo("new")])
    assert table.find_model("new", settings(tmp_path)) == ModelInfo("new", available=True)
    assert table.find_model("missing", settings(tmp_path)) is None


def test_supports_knows_curated_models_before_any_list() -> None:
    table = ModelTable(CURATED, families=[BANANA])
    assert table.supports("known", C.EDIT)
    assert not table.supports("known", C.CONVERSATION)
    assert not table.supports("never-listed", C.EDIT)
    assert table.supports("banana-3", C.EDIT)


def test_supports_follows_the_last_list_that_showed_the_model(tmp_path: Path) -> None:
    table = ModelTable(CURATED)
    chatty = ModelInfo("chatty", capabilities=C.EDIT | C.CONVERSATION)
    table.list_models(settings(tmp_path), refresh=True, fetch=lambda: [chatty])
    assert table.supports("chatty", C.CONVERSATION)
