"""The plugin author's switches: APIEDIT_TRACE_PLUGINS logs each hook call with its duration,
APIEDIT_STRICT_PLUGINS re-raises a plugin bug inside a hook."""

from __future__ import annotations

import logging
import pytest

import apiedit
import apiedit.errors
from apiedit.errors import ProviderError
from apiedit.host import Host
from apiedit.types import EditRequest


class TinyPlugin:
    """Generates nothing useful; `list_models` is the hook the tests watch."""

    @apiedit.hookimpl
    def provider_info(self) -> apiedit.ProviderInfo:
        return apiedit.ProviderInfo(id="tiny", label="Tiny", key_env_vars=("TINY_KEY",),
                                    default_base_url="https://tiny.invalid/v1")

    @apiedit.hookimpl
    def list_models(self) -> list[apiedit.ModelInfo]:
        return [apiedit.ModelInfo(id="m1", label="M1", capabilities=apiedit.Capability.GENERATE)]

    @apiedit.hookimpl
    def edit(self, request, settings):
        return {}["oops"]  # a plugin bug: KeyError


def test_trace_logs_each_hook_call_with_its_duration(caplog: pytest.LogCaptureFixture, apiedit_home) -> None:
    host = Host(load_entry_points=False, env={"APIEDIT_TRACE_PLUGINS": "1"})
    host.register(TinyPlugin(), "tiny")
    with caplog.at_level(logging.INFO, logger="apiedit.host"):
        host.list_models("tiny", api_key="sk-SENTINEL-trace1")
        with pytest.raises(ProviderError):
            host.edit("tiny", EditRequest(model="m1", prompt="a fox"), api_key="sk-SENTINEL-trace1")
    lines = [r.getMessage() for r in caplog.records if r.name == "apiedit.host"]
    assert any(l.startswith("hook tiny.list_models ok in ") and l.endswith(" ms") for l in lines), lines
    assert any(l.startswith("hook tiny.edit raised KeyError in ") for l in lines), lines
    assert not any("SENTINEL" in l for l in caplog.messages)


def test_without_trace_no_hook_call_is_logged(caplog: pytest.LogCaptureFixture, apiedit_home) -> None:
    host = Host(load_entry_points=False, env={})
    host.register(TinyPlugin(), "tiny")
    with caplog.at_level(logging.INFO, logger="apiedit.host"):
        host.list_models("tiny", api_key="sk-SENTINEL-trace2")
    assert not [m for m in caplog.messages if m.startswith("hook ")]


def test_strict_mode_reraises_a_bug_inside_a_hook(apiedit_home) -> None:
    host = Host(load_entry_points=False, env={"APIEDIT_STRICT_PLUGINS": "1"})
    host.register(TinyPlugin(), "tiny")
    with pytest.raises(KeyError, match="oops"):
        host.edit("tiny", EditRequest(model="m1", prompt="a fox"), api_key="sk-SENTINEL-strict")


def test_without_strict_a_hook_bug_is_a_provider_error_naming_the_plugin(apiedit_home) -> None:
    host = Host(load_entry_points=False, env={})
    host.register(TinyPlugin(), "tiny")
    with pytest.raises(ProviderError, match="tiny plugin failed in edit: KeyError"):
        host.edit("tiny", EditRequest(model="m1", prompt="a fox"), api_key="sk-SENTINEL-strict")


def _named(provider: str, base_url: str = "https://x.invalid/v1") -> object:
    class Named(TinyPlugin):
        @apiedit.hookimpl
        def provider_info(self) -> apiedit.ProviderInfo:
            return apiedit.ProviderInfo(id=provider, label=provider.title(),
                                        key_env_vars=(f"{provider.upper()}_KEY",),
                                        default_base_url=base_url)
    return Named()


def test_the_default_provider_is_a_built_in_not_the_first_by_name() -> None:
    host = Host(load_entry_points=False, env={})
    for provider in ("aaa-reseller", "openai", "modelscope"):
        host.register(_named(provider), provider)
    assert list(host.providers())[0] == "aaa-reseller"
    assert host.default_provider() == "modelscope"
    alone = Host(load_entry_points=False, env={})
    alone.register(_named("zzz"), "zzz")
    assert alone.default_provider() == "zzz"
    assert Host(load_entry_points=False, env={}).default_provider() is None


def test_a_provider_without_base_url_still_lists_its_models_offline(apiedit_home, monkeypatch) -> None:
    monkeypatch.delenv("APIEDIT_RELAY_BASE_URL", raising=False)
    host = Host(load_entry_points=False, env={})
    host.register(_named("relay", base_url=""), "relay")
    assert [m.id for m in host.list_models("relay")] == ["m1"]
    with pytest.raises(apiedit.errors.ConfigurationError, match="no base URL"):
        host.list_models("relay", refresh=True)


def test_apiedit_testing_imports_without_pytest() -> None:
    """Emulators and `sample_png` serve demos and plugin authors' scripts, where pytest is absent."""
    import subprocess
    import sys

    code = (
        "import builtins\n"
        "real = builtins.__import__\n"
        "def guard(name, *a, **k):\n"
        "    if name.split('.')[0] in ('pytest', '_pytest'): raise ImportError('no pytest here')\n"
        "    return real(name, *a, **k)\n"
        "builtins.__import__ = guard\n"
        "import apiedit.testing.emulator, apiedit.testing.storybook, apiedit.testing.chat_emulator\n"
        "import apiedit.testing.conformance as c\n"
        "assert c.sample_png().startswith(b'\\x89PNG')\n"
        "try:\n"
        "    c.ProviderConformance\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "pip install pytest" in done.stdout
