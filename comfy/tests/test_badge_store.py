"""The price badge's table is computed once and kept for the next ComfyUI start, and computed
again whenever what it came from changes (a plugin's files, the model lists, the options)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from apiedit.host import Host
from apiedit_comfy import badge_store, price_badge

MODELS = {"openai": ["gpt-image-1.5", "dall-e-2"], "gemini": ["gemini-3-pro-image"]}
OPTIONS = {"size": ["provider default", "1024x1024", "1536x1024"]}


class Counting:
    """The real price table, counting how often it is computed."""

    def __init__(self, models: dict[str, list[str]] = MODELS) -> None:
        self.models, self.calls = models, 0

    def __call__(self) -> dict[str, object]:
        self.calls += 1
        return price_badge.price_table(self.models, OPTIONS)


@pytest.fixture
def host(apiedit_home: Path) -> Host:
    return Host()


def test_a_later_start_reads_the_stored_table_instead_of_pricing_again(host: Host) -> None:
    compute = Counting()
    first = badge_store.remembered(MODELS, [OPTIONS], compute, host)
    assert first["openai"]["gpt-image-1.5"]["p"]["1024x1024"] == [0.009, 0.133, "USD"]
    again = badge_store.remembered(MODELS, [OPTIONS], compute, Host())  # a new process's host
    assert again == first and compute.calls == 1


def test_new_models_or_options_compute_it_again(host: Host) -> None:
    compute = Counting()
    badge_store.remembered(MODELS, [OPTIONS], compute, host)
    more = {**MODELS, "openai": [*MODELS["openai"], "gpt-image-1-mini"]}
    table = badge_store.remembered(more, [OPTIONS], Counting(more), host)
    assert "gpt-image-1-mini" in table["openai"]
    badge_store.remembered(more, [{"size": ["provider default", "1024x1024"]}], compute, host)
    assert compute.calls == 2


def test_a_changed_plugin_file_computes_it_again(host: Host, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """An edited or upgraded plugin (its price table) must not show the old figures."""
    prices = tmp_path / "prices.py"
    prices.write_text("ROWS = ()\n", encoding="utf-8")
    real = host.plugin_files
    monkeypatch.setattr(host, "plugin_files", lambda p: [*real(p), str(prices)])
    compute = Counting()
    badge_store.remembered(MODELS, [OPTIONS], compute, host)
    badge_store.remembered(MODELS, [OPTIONS], compute, host)
    assert compute.calls == 1
    prices.write_text("ROWS = (1,)\n", encoding="utf-8")
    os.utime(prices, ns=(prices.stat().st_atime_ns, prices.stat().st_mtime_ns + 10**9))
    badge_store.remembered(MODELS, [OPTIONS], compute, host)
    assert compute.calls == 2


def test_new_badge_rules_compute_it_again(host: Host, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Upgrading only the node pack (its price_badge.py) must not serve the old table."""
    rules = tmp_path / "price_badge.py"
    rules.write_text("QUALITIES = ('low', 'high')\n", encoding="utf-8")
    monkeypatch.setattr(badge_store, "_PRICE_BADGE_FILE", str(rules))
    compute = Counting()
    badge_store.remembered(MODELS, [OPTIONS], compute, host)
    rules.write_text("QUALITIES = ('low', 'medium', 'high')\n", encoding="utf-8")
    badge_store.remembered(MODELS, [OPTIONS], compute, host)
    assert compute.calls == 2


def test_the_fingerprint_covers_the_real_plugins_price_tables(host: Host) -> None:
    files = host.plugin_files("openai")
    assert any(f.endswith(os.path.join("apiedit_openai", "prices.py")) for f in files)
    assert any(f.endswith(os.path.join("apiedit_openai", "sizes.py")) for f in files)
    assert os.path.samefile(badge_store._PRICE_BADGE_FILE, price_badge.__file__)


@pytest.mark.parametrize("content", ["{not json", '{"key": "other", "table": {}}', "[1, 2]"])
def test_an_unreadable_or_foreign_file_is_never_trusted(host: Host, apiedit_home: Path,
                                                        content: str) -> None:
    stored = apiedit_home / "cache" / badge_store.FILE_NAME
    stored.parent.mkdir(parents=True)
    stored.write_text(content, encoding="utf-8")
    compute = Counting()
    table = badge_store.remembered(MODELS, [OPTIONS], compute, host)
    assert compute.calls == 1 and "openai" in table
    assert json.loads(stored.read_text(encoding="utf-8"))["table"] == table


def test_a_read_only_cache_still_gives_the_table(host: Host, apiedit_home: Path) -> None:
    (apiedit_home / "cache").write_text("a file where the folder should be", encoding="utf-8")
    compute = Counting()
    assert "openai" in badge_store.remembered(MODELS, [OPTIONS], compute, host)
    assert "openai" in badge_store.remembered(MODELS, [OPTIONS], compute, host)
    assert compute.calls == 2
