"""apiedit.pricing: estimates from a plugin's price table, the batch discount, totals, the
provider-reported cost, and that estimating does no network I/O and needs no key."""

from __future__ import annotations

import socket
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import apiedit
from apiedit.host import Host
from apiedit.pricing import CostEstimate, Price, PriceRow, estimate_cost, lookup, reported_cost, total
from apiedit.types import EditRequest, EditResult, ImageData, ProviderInfo

FOUR_CENTS = Price(Decimal("0.04"), source="example.test/pricing#images", as_of="2026-12-01",
                   batch_discount=0.5)
ROWS = (
    PriceRow(r"^tiny-image-1$", {"": FOUR_CENTS}),
    PriceRow(r"^tiered-image", {"1K": FOUR_CENTS, "4K": Price(Decimal("0.24"))}),
    PriceRow(r"^live-only-image", {"": Price(Decimal("0.10"))}),  # no batch API
)


class TablePlugin:
    """A provider whose price table is ROWS and whose network always fails."""

    def __init__(self) -> None:
        self.settings_seen: list[Any] = []
        self.network_calls = 0

    @apiedit.hookimpl
    def provider_info(self) -> ProviderInfo:
        return ProviderInfo(id="tabled", label="Tabled", key_env_vars=("TABLED_API_KEY",),
                            default_base_url="http://127.0.0.1:9/v1")

    @apiedit.hookimpl
    def list_models(self, refresh: bool, settings: Any) -> list[Any]:
        self.network_calls += 1
        raise AssertionError("estimating a price must not list models")

    @apiedit.hookimpl
    def edit(self, request: EditRequest, settings: Any) -> EditResult:
        self.network_calls += 1
        raise AssertionError("estimating a price must not call the provider")

    @apiedit.hookimpl
    def price(self, model: str, request: EditRequest, settings: Any) -> Price | None:
        self.settings_seen.append(settings)
        return lookup(ROWS, model, request.resolution or "1K")


class NoPricePlugin:
    """A 0.2-era plugin: no price hook at all."""

    @apiedit.hookimpl
    def provider_info(self) -> ProviderInfo:
        return ProviderInfo(id="old", label="Old")

    @apiedit.hookimpl
    def edit(self, request: EditRequest, settings: Any) -> EditResult:
        raise AssertionError("not called")


class BuggyPricePlugin(NoPricePlugin):
    @apiedit.hookimpl
    def provider_info(self) -> ProviderInfo:
        return ProviderInfo(id="buggy", label="Buggy")

    @apiedit.hookimpl
    def price(self, model: str) -> Price | None:
        raise KeyError(model)


@pytest.fixture
def plugin() -> TablePlugin:
    return TablePlugin()


@pytest.fixture
def host(apiedit_home: Path, plugin: TablePlugin) -> Host:
    host = Host(load_entry_points=False, env={})
    host.register(plugin, "tabled")
    host.register(NoPricePlugin(), "old")
    host.register(BuggyPricePlugin(), "buggy")
    return host


def request(model: str = "tiny-image-1", **fields: Any) -> EditRequest:
    return EditRequest(model=model, prompt="a red fox in snow", **fields)


def test_n_images_cost_n_times_the_per_image_price(host: Host) -> None:
    estimate = estimate_cost("tabled", request(n=4), host=host)
    assert (estimate.amount, estimate.per_image, estimate.images) == (Decimal("0.16"), Decimal("0.04"), 4)
    assert estimate.currency == "USD" and estimate.known and not estimate.batch
    assert estimate.label() == "≈ $0.16 (4 × $0.04)"
    assert estimate.basis == "price table (example.test/pricing#images, 2026-12-01)"
    assert estimate.to_json() == {"estimated_cost": 0.16, "currency": "USD",
                                  "cost_basis": estimate.basis}
    assert estimate_cost("tabled", request(), host=host).label() == "≈ $0.04"


def test_an_unknown_model_is_price_unknown_never_a_guess(host: Host) -> None:
    estimate = estimate_cost("tabled", request("brand-new-model-9"), host=host)
    assert estimate.amount is None and estimate.per_image is None and estimate.currency == ""
    assert estimate.label() == "price unknown"
    assert "no price for tabled model 'brand-new-model-9'" in estimate.basis
    assert estimate.to_json()["estimated_cost"] is None


def test_the_price_depends_on_the_tier_the_plugin_reads_from_the_request(host: Host) -> None:
    assert estimate_cost("tabled", request("tiered-image-2", resolution="4K"), host=host).amount == Decimal("0.24")
    assert estimate_cost("tabled", request("tiered-image-2"), host=host).amount == Decimal("0.04")
    unknown = estimate_cost("tabled", request("tiered-image-2", resolution="2K"), host=host)
    assert unknown.amount is None and "at this size/quality" in unknown.basis


def test_batch_is_half_price_and_unknown_without_a_batch_api(host: Host) -> None:
    batch = estimate_cost("tabled", request(n=4), batch=True, host=host)
    assert (batch.amount, batch.per_image, batch.batch) == (Decimal("0.08"), Decimal("0.02"), True)
    assert "batch API 50% off" in batch.basis
    live_only = estimate_cost("tabled", request("live-only-image"), batch=True, host=host)
    assert live_only.amount is None and "has no batch API" in live_only.basis
    assert estimate_cost("tabled", request("live-only-image"), host=host).amount == Decimal("0.10")


def test_no_hook_unknown_provider_and_plugin_bug_are_price_unknown_not_errors(host: Host) -> None:
    assert host.price("old", request()) is None
    assert estimate_cost("old", request(), host=host).label() == "price unknown"
    missing = estimate_cost("nosuch", request(), host=host)
    assert missing.amount is None and "Unknown provider 'nosuch'" in missing.basis
    buggy = estimate_cost("buggy", request(), host=host)
    assert buggy.amount is None and "buggy plugin failed in price" in buggy.basis


def test_estimating_does_no_network_io_and_hands_the_plugin_no_key(
    host: Host, plugin: TablePlugin, monkeypatch: pytest.MonkeyPatch, sentinel_key: str
) -> None:
    monkeypatch.setenv("TABLED_API_KEY", sentinel_key)
    attempts: list[Any] = []

    def refuse(self: socket.socket, address: Any) -> None:
        attempts.append(address)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    estimate = estimate_cost("tabled", request(n=2), host=host)
    assert estimate.amount == Decimal("0.08")
    assert attempts == [] and plugin.network_calls == 0
    (settings,) = plugin.settings_seen
    assert settings.api_key is None  # so no paid call is possible from the price hook
    assert sentinel_key not in repr(estimate)


def test_total_is_unknown_if_any_part_is_and_says_how_many(host: Host) -> None:
    known = [estimate_cost("tabled", request(n=2), host=host), estimate_cost("tabled", request(), host=host)]
    summed = total(known)
    assert (summed.amount, summed.images, summed.currency) == (Decimal("0.12"), 3, "USD")
    assert summed.label() == "≈ $0.12"
    unknown = estimate_cost("tabled", request("nope"), host=host)
    mixed = total([*known, unknown, unknown])
    assert mixed.amount is None and mixed.basis == "price unknown: 2 of 4 requests have no price"
    assert total([]).amount == Decimal(0)
    other_unit = CostEstimate(Decimal(1), "points", Decimal(1), 1, False, "x")
    assert total([known[0], other_unit]).amount is None


def test_reported_cost_reads_usage_cost_and_is_none_without_one() -> None:
    image = ImageData(b"\x89PNG\r\n\x1a\n")
    result = EditResult(images=(image, image), provider="p", model="m", usage={"cost": 0.078})
    reported = reported_cost(result)
    assert reported is not None and reported.amount == Decimal("0.078")
    assert reported.per_image == Decimal("0.039") and reported.images == 2
    assert reported.basis.startswith("reported by the provider")
    assert reported_cost(EditResult(images=(image,), provider="p", model="m")) is None
    for bad in ("n/a", None, True, -1, float("nan")):
        assert reported_cost(EditResult(images=(image,), provider="p", model="m", usage={"cost": bad})) is None


def test_the_public_names_are_exported_lazily() -> None:
    import subprocess
    import sys

    code = ("import sys, apiedit; assert 'apiedit.pricing' not in sys.modules; "
            "assert apiedit.estimate_cost.__module__ == 'apiedit.pricing'; "
            "assert apiedit.Price and apiedit.CostEstimate and apiedit.reported_cost")
    subprocess.run([sys.executable, "-c", code], check=True)
