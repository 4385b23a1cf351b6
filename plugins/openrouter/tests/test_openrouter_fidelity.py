"""The emulator and the plugin must not drift from OpenRouter: the official OpenAPI schema
validates every request the plugin sends, and the official `openai` SDK works against the
emulator the way `providers.md` Appendix A observed it against OpenRouter."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from apiedit.testing.chat_emulator import decode_data_url
from apiedit.types import EditResult, Turn
from apiedit_openrouter.emulator import OpenRouterEmulator

RED, GREEN, BLUE, YELLOW = (220, 20, 20), (20, 200, 40), (30, 40, 220), (230, 220, 30)
GEMINI_3 = "google/gemini-3-pro-image"


def test_every_request_the_plugin_sends_validates_against_chat_request(
    call: Callable[..., EditResult], emulator: OpenRouterEmulator, png: Any,
    assert_valid: Callable[[OpenRouterEmulator], int],
) -> None:
    call()
    call(images=(png(RED),), aspect_ratio="3:2")
    call(model=GEMINI_3, images=tuple(png(c) for c in (RED, GREEN, BLUE, YELLOW)),
         aspect_ratio="21:9", resolution="4K")
    call(model="black-forest-labs/flux.2-pro", images=(png(BLUE),))
    call(n=2)
    first = call(model=GEMINI_3, prompt="draw a boat")
    history = (Turn("user", "draw a boat", provider="openrouter", model=GEMINI_3),
               Turn("assistant", first.text, first.images, provider="openrouter", model=GEMINI_3,
                    state=first.state))
    second = call(model=GEMINI_3, prompt="make it red", history=history)
    history += (Turn("user", "make it red", provider="openrouter", model=GEMINI_3),
                Turn("assistant", second.text, second.images, provider="openrouter", model=GEMINI_3,
                     state=second.state))
    call(model=GEMINI_3, prompt="add a sail", history=history)
    assert assert_valid(emulator) == 9
    assert "reasoning_details" in emulator.last_chat().messages[1]


def test_the_schema_catches_a_malformed_request(assert_valid: Callable[[OpenRouterEmulator], int],
                                                emulator: OpenRouterEmulator, sentinel_key: str) -> None:
    """The validator is not vacuous: a wrong `modalities` value fails it."""
    import requests

    requests.post(f"{emulator.base_url}/api/v1/chat/completions", timeout=10,
                  headers={"Authorization": f"Bearer {sentinel_key}"},
                  json={"model": "x", "messages": [{"role": "user", "content": "a"}], "modalities": ["picture"]})
    with pytest.raises(AssertionError, match="modalities"):
        assert_valid(emulator)


def _openai_client(emulator: OpenRouterEmulator, key: str) -> Any:
    openai = pytest.importorskip("openai")
    return openai.OpenAI(
        api_key=key, base_url=f"{emulator.base_url}/api/v1", max_retries=0,
        default_headers={"HTTP-Referer": "https://example.org", "X-OpenRouter-Title": "MyApp"},
    )


def test_openai_sdk_gets_an_image_in_message_images(emulator: OpenRouterEmulator, sentinel_key: str,
                                                    png: Any, assert_valid: Callable[..., int]) -> None:
    client = _openai_client(emulator, sentinel_key)
    red = base64.b64encode(png(RED).data).decode()
    completion = client.chat.completions.create(
        model="google/gemini-nano-banana-2.1",
        messages=[{"role": "user", "content": [
            {"type": "text", "text": "combine"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{red}"}},
        ]}],
        extra_body={"modalities": ["image", "text"], "image_config": {"aspect_ratio": "16:9"}},
    )
    images = completion.choices[0].message.images  # an extra field, holding plain dicts
    url = images[0]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    assert decode_data_url(url) == emulator.last_chat().output
    assert emulator.last_chat().headers["x-openrouter-title"] == "MyApp"
    assert emulator.last_chat().body["image_config"] == {"aspect_ratio": "16:9"}
    assert assert_valid(emulator) == 1


def test_openai_sdk_multi_turn_body_is_accepted(emulator: OpenRouterEmulator, sentinel_key: str,
                                                png: Any) -> None:
    """The second-turn body of Appendix A: an assistant message echoing its `images`."""
    client = _openai_client(emulator, sentinel_key)
    earlier = base64.b64encode(png(GREEN).data).decode()
    completion = client.chat.completions.create(
        model="google/gemini-nano-banana-2.1",
        messages=[
            {"role": "user", "content": "draw a red car"},
            {"role": "assistant", "content": "done",
             "images": [{"type": "image_url", "image_url": {"url": f"data:image/png;base64,{earlier}"}}]},
            {"role": "user", "content": "make it blue"},
        ],
        extra_body={"modalities": ["image", "text"]},
    )
    assert completion.choices[0].message.images
    assert emulator.last_chat().messages[1]["images"][0]["image_url"]["url"].endswith(earlier)


def test_openai_sdk_sees_openrouter_errors_without_retrying(emulator: OpenRouterEmulator,
                                                            sentinel_key: str) -> None:
    openai = pytest.importorskip("openai")
    client = _openai_client(emulator, sentinel_key)
    emulator.inject(emulator.fault_for("quota"))
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="google/gemini-nano-banana-2.1",
                                       messages=[{"role": "user", "content": "x"}],
                                       extra_body={"modalities": ["image", "text"]})
    assert caught.value.status_code == 402
    assert len(emulator.requests) == 1
