"""PixelWords over real HTTP against its relay emulator: every answer shape, conversations,
errors and the model list."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from apiedit.errors import (
    AuthenticationError,
    ContentBlockedError,
    MissingKeyError,
    NoImageReturnedError,
    ProviderError,
    ProviderUnavailableError,
    QuotaExceededError,
    RateLimitError,
    UnknownModelError,
    UnsupportedFeatureError,
)
from apiedit.host import Host
from apiedit.testing.chat_emulator import STYLES, block_colours, colours_close, message_images
from apiedit.testing.emulator import Fault
from apiedit.types import Capability, EditRequest, EditResult, Turn
from apiedit_pixelwords.emulator import PixelWordsEmulator

RED, GREEN, BLUE, YELLOW = (220, 20, 20), (20, 200, 40), (30, 40, 220), (230, 220, 30)
IMAGE_STYLES = ("images", "null_content", "markdown_data", "markdown_https", "bare_url", "bare_data",
                "parts", "jpeg_as_png", "two_images")


# ---- requests ----------------------------------------------------------------------------------


def test_request_is_what_the_original_relay_accepted(call: Callable[..., EditResult],
                                                     emulator: PixelWordsEmulator,
                                                     sentinel_key: str) -> None:
    call()
    chat = emulator.last_chat()
    assert chat.body == {"model": "gemini-2.5-flash-image",
                         "messages": [{"role": "user", "content": "a paper boat on a pond"}]}
    assert chat.headers["authorization"] == f"Bearer {sentinel_key}"
    assert emulator.requests[0].path == "/chat/completions"


def test_text_to_image_from_a_markdown_data_link(call: Callable[..., EditResult],
                                                 emulator: PixelWordsEmulator) -> None:
    result = call()
    assert result.images[0].data == emulator.last_chat().output
    assert result.text == "Here is your image."
    assert emulator.billable_count == 1


def test_edit_with_one_image(call: Callable[..., EditResult], emulator: PixelWordsEmulator, png: Any) -> None:
    source = png(GREEN)
    result = call(model="gemini-2.5-flash-image-hd", images=(source,))
    assert message_images(emulator.last_chat().messages[-1]) == [source.data]
    assert colours_close(block_colours(result.images[0].data, 1)[0], GREEN)


def test_four_images_arrive_in_order(call: Callable[..., EditResult], emulator: PixelWordsEmulator,
                                     png: Any) -> None:
    inputs = tuple(png(c) for c in (RED, GREEN, BLUE, YELLOW))
    result = call(images=inputs)
    assert message_images(emulator.last_chat().messages[-1]) == [i.data for i in inputs]
    assert all(colours_close(c, e) for c, e in zip(block_colours(result.images[0].data, 4),
                                           (RED, GREEN, BLUE, YELLOW)))


def test_a_fifth_image_is_refused_before_sending(call: Callable[..., EditResult],
                                                 emulator: PixelWordsEmulator, png: Any) -> None:
    with pytest.raises(UnsupportedFeatureError):
        call(images=tuple(png(RED) for _ in range(5)))
    assert emulator.requests == []


def test_edit_only_model_needs_an_image(call: Callable[..., EditResult], emulator: PixelWordsEmulator) -> None:
    with pytest.raises(UnsupportedFeatureError, match="only edits"):
        call(model="seededit")
    assert emulator.requests == []


def test_n_2_makes_two_calls(call: Callable[..., EditResult], emulator: PixelWordsEmulator) -> None:
    result = call(n=2)
    assert len(result.images) == 2 and emulator.billable_count == 2


def test_aspect_ratio_is_refused_since_the_relay_takes_none(call: Callable[..., EditResult]) -> None:
    with pytest.raises(UnsupportedFeatureError, match="aspect ratio"):
        call(aspect_ratio="16:9")


def test_pixel_size_is_refused(call: Callable[..., EditResult], emulator: PixelWordsEmulator) -> None:
    with pytest.raises(UnsupportedFeatureError, match="pixel size"):
        call(size="1024x1024")
    assert emulator.requests == []


def test_seed_is_a_warning_not_a_silent_drop(call: Callable[..., EditResult],
                                             emulator: PixelWordsEmulator) -> None:
    result = call(seed=42)
    assert "seed" not in emulator.last_chat().body
    assert any("seed" in w for w in result.warnings)


def test_key_from_the_apiedit_prefixed_env_var(host: Host, emulator: PixelWordsEmulator,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APIEDIT_PIXELWORDS_API_KEY", "pw-test-key-123456")
    host.edit("pixelwords", EditRequest(model="gemini-2.5-flash-image", prompt="x"),
              base_url=emulator.base_url)
    assert emulator.last_chat().headers["authorization"] == "Bearer pw-test-key-123456"


def test_base_url_comes_from_the_environment(host: Host, emulator: PixelWordsEmulator, sentinel_key: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The generic relay path: any OpenAI-compatible reseller by base URL."""
    monkeypatch.setenv("APIEDIT_PIXELWORDS_BASE_URL", f"{emulator.base_url}/v1")
    host.edit("pixelwords", EditRequest(model="gemini-2.5-flash-image", prompt="x"), api_key=sentinel_key)
    assert emulator.requests[-1].path == "/v1/chat/completions"


def test_missing_key_names_both_env_vars(host: Host, emulator: PixelWordsEmulator) -> None:
    with pytest.raises(MissingKeyError, match="PIXELWORDS_API_KEY or APIEDIT_PIXELWORDS_API_KEY"):
        host.edit("pixelwords", EditRequest(model="gemini-2.5-flash-image", prompt="x"),
                  base_url=emulator.base_url)
    assert emulator.requests == []


# ---- every answer shape ------------------------------------------------------------------------


@pytest.mark.parametrize("style", IMAGE_STYLES)
def test_every_answer_shape_yields_the_image(call: Callable[..., EditResult], emulator: PixelWordsEmulator,
                                             style: str) -> None:
    emulator.style = style
    result = call()
    assert result.images[0].data == emulator.last_chat().output
    assert "base64," not in result.text


def test_every_style_is_covered() -> None:
    assert set(STYLES) == set(IMAGE_STYLES) | {"text_only", "refusal", "content_filter", "empty", "error_chunk"}


def test_image_link_is_downloaded_from_the_relay(call: Callable[..., EditResult],
                                                 emulator: PixelWordsEmulator) -> None:
    emulator.style = "markdown_https"
    call()
    assert len(emulator.requests_to(r"^/_files/", "GET")) == 1


def test_text_only_answer_is_no_image_with_the_text(call: Callable[..., EditResult],
                                                    emulator: PixelWordsEmulator) -> None:
    emulator.style = "text_only"
    with pytest.raises(NoImageReturnedError) as caught:
        call()
    assert "did not draw one" in caught.value.text and "did not draw one" in str(caught.value)


def test_refusal_is_content_blocked(call: Callable[..., EditResult], emulator: PixelWordsEmulator) -> None:
    emulator.style = "refusal"
    with pytest.raises(ContentBlockedError):
        call()


def test_empty_answer_is_no_image(call: Callable[..., EditResult], emulator: PixelWordsEmulator) -> None:
    emulator.style = "empty"
    with pytest.raises(NoImageReturnedError):
        call()


# ---- conversation ------------------------------------------------------------------------------


def exchange(prompt: str, result: EditResult) -> tuple[Turn, Turn]:
    return (Turn("user", prompt, provider="pixelwords", model="gemini-2.5-flash-image"),
            Turn("assistant", result.text, result.images, provider="pixelwords",
                 model="gemini-2.5-flash-image", state=result.state))


def test_third_turn_resends_the_text_history_and_the_last_image(call: Callable[..., EditResult],
                                                                emulator: PixelWordsEmulator) -> None:
    first = call(prompt="draw a house")
    history = exchange("draw a house", first)
    second = call(prompt="paint it green", history=history)
    history += exchange("paint it green", second)
    third = call(prompt="add a tree", history=history)

    messages = emulator.chats[2].messages
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant", "user"]
    assert [m["content"] for m in messages[:4]] == ["draw a house", first.text, "paint it green", second.text]
    assert all("images" not in m for m in messages)  # relays may not forward them (UNCONFIRMED)
    assert message_images(messages[4]) == [emulator.chats[1].output]
    assert third.info["conversation"] == "native"


def test_history_on_a_model_without_conversation_is_refused(call: Callable[..., EditResult], png: Any) -> None:
    history = (Turn("user", "a"), Turn("assistant", "", (png(RED),)))
    with pytest.raises(UnsupportedFeatureError, match="conversation"):
        call(model="gpt-4o-image", history=history)


# ---- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "error"), [
    ("auth", AuthenticationError),
    ("quota", QuotaExceededError),
    ("blocked", ContentBlockedError),
    ("server_error", ProviderUnavailableError),
])
def test_relay_errors_are_typed_and_sent_once(call: Callable[..., EditResult], emulator: PixelWordsEmulator,
                                              kind: str, error: type) -> None:
    emulator.inject(emulator.fault_for(kind, times=0))
    with pytest.raises(error):
        call()
    assert len(emulator.requests) == 1


def test_429_is_retried_after_retry_after(call: Callable[..., EditResult], emulator: PixelWordsEmulator) -> None:
    emulator.inject(emulator.fault_for("rate_limit"))
    assert call().images
    assert len(emulator.requests) == 2 and emulator.billable_count == 1


def test_persistent_429_is_rate_limit(call: Callable[..., EditResult], emulator: PixelWordsEmulator) -> None:
    emulator.inject(emulator.fault_for("rate_limit", times=0, headers={"Retry-After": "0"}))
    with pytest.raises(RateLimitError):
        call()


def test_503_overloaded_is_resent_once(call: Callable[..., EditResult], emulator: PixelWordsEmulator) -> None:
    emulator.inject(emulator.fault_for("overloaded"))
    assert call().images
    assert len(emulator.requests) == 2


def test_502_is_not_resent_since_the_relay_may_have_billed(call: Callable[..., EditResult],
                                                           emulator: PixelWordsEmulator) -> None:
    emulator.inject(Fault(method="POST", status=502, body={"error": {"message": "bad gateway"}}))
    with pytest.raises(ProviderUnavailableError):
        call()
    assert len(emulator.requests) == 1


def test_model_the_relay_does_not_serve_is_unknown_model(host: Host, emulator: PixelWordsEmulator,
                                                         sentinel_key: str) -> None:
    with pytest.raises(UnknownModelError):
        host.edit("pixelwords", EditRequest(model="not-a-model", prompt="x"), api_key=sentinel_key,
                  base_url=emulator.base_url, allow_unlisted=True)
    assert len(emulator.requests) == 1


def test_a_made_up_id_is_sent_once_and_is_unknown_model_with_suggestions(
    host: Host, emulator: PixelWordsEmulator, sentinel_key: str
) -> None:
    with pytest.raises(UnknownModelError, match="Did you mean 'gemini-2.5-flash-image-vip'") as caught:
        host.edit("pixelwords", EditRequest(model="gemini-2.5-flash-image-vipp", prompt="x"),
                  api_key=sentinel_key, base_url=emulator.base_url)
    assert "gemini-2.5-flash-image-vip" in caught.value.suggestions
    assert emulator.billable_count == 1


def test_a_model_only_the_live_list_knows_is_listed_and_used_without_any_flag(
    host: Host, emulator: PixelWordsEmulator, sentinel_key: str
) -> None:
    emulator.models = [*emulator.models, {"id": "gemini-3-pro-image", "object": "model",
                                          "created": 1, "owned_by": "vertex-ai"}]
    models = {m.id: m for m in host.list_models("pixelwords", refresh=True, api_key=sentinel_key,
                                                   base_url=emulator.base_url)}
    assert models["gemini-3-pro-image"].verified and models["gemini-3-pro-image"].available
    assert models["seedream-4-0-250828"].verified is False  # nothing describes it
    assert host.default_model("pixelwords", base_url=emulator.base_url).id == "gemini-3-pro-image"
    result = host.edit("pixelwords", EditRequest(model="gemini-3-pro-image", prompt="x"),
                       api_key=sentinel_key, base_url=emulator.base_url)
    assert result.images and emulator.last_chat().body["model"] == "gemini-3-pro-image"


def test_truncated_answer_is_not_resent(call: Callable[..., EditResult], emulator: PixelWordsEmulator) -> None:
    emulator.inject(Fault(method="POST", truncate=True))
    with pytest.raises(ProviderUnavailableError, match="may have been billed"):
        call()
    assert emulator.billable_count == 1


def test_key_never_appears_in_errors_or_logs(call: Callable[..., EditResult], emulator: PixelWordsEmulator,
                                             sentinel_key: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    emulator.inject(Fault(method="POST", status=401, body={"error": {
        "message": f"invalid token {sentinel_key}", "type": "new_api_error", "code": "invalid_api_key"}}))
    with pytest.raises(AuthenticationError) as caught:
        call()
    assert sentinel_key not in str(caught.value) and sentinel_key not in repr(caught.value)
    assert sentinel_key not in caplog.text


# ---- model list --------------------------------------------------------------------------------


def test_live_list_keeps_image_models_only(host: Host, emulator: PixelWordsEmulator, sentinel_key: str) -> None:
    models = {m.id: m for m in host.list_models("pixelwords", refresh=True, api_key=sentinel_key,
                                                base_url=emulator.base_url)}
    assert "seedream-4-0-250828" in models
    assert not {"gpt-4o-mini", "qwen2.5-vl-72b-instruct", "gpt-4-vision-preview"} & set(models)
    assert models["seedream-4-0-250828"].supports(Capability.GENERATE)
    assert emulator.requests_to(r"/models$")[0].headers["authorization"] == f"Bearer {sentinel_key}"


def test_relay_without_a_model_list_says_so_and_the_curated_table_stays_usable(
    host: Host, emulator: PixelWordsEmulator, sentinel_key: str
) -> None:
    emulator.inject(Fault(path="/models", status=404, body={"error": {"message": "not found"}}, times=0))
    with pytest.raises(ProviderError, match="Could not refresh.*404"):
        host.list_models("pixelwords", refresh=True, api_key=sentinel_key, base_url=emulator.base_url)
    assert host.list_status("pixelwords", base_url=emulator.base_url).stale
    models = host.list_models("pixelwords", base_url=emulator.base_url)
    assert "gemini-2.5-flash-image-hd" in [m.id for m in models]
    assert all(m.available is None for m in models)  # not shown as confirmed by a list


def test_curated_gemini_models_keep_a_conversation(host: Host) -> None:
    assert host.supports_conversation("pixelwords", "gemini-2.5-flash-image-hd") is True
    assert host.supports_conversation("pixelwords", "flux-kontext-max") is False


def test_retired_preview_model_points_to_its_replacement(call: Callable[..., EditResult]) -> None:
    with pytest.raises(UnsupportedFeatureError, match="'gemini-2.5-flash-image'"):
        call(model="gemini-2.5-flash-image-preview")


def test_provider_label_says_it_is_the_generic_relay(host: Host) -> None:
    info = host.get_provider("pixelwords")
    assert "OpenAI-compatible" in info.label
    assert info.default_base_url == "https://api.sydney-ai.com/v1"
