"""Three-turn conversations through `apiedit.Conversation`, per provider, over real HTTP.

Each emulator reports what turn 3 received: the full history (native providers) or turn 2's
output image (last-image providers). The store is closed and reopened before turn 3, as a
restart would.
"""

from __future__ import annotations

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
