"""Model lists: cache on disk, network only on refresh, a failed refresh raises and marks stale."""

from __future__ import annotations

from pathlib import Path

import pytest

from apiedit.errors import ProviderUnavailableError
from apiedit.modelcache import cache_age, cached_models, list_status
from apiedit.settings import ProviderSettings
from apiedit.types import Capability, ModelInfo

CURATED = [ModelInfo(id="known", capabilities=Capability.GENERATE | Capability.EDIT, max_input_images=3)]


def settings(tmp_path: Path, base_url: str = "https://api.example.invalid") -> ProviderSettings:
    return ProviderSettings(provider="p", label="P", base_url=base_url, cache_dir=tmp_path / "cache")


class Fetcher:
    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = 0

    def __call__(self) -> list[ModelInfo]:
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_without_refresh_there_is_no_fetch_and_the_curated_table_answers(tmp_path: Path) -> None:
    fetch = Fetcher()
    assert cached_models(settings(tmp_path), refresh=False, fetch=fetch, curated=CURATED) == CURATED
    assert fetch.calls == 0
    assert cache_age(settings(tmp_path)) is None


def test_refresh_fetches_stores_and_merges_with_curated_first(tmp_path: Path) -> None:
    live = [ModelInfo(id="known", max_input_images=99), ModelInfo(id="new")]
    models = cached_models(settings(tmp_path), refresh=True, fetch=Fetcher(live), curated=CURATED)
    assert [m.id for m in models] == ["known", "new"]
    assert models[0].max_input_images == 3  # curated limits win
    assert cache_age(settings(tmp_path)) == pytest.approx(0, abs=5)
    again = cached_models(settings(tmp_path), refresh=False, fetch=Fetcher(), curated=CURATED)
    assert [m.id for m in again] == ["known", "new"]


def test_a_failed_refresh_raises_and_marks_the_kept_list_stale(tmp_path: Path) -> None:
    cached_models(settings(tmp_path), refresh=True, fetch=Fetcher([ModelInfo(id="old")]), curated=[])
    assert not list_status(settings(tmp_path)).stale
    failing = Fetcher(ProviderUnavailableError("down"))
    with pytest.raises(ProviderUnavailableError, match="Could not refresh the P model list: down"):
        cached_models(settings(tmp_path), refresh=True, fetch=failing, curated=CURATED)
    assert failing.calls == 1
    status = list_status(settings(tmp_path))
    assert status.stale and "down" in (status.error or "")
    # the stored list is still served, without network, and a good refresh clears the mark
    models = cached_models(settings(tmp_path), refresh=False, fetch=Fetcher(), curated=CURATED)
    assert [m.id for m in models] == ["known", "old"]
    cached_models(settings(tmp_path), refresh=True, fetch=Fetcher([ModelInfo(id="old")]), curated=[])
    assert not list_status(settings(tmp_path)).stale


def test_a_failed_first_refresh_is_never_answered_with_the_curated_table(tmp_path: Path) -> None:
    with pytest.raises(ProviderUnavailableError):
        cached_models(settings(tmp_path), refresh=True,
                      fetch=Fetcher(ProviderUnavailableError("no network")), curated=CURATED)
    assert list_status(settings(tmp_path)).stale


def test_each_base_url_has_its_own_cache(tmp_path: Path) -> None:
    cached_models(settings(tmp_path), refresh=True, fetch=Fetcher([ModelInfo(id="real")]), curated=[])
    relay = settings(tmp_path, "http://127.0.0.1:9999")
    assert cached_models(relay, refresh=False, fetch=Fetcher(), curated=[]) == []
    assert cache_age(relay) is None


def test_a_corrupt_cache_file_is_ignored(tmp_path: Path) -> None:
    s = settings(tmp_path)
    cached_models(s, refresh=True, fetch=Fetcher([ModelInfo(id="x")]), curated=[])
    for path in (tmp_path / "cache").glob("models-*.json"):
        path.write_text("{broken")
    assert cached_models(s, refresh=False, fetch=Fetcher(), curated=CURATED) == CURATED
