"""The drift guard: a curated default past its shutdown date fails CI, for every provider.

Run before each release (and in CI, daily if possible): it needs no network, only the tables.
When it fails, refresh the table from the provider's lifecycle page (the entry names its source)
and check with `apiedit models PROVIDER --refresh --json > live.json` and
`apiedit models-diff PROVIDER live.json`.
"""

from __future__ import annotations

import datetime as dt

import pytest

from apiedit.host import Host
from apiedit.modelpolicy import WARN_DAYS, days_to_shutdown, is_deprecated, is_shut_down

PROVIDERS = ("gemini", "openai", "openrouter", "modelscope", "pixelwords")


@pytest.fixture
def host(apiedit_home) -> Host:  # an empty cache: the built-in tables alone
    return Host(env={"APIEDIT_LOAD_PLUGINS": ",".join(PROVIDERS)})


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_default_model_is_current_and_not_about_to_shut_down(host: Host, provider: str) -> None:
    default = host.default_model(provider)
    assert default is not None, f"{provider} has no default model"
    assert not is_shut_down(default), f"{provider} default {default.id} shut down {default.shutdown_on}"
    assert not is_deprecated(default), f"{provider} default {default.id} is deprecated"
    left = days_to_shutdown(default)
    assert left is None or left > WARN_DAYS, f"{provider} default {default.id} shuts down in {left} days"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_every_replacement_named_is_a_current_table_model(host: Host, provider: str) -> None:
    models = {m.id: m for m in host.list_models(provider)}
    for model in models.values():
        if model.replacement:
            target = models.get(model.replacement)
            assert target is not None, f"{model.id} names unknown replacement {model.replacement}"
            assert not is_shut_down(target), f"{model.id}'s replacement {target.id} is shut down"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_default_rule_survives_the_next_announced_shutdown(host: Host, provider: str) -> None:
    """On the day after every shutdown the tables announce, the default is still current."""
    from apiedit.modelpolicy import choose_default

    models = host.list_models(provider)
    days = sorted({dt.date.fromisoformat(m.shutdown_on[:10]) for m in models if m.shutdown_on})
    for day in days:
        after = day + dt.timedelta(days=1)
        default = choose_default(models, after)
        assert default is not None and not is_shut_down(default, after), (provider, str(after))
