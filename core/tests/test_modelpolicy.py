"""Defaults by rule, lifecycle refusals and warnings, and "did you mean" suggestions."""

from __future__ import annotations

import datetime as dt

import pytest

from apiedit.errors import UnsupportedFeatureError
from apiedit.modelpolicy import choose_default, lifecycle_warning, suggestions
from apiedit.types import EditRequest, ModelInfo, ProviderInfo
from apiedit.validation import check_request

TODAY = dt.date(2026, 12, 2)
REC = {"recommended": True}
PROVIDER = ProviderInfo(id="p", label="Prov")


def test_the_default_is_the_newest_current_member_of_the_recommended_family() -> None:
    models = [
        ModelInfo("other-9", released_on="2026-11-30"),
        ModelInfo("fam-2.0", extra=REC, released_on="2026-05-28"),
        ModelInfo("fam-2.1", extra=REC, released_on="2026-10-06"),
        ModelInfo("fam-2.1-preview", extra=REC),
        ModelInfo("fam-2.1-2026-10-06", extra=REC, released_on="2026-10-06"),
    ]
    assert choose_default(models, TODAY).id == "fam-2.1"


def test_a_shut_down_deprecated_or_unavailable_model_is_never_the_default() -> None:
    models = [
        ModelInfo("fam-3", extra=REC, shutdown_on="2026-10-02"),
        ModelInfo("fam-2.9", extra=REC, deprecated_on="2026-10-06"),
        ModelInfo("fam-2.8", extra=REC, available=False),
        ModelInfo("fam-2.5", extra=REC),
    ]
    assert choose_default(models, TODAY).id == "fam-2.5"


def test_an_unconfirmed_id_is_the_default_only_once_the_live_list_offers_it() -> None:
    guess = {"recommended": True, "unconfirmed_id": True}
    models = [ModelInfo("fam-9", extra=guess), ModelInfo("safe-1")]
    assert choose_default(models, TODAY).id == "safe-1"
    models[0] = ModelInfo("fam-9", extra=guess, available=True)
    assert choose_default(models, TODAY).id == "fam-9"


def test_with_every_model_retired_there_is_no_default() -> None:
    assert choose_default([ModelInfo("a", retired=True)], TODAY) is None


def test_a_model_past_shutdown_is_refused_before_sending_with_its_replacement() -> None:
    old = ModelInfo("old", shutdown_on="2026-06-25", replacement="new")
    with pytest.raises(UnsupportedFeatureError, match=r"retired.*2026-06-25.*Use 'new' instead"):
        check_request(EditRequest(model="old", prompt="x"), old, PROVIDER)


def test_a_model_near_shutdown_gives_a_warning_naming_the_date() -> None:
    soon = ModelInfo("soon", shutdown_on=(TODAY + dt.timedelta(days=12)).isoformat(),
                     replacement="new")
    warning = lifecycle_warning(soon, "Prov", TODAY)
    assert warning and "in 12 days" in warning and "'new'" in warning
    far = ModelInfo("far", shutdown_on=(TODAY + dt.timedelta(days=90)).isoformat())
    assert lifecycle_warning(far, "Prov", TODAY) is None


def test_suggestions_find_close_ids_with_or_without_a_vendor_prefix() -> None:
    known = ["gemini-3-pro-image", "gemini-3.1-flash-image", "google/gemini-nano-banana-2.1"]
    assert suggestions("gemini-3-pro-image-preview", known)[0] == "gemini-3-pro-image"
    assert "google/gemini-nano-banana-2.1" in suggestions("gemini-nano-banana-2", known)
    assert suggestions("zzz", known) == []
