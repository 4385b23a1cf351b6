"""Providers declared in providers.toml, over real HTTP against the built-in emulators.

A relay per protocol generates (openai-images -> the OpenAI emulator, openai-chat -> the
OpenRouter emulator, gemini -> the Gemini emulator); bad entries are reported like failed
plugins while the others load; keys resolve as for a plugin and never leak.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from apiedit import keys
from apiedit.errors import ApiEditError, UntrustedBaseURLError
from apiedit.host import Host
from apiedit.testing.emulator import Emulator
from apiedit.types import Capability, EditRequest

EMULATOR_FOR = {"openai-images": "openai", "openai-chat": "openrouter", "gemini": "gemini"}


def emulator_class(provider: str) -> type[Emulator]:
    (point,) = [p for p in entry_points(group="apiedit.emulators") if p.name == provider]
    return point.load()


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def relay_toml(protocol: str, base_url: str, models: str) -> str:
    extra = 'extra_body = {modalities = ["image", "text"]}\n' if protocol == "openai-chat" else ""
    return (f'[providers.relay]\nprotocol = "{protocol}"\nlabel = "My relay"\n'
            f'base_url = "{base_url}"\nkey_env = "MYRELAY_API_KEY"\nmodels = {models}\n{extra}')


@pytest.mark.parametrize("protocol", list(EMULATOR_FOR))
def test_a_relay_per_protocol_generates_against_its_emulator(
    protocol: str, emulator_factory, apiedit_home, sentinel_key, monkeypatch, caplog, tmp_path
) -> None:
    builtin = EMULATOR_FOR[protocol]
    emulator = emulator_factory(emulator_class(builtin))
    real = Host(env={"APIEDIT_LOAD_PLUGINS": builtin})
    model = next(m.id for m in real.list_models(builtin, base_url=emulator.base_url,
                                                  api_key=sentinel_key) if not m.retired)
    path = write(tmp_path / "providers.toml", relay_toml(protocol, emulator.base_url, f'["{model}"]'))
    monkeypatch.setenv("MYRELAY_API_KEY", sentinel_key)
    host = Host(env={"APIEDIT_PROVIDERS_FILE": str(path)})
    caplog.set_level(logging.DEBUG)

    (record,) = [r for r in host.records() if r.name == "relay"]
    assert (record.status, record.distribution) == ("ok", str(path))
    assert host.get_provider("relay").label == "My relay"
    (listed,) = host.list_models("relay")
    assert listed.id == model and not listed.verified  # the user's word, not a table's
    assert host.supports_conversation("relay", model) is listed.supports(Capability.CONVERSATION)
    assert host.supports_conversation("relay", model) is (protocol != "openai-images")
    result = host.edit("relay", EditRequest(model=model, prompt="a red fox"))

    assert result.provider == "relay" and result.images and result.images[0].data
    assert result.info["protocol"] == protocol
    posts = emulator.requests_to(r"/.*", method="POST")
    assert posts, "the relay's declared base URL received the paid call"
    assert sentinel_key not in caplog.text
    assert sentinel_key not in json.dumps(result.info, default=str)


def test_models_fetch_uses_the_relays_list(emulator_factory, apiedit_home, sentinel_key,
                                           monkeypatch, tmp_path) -> None:
    emulator = emulator_factory(emulator_class("openai"))
    path = write(tmp_path / "p.toml", relay_toml("openai-images", emulator.base_url, '"fetch"'))
    monkeypatch.setenv("MYRELAY_API_KEY", sentinel_key)
    host = Host(env={"APIEDIT_PROVIDERS_FILE": str(path), "APIEDIT_LOAD_PLUGINS": "relay"})
    ids = [m.id for m in host.list_models("relay", refresh=True)]
    assert "gpt-image-2" in ids
    assert emulator.requests_to(r"/models", method="GET")


BAD = """
[providers.good]
protocol = "openai-chat"
label = "Good"
base_url = "https://good.example/v1"
key_env = "GOOD_KEY"
models = ["m1"]

[providers.soap]
protocol = "soap"
label = "x"
base_url = "https://x.example/v1"
key_env = "X"
models = ["m"]

[providers.nourl]
protocol = "openai-chat"
label = "x"
key_env = "X"
models = ["m"]

[providers.badurl]
protocol = "openai-chat"
label = "x"
base_url = "ftp://x.example"
key_env = "X"
models = ["m"]

[providers.badtype]
protocol = "openai-chat"
label = "x"
base_url = "https://x.example/v1"
key_env = "X"
models = [{id = "m", max_input_images = "many"}]

[providers.openrouter]
protocol = "openai-chat"
label = "clash"
base_url = "https://x.example/v1"
key_env = "X"
models = ["m"]
"""


def test_bad_entries_fail_alone_and_are_reported(apiedit_home, tmp_path) -> None:
    path = write(tmp_path / "providers.toml", BAD)
    host = Host(env={"APIEDIT_PROVIDERS_FILE": str(path)})
    records = {r.name: r for r in host.records()}
    assert records["good"].status == "ok"
    assert "unknown protocol 'soap'" in records["soap"].error
    assert "missing field(s) base_url" in records["nourl"].error
    assert "base_url must be an http" in records["badurl"].error
    assert "wrong type" in records["badtype"].error
    clash = records["openrouter (providers.toml)"]
    assert clash.status == "failed" and "already an installed plugin" in clash.error
    assert records["openrouter"].status == "ok"  # the real plugin is untouched
    assert host.get_provider("openrouter").label == "OpenRouter"
    assert {r.name for r in host.failures()} == {"soap", "nourl", "badurl", "badtype",
                                                 "openrouter (providers.toml)"}


def test_invalid_toml_is_one_failed_entry(apiedit_home, tmp_path) -> None:
    path = write(tmp_path / "providers.toml", "[providers.x\nprotocol = ")
    host = Host(env={"APIEDIT_PROVIDERS_FILE": str(path)})
    (failed,) = host.failures()
    assert failed.name == "providers.toml" and "not valid TOML" in failed.error
    assert "openai" in host.providers()


def test_the_file_in_the_config_dir_is_read_by_default(apiedit_home) -> None:
    config = apiedit_home / "config"
    config.mkdir()
    write(config / "providers.toml", relay_toml("openai-chat", "https://r.example/v1", '["m"]'))
    assert "relay" in Host(env={}).providers()


def test_keys_resolve_like_a_plugin_and_stay_in_scope(
    emulator_factory, apiedit_home, sentinel_key, monkeypatch, tmp_path
) -> None:
    emulator = emulator_factory(emulator_class("openrouter"))
    other = emulator_factory(emulator_class("openrouter"))
    path = write(tmp_path / "p.toml", relay_toml("openai-chat", emulator.base_url,
                                                 '["google/gemini-3-pro-image-preview"]'))
    monkeypatch.delenv("MYRELAY_API_KEY", raising=False)
    keys.store_key("relay", sentinel_key)  # what `apiedit keys set relay` does
    host = Host(env={"APIEDIT_PROVIDERS_FILE": str(path), "APIEDIT_LOAD_PLUGINS": "relay"})
    settings = host.settings("relay")
    assert settings.api_key == sentinel_key and settings.base_url == emulator.base_url
    # A base URL from a workflow that the user never trusted receives nothing.
    with pytest.raises(UntrustedBaseURLError) as caught:
        host.edit("relay", EditRequest(model="google/gemini-3-pro-image-preview", prompt="x"),
                  base_url=other.base_url, trust_base_url=False)
    assert not other.requests
    assert sentinel_key not in str(caught.value)


def test_no_key_is_a_typed_error_naming_the_env_var(apiedit_home, monkeypatch, tmp_path) -> None:
    path = write(tmp_path / "p.toml", relay_toml("openai-chat", "https://r.example/v1", '["m"]'))
    monkeypatch.delenv("MYRELAY_API_KEY", raising=False)
    host = Host(env={"APIEDIT_PROVIDERS_FILE": str(path), "APIEDIT_LOAD_PLUGINS": "relay"})
    with pytest.raises(ApiEditError) as caught:
        host.edit("relay", EditRequest(model="m", prompt="x"))
    assert "MYRELAY_API_KEY" in str(caught.value)


def test_gemini_protocol_without_apiedit_gemini_says_what_to_install(apiedit_home, tmp_path) -> None:
    path = write(tmp_path / "p.toml", relay_toml("gemini", "https://g.example", '["m"]'))
    code = ("import sys; sys.modules['apiedit_gemini'] = None\n"
            "from apiedit.host import Host\n"
            f"h = Host(env={{'APIEDIT_PROVIDERS_FILE': {str(path)!r}, 'APIEDIT_LOAD_PLUGINS': 'relay'}})\n"
            "print([r.error for r in h.failures()])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "needs the apiedit-gemini package" in out.stdout


def test_apiedit_plugins_lists_the_file_as_distribution(apiedit_home, tmp_path) -> None:
    path = write(tmp_path / "p.toml", relay_toml("openai-chat", "https://r.example/v1", '["m"]'))
    env = {**__import__("os").environ, "APIEDIT_PROVIDERS_FILE": str(path)}
    out = subprocess.run([sys.executable, "-m", "apiedit", "plugins"], capture_output=True,
                         text=True, env=env)
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("relay"))
    assert "ok" in line and str(path) in line


def test_a_chat_relay_holds_a_conversation(emulator_factory, apiedit_home, sentinel_key,
                                           monkeypatch, tmp_path) -> None:
    """Turn 2 through an openai-chat relay resends turn 1 and attaches its output image."""
    from apiedit.conversation import Conversation, ConversationStore

    emulator = emulator_factory(emulator_class("openrouter"))
    model = next(m.id for m in Host(env={"APIEDIT_LOAD_PLUGINS": "openrouter"}).list_models(
        "openrouter", base_url=emulator.base_url, api_key=sentinel_key) if not m.retired)
    path = write(tmp_path / "p.toml", relay_toml("openai-chat", emulator.base_url, f'["{model}"]'))
    monkeypatch.setenv("MYRELAY_API_KEY", sentinel_key)
    host = Host(env={"APIEDIT_PROVIDERS_FILE": str(path), "APIEDIT_LOAD_PLUGINS": "relay"})
    store = ConversationStore(tmp_path / "conversations.sqlite3")
    chat = Conversation.open("relay-chat", store=store, host=host)
    first = chat.send("relay", prompt="a red fox", model=model)
    second = chat.send("relay", prompt="now in snow", model=model)
    store.close()
    assert [first.info["turn"], second.info["turn"]] == [1, 2]
    posts = [r.json() for r in emulator.requests_to(r"/chat/completions", method="POST")]
    assert len(posts) == 2
    texts = json.dumps(posts[1]["messages"])
    assert "a red fox" in texts and "now in snow" in texts
    last = posts[1]["messages"][-1]["content"]
    assert any(part.get("type") == "image_url" for part in last), "turn 1's image is attached"
