"""Three-turn conversations through `apiedit.Conversation`, per provider, over real HTTP.

Each emulator reports what turn 3 received: the full history (native providers) or turn 2's
output image (last-image providers). The store is closed and reopened before turn 3, as a
restart would.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import requests

from apiedit.conversation import Conversation, ConversationStore
from apiedit.host import Host
from apiedit.images import parse_data_url


def three_turns(
    provider: str, model: str, emulator: Any, tmp_path: Path, key: str, first_images: tuple = ()
) -> list[Any]:
    """Turns 1-2, close the store (restart), then turn 3; returns the three results."""
    host = Host(env={"APIEDIT_LOAD_PLUGINS": provider})
    options = dict(model=model, api_key=key, base_url=emulator.base_url)
    store = ConversationStore(tmp_path / "conversations.sqlite3")
    chat = Conversation.open("portrait", store=store, host=host)
    results = [
        chat.send(provider, prompt="make her smile", images=first_images, **options),
        chat.send(provider, prompt="add a flower in her hair", **options),
    ]
    store.close()
    reopened = ConversationStore(tmp_path / "conversations.sqlite3")
    chat = Conversation.open("portrait", store=reopened, host=host)
    results.append(chat.send(provider, prompt="change the background to a beach", **options))
    assert [r.info["turn"] for r in results] == [1, 2, 3]
    reopened.close()
    return results


def test_openai_turn_three_receives_turn_two_output(emulator_factory, apiedit_home, sentinel_key, tmp_path) -> None:
    from apiedit_openai.emulator import OpenAIEmulator

    emulator = emulator_factory(OpenAIEmulator)
    results = three_turns("openai", "gpt-image-1.5", emulator, tmp_path, sentinel_key)
    first, second, third = emulator.calls
    assert first.endpoint == "generations"
    assert second.images == [first.outputs[0]]
    assert third.images == [second.outputs[0]]
    assert results[2].info["conversation"] == "last_image"
    assert results[2].images[0].data == third.outputs[0]


def test_modelscope_turn_three_receives_turn_two_output(emulator_factory, apiedit_home, sentinel_key, tmp_path) -> None:
    from apiedit_modelscope.emulator import ModelScopeEmulator

    emulator = emulator_factory(ModelScopeEmulator)
    results = three_turns("modelscope", "Qwen/Qwen-Image-Edit-2509", emulator, tmp_path, sentinel_key,
                          first_images=(_png(),))
    sent = emulator.tasks[2].image_urls
    assert len(sent) == 1
    received = (parse_data_url(sent[0]).data if sent[0].startswith("data:")
                else requests.get(sent[0], timeout=10).content)
    assert received == results[1].images[0].data
    assert results[2].info["conversation"] == "last_image"


@pytest.mark.parametrize("transport", ["rest", "sdk"])
def test_gemini_turn_three_receives_the_history_with_signatures_after_a_restart(
    emulator_factory, apiedit_home, sentinel_key, tmp_path, monkeypatch, transport
) -> None:
    from apiedit_gemini.emulator import GeminiEmulator

    monkeypatch.setenv("APIEDIT_GEMINI_TRANSPORT", transport)
    emulator = emulator_factory(GeminiEmulator)
    results = three_turns("gemini", "gemini-3-pro-image", emulator, tmp_path, sentinel_key)
    assert emulator.replay_problems == []  # the emulator answers 400 to an altered replay
    third = emulator.calls[2]
    roles = [c.get("role") for c in third.raw_contents()]
    assert roles == ["user", "model", "user", "model", "user"]
    assert results[2].info["conversation"] == "native"
    if transport == "rest":  # byte for byte: exactly the parts the emulator sent, as JSON text
        sent_model_turns = [r["candidates"][0]["content"]["parts"] for r in emulator.responses[:2]]
        replayed = [third.raw_contents()[1]["parts"], third.raw_contents()[3]["parts"]]
        assert json.dumps(replayed) == json.dumps(sent_model_turns)


def _png() -> Any:
    import io

    from PIL import Image

    from apiedit.types import ImageData

    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (120, 80, 40)).save(buf, "PNG")
    return ImageData(buf.getvalue())


def test_openrouter_turn_three_receives_the_whole_history(emulator_factory, apiedit_home, sentinel_key, tmp_path) -> None:
    from apiedit_openrouter.emulator import OpenRouterEmulator

    emulator = emulator_factory(OpenRouterEmulator)
    results = three_turns("openrouter", "google/gemini-nano-banana-2.1", emulator, tmp_path, sentinel_key)
    third = emulator.chats[2]
    assert [m["role"] for m in third.history] == ["user", "assistant", "user", "assistant"]
    assistant_images = [_image_urls(m, "images") for m in third.history if m["role"] == "assistant"]
    assert assistant_images == [[results[0].images[0].data], [results[1].images[0].data]]
    assert third.input_images == [results[1].images[0].data]  # the last image, attached again
    assert results[2].info["conversation"] == "native"


def test_pixelwords_turn_three_receives_the_text_history_and_the_last_image(
    emulator_factory, apiedit_home, sentinel_key, tmp_path
) -> None:
    from apiedit_pixelwords.emulator import PixelWordsEmulator

    emulator = emulator_factory(PixelWordsEmulator)
    results = three_turns("pixelwords", "gemini-2.5-flash-image", emulator, tmp_path, sentinel_key)
    third = emulator.chats[2]
    assert [m["role"] for m in third.history] == ["user", "assistant", "user", "assistant"]
    assert third.input_images == [results[1].images[0].data]


def _image_urls(message: dict[str, Any], key: str) -> list[bytes]:
    return [parse_data_url(item["image_url"]["url"]).data for item in message.get(key, [])]


# ---- what a long conversation resends (issue 14: light conversations) -------------------------


def _coloured_png(seed: int) -> Any:
    import io

    from PIL import Image

    from apiedit.types import ImageData

    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (seed * 37 % 256, seed * 91 % 256, 40)).save(buf, "PNG")
    return ImageData(buf.getvalue())


def _long_chat(provider: str, model: str, emulator: Any, tmp_path: Path, key: str, turns: int,
               *, every_turn_an_image: bool = False) -> list[Any]:
    host = Host(env={"APIEDIT_LOAD_PLUGINS": provider})
    chat = Conversation.open("long", store=ConversationStore(tmp_path / "c.sqlite3"), host=host)
    options = dict(model=model, api_key=key, base_url=emulator.base_url)
    results = [chat.send(provider, prompt="turn 1", images=[_png()], **options)]
    results += [chat.send(provider, prompt=f"turn {i}", **options,
                          images=[_coloured_png(i)] if every_turn_an_image else [])
                for i in range(2, turns + 1)]
    return results


@pytest.mark.parametrize("budget", [None, "1"])
def test_openrouter_resends_only_the_newest_history_images_and_every_turns_text(
    emulator_factory, apiedit_home, sentinel_key, tmp_path, monkeypatch, budget
) -> None:
    from apiedit_openrouter.emulator import OpenRouterEmulator

    if budget is not None:
        monkeypatch.setenv("APIEDIT_HISTORY_IMAGES", budget)
    emulator = emulator_factory(OpenRouterEmulator)
    results = _long_chat("openrouter", "google/gemini-nano-banana-2.1", emulator, tmp_path, sentinel_key, 6)
    last = emulator.chats[-1]
    # every earlier turn is there with its text, oldest first
    assert [m["role"] for m in last.history] == ["user", "assistant"] * 5
    assert [m["content"] if isinstance(m["content"], str) else m["content"][0]["text"]
            for m in last.history if m["role"] == "user"] == [f"turn {i}" for i in range(1, 6)]
    # only the newest K history images (default 4: the last four answers here)
    sent = [image for m in last.history for key in ("images", "content")
            for image in (_image_urls(m, key) if key == "images" else
                          [parse_data_url(p["image_url"]["url"]).data for p in m[key]
                           if isinstance(m[key], list) and p.get("type") == "image_url"])]
    k = 4 if budget is None else int(budget)
    assert sent == [r.images[0].data for r in results[5 - k:5]]
    assert last.input_images == [results[4].images[0].data]  # the last image, attached again


def test_a_bad_history_image_budget_is_a_typed_error_before_anything_is_sent(
    emulator_factory, apiedit_home, sentinel_key, tmp_path, monkeypatch
) -> None:
    from apiedit.errors import ConfigurationError
    from apiedit_openrouter.emulator import OpenRouterEmulator

    emulator = emulator_factory(OpenRouterEmulator)
    _long_chat("openrouter", "google/gemini-nano-banana-2.1", emulator, tmp_path, sentinel_key, 1)
    monkeypatch.setenv("APIEDIT_HISTORY_IMAGES", "many")
    chat = Conversation.open("long", store=ConversationStore(tmp_path / "c.sqlite3"),
                             host=Host(env={"APIEDIT_LOAD_PLUGINS": "openrouter"}))
    before = emulator.billable_count
    with pytest.raises(ConfigurationError, match="APIEDIT_HISTORY_IMAGES"):
        chat.send("openrouter", model="google/gemini-nano-banana-2.1", prompt="turn 2",
                  api_key=sentinel_key, base_url=emulator.base_url)
    assert emulator.billable_count == before


@pytest.mark.parametrize("provider, model", [
    ("openrouter", "google/gemini-nano-banana-2.1"), ("gemini", "gemini-3-pro-image")])
def test_a_native_turn_reads_only_the_stored_images_it_sends(
    emulator_factory, apiedit_home, sentinel_key, tmp_path, monkeypatch, provider, model
) -> None:
    """The store hands the history over lazily: images left out (by the budget, or because
    Gemini refers to its uploaded file) are never read from disk."""
    from apiedit.conversation import lazyimage

    if provider == "gemini":
        from apiedit_gemini.emulator import GeminiEmulator as emulator_class

        monkeypatch.setenv("APIEDIT_GEMINI_HISTORY_FILES", "always")
    else:
        from apiedit_openrouter.emulator import OpenRouterEmulator as emulator_class
    emulator = emulator_factory(emulator_class)
    emulator.size_divisor = 1  # Gemini: answers big enough to be stored once, by reference
    _long_chat(provider, model, emulator, tmp_path, sentinel_key, 7, every_turn_an_image=True)
    reads: list[str] = []
    original = lazyimage.StoredImage._read
    monkeypatch.setattr(lazyimage.StoredImage, "_read",
                        lambda self: reads.append(self.sha256) or original(self))
    chat = Conversation.open("long", store=ConversationStore(tmp_path / "c.sqlite3"),
                             host=Host(env={"APIEDIT_LOAD_PLUGINS": provider}))
    history_before = chat.exchanges()[:-1]
    chat.send(provider, model=model, prompt="turn 8", api_key=sentinel_key, base_url=emulator.base_url)
    stored = {image.sha256 for e in history_before for m in e.messages for image in m.images}
    if provider == "openrouter":  # the 4 newest history images it resends (distinct ones)
        last = emulator.chats[-1]
        sent = {hashlib.sha256(parse_data_url(p["image_url"]["url"]).data).hexdigest()
                for m in last.history for p in (m.get("images") or []) + (
                    m["content"] if isinstance(m["content"], list) else []) if "image_url" in p}
    else:  # the ones it uploads now: turn 7's input and answer
        sent = {hashlib.sha256(r.body).hexdigest() for r in
                emulator.requests_to(r"/_upload/")[-2:]}
    assert len(stored) > len(sent) > 0
    assert sorted(reads) == sorted(sent)  # each read once, and nothing it did not send


def test_a_gemini_protocol_relay_gets_plain_state_and_its_history_inline(
    emulator_factory, apiedit_home, sentinel_key, tmp_path, monkeypatch
) -> None:
    """A relay (providers.toml, protocol gemini) may have no Files API and its plugin does not
    declare LAZY_HISTORY_STATE: its history arrives as plain JSON, the images inline."""
    from apiedit_gemini.emulator import GeminiEmulator

    monkeypatch.setenv("APIEDIT_GEMINI_HISTORY_FILES", "always")
    emulator = emulator_factory(GeminiEmulator)
    emulator.size_divisor = 1  # answers stored by reference ($image), then read back lazily
    path = tmp_path / "providers.toml"
    path.write_text('[providers.relay]\nprotocol = "gemini"\nlabel = "My relay"\n'
                    f'base_url = "{emulator.base_url}"\nkey_env = "MYRELAY_API_KEY"\n'
                    'models = ["gemini-3-pro-image"]\n', encoding="utf-8")
    monkeypatch.setenv("MYRELAY_API_KEY", sentinel_key)
    host = Host(env={"APIEDIT_PROVIDERS_FILE": str(path), "APIEDIT_LOAD_PLUGINS": "relay"})
    chat = Conversation.open("relay", store=ConversationStore(tmp_path / "c.sqlite3"), host=host)
    for turn in range(1, 4):
        result = chat.send("relay", model="gemini-3-pro-image", prompt=f"turn {turn}")
    assert result.info["turn"] == 3 and result.info["conversation"] == "native"
    assert emulator.requests_to(r"/upload/") == [] and emulator.calls[2].file_uris == []
    assert emulator.replay_problems == []
    # turn 1's answer went back inline (a relay's model turns are rebuilt from text and image)
    raw = emulator.calls[2].raw_contents()
    inline = [p["inlineData"]["data"] for p in raw[1]["parts"] if "inlineData" in p]
    issued = [p["inlineData"]["data"] for p in emulator.responses[0]["candidates"][0]["content"]["parts"]
              if "inlineData" in p]
    assert inline == issued and len(inline[0]) > 1024
