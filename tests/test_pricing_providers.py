"""Each provider plugin's price table, read through the host (`apiedit.pricing`), and the cost
OpenRouter reports in a real answer from its emulator."""

from __future__ import annotations

import importlib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from apiedit.host import Host
from apiedit.pricing import estimate_cost, reported_cost
from apiedit.types import EditRequest
from apiedit_openrouter.emulator import OpenRouterEmulator

PROVIDERS = ("gemini", "modelscope", "openai", "openrouter", "pixelwords")

# (provider, request fields, per-image USD, batch per-image USD or None = no batch API)
KNOWN = [
    ("openai", {"model": "gpt-image-1.5", "quality": "high", "size": "1024x1024"}, "0.133", "0.0665"),
    ("openai", {"model": "gpt-image-1.5", "quality": "low", "aspect_ratio": "3:2"}, "0.013", "0.0065"),
    ("openai", {"model": "gpt-image-1-mini", "quality": "medium", "size": "1024x1536"}, "0.015", "0.0075"),
    ("openai", {"model": "gpt-image-1", "quality": "high", "size": "1536x1024"}, "0.25", "0.125"),
    ("gemini", {"model": "gemini-2.5-flash-image"}, "0.039", "0.0195"),
    ("gemini", {"model": "gemini-3-pro-image-preview", "resolution": "4K"}, "0.24", "0.12"),
    ("gemini", {"model": "models/gemini-3.1-flash-image-preview", "resolution": "4K"}, "0.151", None),
    ("modelscope", {"model": "Qwen/Qwen-Image"}, "0", None),
]

UNKNOWN = [
    ("openai", {"model": "gpt-image-2.5-flare", "quality": "high", "size": "1024x1024"}),  # token-priced
    ("openai", {"model": "gpt-image-1.5"}),  # quality auto: OpenAI chooses
    ("openai", {"model": "gpt-image-1.5", "quality": "high", "size": "auto"}),
    ("openai", {"model": "gpt-image-1.5", "quality": "high", "size": "4096x4096"}),  # refused anyway
    ("gemini", {"model": "gemini-nano-banana-2.1"}),
    ("gemini", {"model": "gemini-3-pro-image-preview", "resolution": "8K"}),
    ("gemini", {"model": "gemini-3-pro-image", "resolution": "2K"}),  # GA: no published price found
    ("gemini", {"model": "gemini-3.1-flash-image"}),
    ("openrouter", {"model": "google/gemini-2.5-flash-image"}),
    ("pixelwords", {"model": "gemini-2.5-flash-image"}),
    ("gemini", {"model": "gemini-9-ultra-image"}),
]


@pytest.fixture
def host(apiedit_home: Path, monkeypatch: pytest.MonkeyPatch) -> Host:
    for var in ("OPENROUTER_API_KEY", "APIEDIT_OPENROUTER_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    return Host(env={"APIEDIT_LOAD_PLUGINS": ",".join(PROVIDERS)})


def make(fields: dict[str, Any], **more: Any) -> EditRequest:
    return EditRequest(prompt="a lighthouse at dusk", **{**fields, **more})


def test_every_plugin_implements_the_price_hook(host: Host) -> None:
    records = {r.name: r for r in host.records()}
    assert all("price" in records[p].hooks for p in PROVIDERS)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_every_row_names_its_source_and_date(provider: str) -> None:
    rows = importlib.import_module(f"apiedit_{provider}.prices").ROWS
    for row in rows:
        for price in row.prices.values():
            assert price.source and len(price.as_of) == 10 and price.as_of.startswith("20"), row.pattern


@pytest.mark.parametrize(("provider", "fields", "per_image", "batch"), KNOWN,
                         ids=[f"{p}-{f['model']}" for p, f, *_ in KNOWN])
def test_n_images_cost_n_times_the_table_price(host: Host, provider: str, fields: dict[str, Any],
                                               per_image: str, batch: str | None) -> None:
    one = estimate_cost(provider, make(fields), host=host)
    four = estimate_cost(provider, make(fields, n=4), host=host)
    assert one.per_image == Decimal(per_image) and one.currency == "USD"
    assert four.amount == 4 * Decimal(per_image) and four.images == 4
    assert four.basis.startswith("price table (")
    batched = estimate_cost(provider, make(fields, n=4), batch=True, host=host)
    if batch is None:
        assert batched.amount is None and "no batch API" in batched.basis
    else:
        assert batched.per_image == Decimal(batch) and batched.amount == 4 * Decimal(batch)


@pytest.mark.parametrize(("provider", "fields"), UNKNOWN,
                         ids=[f"{p}-{f['model']}-{len(f)}" for p, f in UNKNOWN])
def test_models_without_a_figure_are_price_unknown(host: Host, provider: str,
                                                   fields: dict[str, Any]) -> None:
    estimate = estimate_cost(provider, make(fields, n=2), host=host)
    assert estimate.amount is None and estimate.label() == "price unknown"
    assert estimate.basis.startswith("price unknown: ")


def test_openrouter_usage_cost_is_read_from_a_real_answer(
    host: Host, emulator_factory: Any, sentinel_key: str
) -> None:
    emulator = emulator_factory(OpenRouterEmulator)
    model = "google/gemini-nano-banana-2.1"
    host.list_models("openrouter", refresh=True, api_key=sentinel_key, base_url=emulator.base_url)
    result = host.edit("openrouter", EditRequest(model=model, prompt="a fox", n=3),
                       api_key=sentinel_key, base_url=emulator.base_url)
    assert result.info["endpoint"] == "images"  # the Image API reports `usage.cost`
    reported = reported_cost(result)
    assert reported is not None and reported.amount == Decimal(str(0.039 * 3))
    assert reported.images == 3 and reported.per_image == Decimal(str(0.039 * 3)) / 3
    assert reported.basis == "reported by the provider (openrouter)"
    assert estimate_cost("openrouter", EditRequest(model=model, prompt="a fox"), host=host).amount is None
    assert sentinel_key not in repr(reported) and sentinel_key not in str(reported.to_json())
