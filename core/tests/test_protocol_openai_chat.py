"""The OpenAI-compatible chat-with-images protocol, over real HTTP against `ChatEmulator`."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any, ClassVar

import pytest
from apiedit.errors import (
    AuthenticationError,
    CancelledError,
    ContentBlockedError,
    InvalidInputError,
    MissingKeyError,
    NoImageReturnedError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    QuotaExceededError,
    RateLimitError,
    UnknownModelError,
)
from apiedit.images import open_image
from apiedit.protocols.openai_chat import (
    build_messages,
    chat_edit,
    error_mapper,
    fetch_model_list,
    find_images_in_text,
)
from apiedit.redact import register_secret
from apiedit.settings import ProviderSettings
from apiedit.testing.chat_emulator import ChatEmulator, block_colours, colours_close, decode_data_url
from apiedit.testing.conformance import sample_png
from apiedit.testing.emulator import Fault, Response
from apiedit.types import EditRequest, ImageData, ModelInfo, Turn

RED, GREEN, BLUE, GREY = (220, 20, 20), (20, 200, 40), (30, 40, 220), (128, 128, 128)


class RelayEmulator(ChatEmulator):
    """A bare OpenAI-compatible relay with the base class's defaults."""

    models: ClassVar[list[dict[str, Any]]] = [{"id": "relay-image", "object": "model"}]
    reasoning_models = ("relay-thinking-image",)


@pytest.fixture
def relay(emulator_factory: Any) -> RelayEmulator:
    return emulator_factory(RelayEmulator)


@pytest.fixture
def settings(relay: RelayEmulator, sentinel_key: str, tmp_path: Path) -> ProviderSettings:
    register_secret(sentinel_key)
    return ProviderSettings(provider="relay", label="Relay", base_url=relay.base_url,
                            api_key=sentinel_key, cache_dir=tmp_path, read_timeout=30)


def png(colour: tuple[int, int, int], size: tuple[int, int] = (40, 30)) -> ImageData:
    return ImageData(sample_png(colour, size))


def run(settings: ProviderSettings, prompt: str = "a fox", *, images: tuple[ImageData, ...] = (),
        history: tuple[Turn, ...] = (), n: int = 1, model: str = "relay-image",
        seed: int | None = None, mapper: Any = None):
    request = EditRequest(model=model, prompt=prompt, images=images, history=history, n=n, seed=seed)
    body: dict[str, Any] = {"model": model, "messages": build_messages(request, provider="relay")}
    if seed is not None:
        body["seed"] = seed
    return chat_edit(request, settings, body, map_error=mapper)


# ---- finding images in text --------------------------------------------------------------------


def test_markdown_data_link_is_found_and_removed_from_the_text() -> None:
    urls, text = find_images_in_text("Here you go\n\n![img](data:image/png;base64,iVBORw0KGgo=)")
    assert urls == ["data:image/png;base64,iVBORw0KGgo="]
    assert text == "Here you go"


def test_markdown_https_link_with_title_is_found() -> None:
    urls, _ = find_images_in_text('![cat](https://cdn.example.com/a/b.webp "a cat")')
    assert urls == ["https://cdn.example.com/a/b.webp"]


def test_bare_image_url_is_found_and_a_plain_link_is_not() -> None:
    urls, _ = find_images_in_text("See https://example.com/docs and https://cdn.example.com/x.PNG?sig=1.")
    assert urls == ["https://cdn.example.com/x.PNG?sig=1"]


def test_a_lone_url_is_taken_as_the_image() -> None:
    urls, _ = find_images_in_text("  https://files.example.com/render/abc123  ")
    assert urls == ["https://files.example.com/render/abc123"]


def test_bare_data_uri_in_text_is_found() -> None:
    urls, text = find_images_in_text("done: data:image/jpeg;base64,/9j/4AAQ end")
    assert urls == ["data:image/jpeg;base64,/9j/4AAQ"]
    assert "base64" not in text


# ---- building messages -------------------------------------------------------------------------


def test_user_message_puts_text_first_then_images_in_order() -> None:
    images = (png(RED), png(GREEN), png(BLUE))
    (message,) = build_messages(EditRequest(model="m", prompt="combine", images=images))
    assert message["role"] == "user"
    assert message["content"][0] == {"type": "text", "text": "combine"}
    sent = [decode_data_url(p["image_url"]["url"]) for p in message["content"][1:]]
    assert sent == [i.data for i in images]


def test_text_to_image_sends_a_plain_string() -> None:
    assert build_messages(EditRequest(model="m", prompt="a fox")) == [{"role": "user", "content": "a fox"}]


def test_history_alternates_and_replays_assistant_images_and_reasoning_verbatim() -> None:
    details = [{"type": "reasoning.encrypted", "data": "sig==", "format": "google-gemini-v1", "index": 0}]
    out = png(RED)
    history = (
        Turn("user", "draw a car", provider="relay", model="m"),
        Turn("assistant", "Here it is.", (out,), provider="relay", model="m",
             state={"reasoning_details": details}),
    )
    messages = build_messages(EditRequest(model="m", prompt="make it blue", history=history), provider="relay")
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assistant = messages[1]
    assert assistant["content"] == "Here it is."
    assert decode_data_url(assistant["images"][0]["image_url"]["url"]) == out.data
    assert assistant["reasoning_details"] == details


def test_last_assistant_image_is_attached_to_a_new_turn_without_images() -> None:
    first, second = png(RED), png(GREEN)
    history = (
        Turn("user", "a"), Turn("assistant", "", (first,)),
        Turn("user", "b"), Turn("assistant", "", (second,)),
    )
    messages = build_messages(EditRequest(model="m", prompt="c", history=history))
    last = messages[-1]["content"]
    assert last[0] == {"type": "text", "text": "c"}
    assert [decode_data_url(p["image_url"]["url"]) for p in last[1:]] == [second.data]


def test_new_images_replace_the_attached_last_image() -> None:
    history = (Turn("user", "a"), Turn("assistant", "", (png(RED),)))
    messages = build_messages(EditRequest(model="m", prompt="c", images=(png(BLUE),), history=history))
    assert [decode_data_url(p["image_url"]["url"]) for p in messages[-1]["content"][1:]] == [png(BLUE).data]


def test_reasoning_from_another_provider_or_model_is_not_replayed() -> None:
    details = [{"type": "reasoning.encrypted", "data": "sig"}]
    history = (
        Turn("user", "a"),
        Turn("assistant", "x", provider="other", model="m", state={"reasoning_details": details}),
        Turn("user", "b"),
        Turn("assistant", "y", provider="relay", model="older-model", state={"reasoning_details": details}),
    )
    messages = build_messages(EditRequest(model="m", prompt="c", history=history), provider="relay")
    assert all("reasoning_details" not in m for m in messages)


def test_assistant_images_can_be_left_out_of_the_replay() -> None:
    history = (Turn("user", "a"), Turn("assistant", "ok", (png(RED),)))
    messages = build_messages(EditRequest(model="m", prompt="b", history=history),
                              replay_assistant_images=False)
    assert "images" not in messages[1]
    assert messages[-1]["content"][1]["type"] == "image_url"


def test_inputs_over_the_pixel_budget_are_downscaled() -> None:
    big = ImageData(sample_png(RED, (400, 300)))
    (message,) = build_messages(EditRequest(model="m", prompt="x", images=(big,)), max_pixels=10_000)
    img = open_image(decode_data_url(message["content"][1]["image_url"]["url"]))
    assert img.width * img.height <= 10_000 and abs(img.width / img.height - 4 / 3) < 0.05


# ---- answers over HTTP -------------------------------------------------------------------------


def test_message_images_answer_returns_the_image_and_text(relay: RelayEmulator, settings: ProviderSettings) -> None:
    result = run(settings, images=(png(RED), png(BLUE)))
    assert [colours_close(c, e) for c, e in zip(block_colours(result.images[0].data, 2), (RED, BLUE))] == [True, True]
    assert result.text == "Here is your image."
    assert result.request_id == relay.last_chat().answer_id
    assert result.usage["total_tokens"] > 0
    assert relay.billable_count == 1


@pytest.mark.parametrize("style", ["null_content", "markdown_data", "markdown_https", "bare_url",
                                   "bare_data", "parts"])
def test_every_answer_shape_yields_the_image(relay: RelayEmulator, settings: ProviderSettings,
                                             style: str) -> None:
    relay.style = style
    result = run(settings, images=(png(GREEN),))
    assert len(result.images) == 1
    assert result.images[0].data == relay.last_chat().output
    assert "base64" not in result.text


def test_two_images_in_one_answer_are_both_returned(relay: RelayEmulator, settings: ProviderSettings) -> None:
    relay.style = "two_images"
    assert len(run(settings).images) == 2


def test_jpeg_labelled_png_is_labelled_by_its_bytes(relay: RelayEmulator, settings: ProviderSettings) -> None:
    relay.style = "jpeg_as_png"
    assert run(settings).images[0].mime_type == "image/jpeg"


def test_magic_prompt_selects_the_answer_shape(relay: RelayEmulator, settings: ProviderSettings) -> None:
    result = run(settings, "a fox emulate:markdown_https")
    assert relay.last_chat().style == "markdown_https"
    assert result.images[0].data == relay.last_chat().output


def test_text_only_answer_is_no_image_error_with_the_models_text(relay: RelayEmulator,
                                                                settings: ProviderSettings) -> None:
    relay.style = "text_only"
    with pytest.raises(NoImageReturnedError) as caught:
        run(settings)
    assert caught.value.text.startswith("I can describe pictures")
    assert "I can describe pictures" in str(caught.value)
    assert caught.value.request_id == relay.last_chat().answer_id


def test_refusal_is_content_blocked_with_its_text(relay: RelayEmulator, settings: ProviderSettings) -> None:
    relay.style = "refusal"
    with pytest.raises(ContentBlockedError) as caught:
        run(settings)
    assert caught.value.reason == "refusal" and "can't help" in caught.value.text


def test_content_filter_finish_is_content_blocked_with_the_native_reason(
    relay: RelayEmulator, settings: ProviderSettings
) -> None:
    relay.style = "content_filter"
    with pytest.raises(ContentBlockedError) as caught:
        run(settings)
    assert caught.value.reason == "IMAGE_SAFETY"


@pytest.mark.parametrize("text", ["I'm sorry, I cannot generate images of real people.",
                                  "I can't wait to make this one for you! Drawing it now."])
def test_text_without_a_refusal_flag_is_no_image_with_the_text(relay: RelayEmulator,
                                                               settings: ProviderSettings,
                                                               text: str) -> None:
    """Wording decides nothing (harmless replies start with "I can't" too); only the
    provider's structured signal makes a ContentBlockedError."""
    relay.route("POST", r"/chat/completions", lambda r, m: {"id": "gen-x", "choices": [{
        "finish_reason": "stop", "message": {"role": "assistant", "content": text}}]},
        billable=True)
    with pytest.raises(NoImageReturnedError) as caught:
        run(settings)
    assert caught.value.text == text and text in str(caught.value)


def test_empty_choices_is_no_image_error(relay: RelayEmulator, settings: ProviderSettings) -> None:
    relay.style = "empty"
    with pytest.raises(NoImageReturnedError):
        run(settings)


def test_error_inside_a_200_answer_is_raised_and_not_resent(relay: RelayEmulator,
                                                            settings: ProviderSettings) -> None:
    relay.style = "error_chunk"
    with pytest.raises(ProviderUnavailableError) as caught:
        run(settings)
    assert caught.value.retryable is False
    assert relay.billable_count == 1


def test_a_body_that_is_not_json_is_a_clear_error(relay: RelayEmulator, settings: ProviderSettings) -> None:
    relay.route("POST", r"/chat/completions", lambda r, m: Response(200, "<html>proxy</html>"), billable=True)
    with pytest.raises(ProviderError, match="not a chat completion"):
        run(settings)


def test_reasoning_details_come_back_as_state(relay: RelayEmulator, settings: ProviderSettings) -> None:
    result = run(settings, model="relay-thinking-image")
    assert result.state["reasoning_details"] == relay.last_chat().reasoning_details


def test_changed_reasoning_details_are_refused_by_the_emulator(relay: RelayEmulator,
                                                               settings: ProviderSettings) -> None:
    first = run(settings, model="relay-thinking-image")
    tampered = [dict(first.state["reasoning_details"][0], data="sig-forged")]
    history = (Turn("user", "a fox", model="relay-thinking-image"),
               Turn("assistant", first.text, first.images, model="relay-thinking-image",
                    state={"reasoning_details": tampered}))
    with pytest.raises(InvalidInputError, match="thought signature"):
        run(settings, "again", history=history, model="relay-thinking-image")


# ---- the model list ----------------------------------------------------------------------------


def test_model_list_is_one_authorised_get_and_parse_picks_the_entries(relay: RelayEmulator,
                                                                      settings: ProviderSettings) -> None:
    relay.models = [{"id": "relay-image"}, {"id": "relay-text"}, "not an entry"]  # type: ignore[list-item]
    models = fetch_model_list(
        settings, parse=lambda e: ModelInfo(e["id"]) if e["id"].endswith("image") else None,
        params={"kind": "image"}, headers={"X-Title": "apiedit"},
    )
    assert [m.id for m in models] == ["relay-image"]
    (sent,) = relay.requests_to(r"/models$", "GET")
    assert sent.headers["authorization"] == f"Bearer {settings.api_key}"
    assert sent.headers["x-title"] == "apiedit" and sent.query == {"kind": ["image"]}
    assert not sent.billable


def test_model_list_without_a_data_list_says_what_to_check(relay: RelayEmulator,
                                                           settings: ProviderSettings) -> None:
    relay.route("GET", r"/models$", lambda r, m: {"models": []})
    with pytest.raises(ProviderError, match=r"without a `data` list; check the proxy\.$"):
        fetch_model_list(settings, parse=lambda e: None, hint="check the proxy.")


# ---- n > 1 -------------------------------------------------------------------------------------


def test_n_makes_parallel_calls_each_billed_once(relay: RelayEmulator, settings: ProviderSettings) -> None:
    result = run(settings, n=3, seed=7)
    assert len(result.images) == 3
    assert relay.billable_count == 3
    assert sorted(c.body["seed"] for c in relay.chats) == [7, 8, 9]
    assert len(result.info["request_ids"]) == 3
    assert result.usage["total_tokens"] == 3 * 1300


def test_a_failed_call_among_several_keeps_the_images_made(relay: RelayEmulator,
                                                           settings: ProviderSettings) -> None:
    relay.inject(Fault(method="POST", status=500, times=1))
    result = run(settings, n=3)
    assert len(result.images) == 2
    assert len(result.warnings) == 1 and "failed" in result.warnings[0]


def test_all_calls_failing_raises_the_error(relay: RelayEmulator, settings: ProviderSettings) -> None:
    relay.inject(relay.fault_for("auth", times=0))
    with pytest.raises(AuthenticationError):
        run(settings, n=2)


def test_cancelled_call_raises_cancelled(relay: RelayEmulator, settings: ProviderSettings) -> None:
    event = threading.Event()
    event.set()
    import attrs

    with pytest.raises(CancelledError):
        run(attrs.evolve(settings, cancel=event))
    assert relay.requests == []


# ---- errors ------------------------------------------------------------------------------------


def relay_error(relay: RelayEmulator, status: int, body: Any, headers: dict[str, str] | None = None,
                times: int = 1) -> None:
    relay.inject(Fault(method="POST", status=status, body=body, headers=headers or {}, times=times))


def test_missing_key_is_raised_before_any_request(relay: RelayEmulator, settings: ProviderSettings) -> None:
    import attrs

    with pytest.raises(MissingKeyError):
        run(attrs.evolve(settings, api_key=None))
    assert relay.requests == []


def test_402_is_quota_error_and_not_retried(relay: RelayEmulator, settings: ProviderSettings) -> None:
    relay_error(relay, 402, {"error": {"code": 402, "message": "Insufficient credits"}}, times=0)
    with pytest.raises(QuotaExceededError, match="Insufficient credits"):
        run(settings)
    assert len(relay.requests) == 1


def test_403_moderation_is_content_blocked_with_the_reasons(relay: RelayEmulator,
                                                            settings: ProviderSettings) -> None:
    body = {"error": {"code": 403, "message": "Input was flagged", "metadata": {
        "reasons": ["violence", "gore"], "flagged_input": "...", "provider_name": "OpenAI",
        "model_slug": "openai/gpt-5-image"}}}
    relay_error(relay, 403, body)
    with pytest.raises(ContentBlockedError) as caught:
        run(settings)
    assert caught.value.reason == "violence, gore"
    assert "OpenAI moderation" in str(caught.value)


def test_openai_style_moderation_code_is_content_blocked(relay: RelayEmulator,
                                                         settings: ProviderSettings) -> None:
    relay.inject(relay.fault_for("blocked"))
    with pytest.raises(ContentBlockedError) as caught:
        run(settings)
    assert caught.value.reason == "content_policy_violation"


def test_relay_quota_code_on_403_is_quota_not_auth(relay: RelayEmulator, settings: ProviderSettings) -> None:
    relay_error(relay, 403, {"error": {"message": "user quota is not enough",
                                       "type": "new_api_error", "code": "insufficient_user_quota"}})
    with pytest.raises(QuotaExceededError):
        run(settings)


def test_401_is_authentication_error(relay: RelayEmulator, settings: ProviderSettings) -> None:
    relay.inject(relay.fault_for("auth"))
    with pytest.raises(AuthenticationError):
        run(settings)


def test_429_retry_after_is_honoured_once(relay: RelayEmulator, settings: ProviderSettings) -> None:
    relay_error(relay, 429, {"error": {"code": 429, "message": "Rate limit exceeded"}}, {"Retry-After": "1"})
    import time

    started = time.monotonic()
    result = run(settings)
    assert result.images and time.monotonic() - started >= 0.9
    assert len(relay.requests) == 2 and relay.billable_count == 1


def test_429_without_retry_after_uses_availability_retry_after(relay: RelayEmulator,
                                                               settings: ProviderSettings) -> None:
    body = {"error": {"code": 429, "message": "busy", "availability": {
        "code": "capacity_exhausted", "retryable": True, "retry_after": 600}}}
    relay_error(relay, 429, body, times=0)
    with pytest.raises(RateLimitError) as caught:
        run(settings)
    assert caught.value.retry_after == 600
    assert len(relay.requests) == 1  # a wait over core's cap is left to the user


def test_daily_free_limit_429_is_quota(relay: RelayEmulator, settings: ProviderSettings) -> None:
    relay_error(relay, 429, {"error": {"code": 429, "message": "Rate limit exceeded: free-models-per-day"}})
    with pytest.raises(QuotaExceededError):
        run(settings)
    assert len(relay.requests) == 1


def test_503_is_resent_once_it_is_known_not_started(relay: RelayEmulator, settings: ProviderSettings) -> None:
    relay.inject(relay.fault_for("overloaded"))
    assert run(settings).images
    assert len(relay.requests) == 2


def test_502_is_not_resent_by_default(relay: RelayEmulator, settings: ProviderSettings) -> None:
    relay_error(relay, 502, {"error": {"code": 502, "message": "Provider returned error"}})
    with pytest.raises(ProviderUnavailableError):
        run(settings)
    assert len(relay.requests) == 1


def test_502_is_resent_when_the_provider_marks_it_retryable(relay: RelayEmulator,
                                                            settings: ProviderSettings) -> None:
    relay_error(relay, 502, {"error": {"code": 502, "message": "Provider returned error"}})
    mapper = error_mapper(settings, retryable_statuses=frozenset({502, 503}))
    assert run(settings, mapper=mapper).images
    assert len(relay.requests) == 2


def test_unknown_model_is_unknown_model_error(relay: RelayEmulator, settings: ProviderSettings) -> None:
    relay_error(relay, 400, {"error": {"code": 400, "message": "foo/bar is not a valid model ID"}})
    with pytest.raises(UnknownModelError):
        run(settings)


def test_relay_model_not_found_on_503_is_not_resent(relay: RelayEmulator, settings: ProviderSettings) -> None:
    relay_error(relay, 503, {"error": {"message": "No available channel", "code": "model_not_found"}})
    with pytest.raises(UnknownModelError):
        run(settings)
    assert len(relay.requests) == 1


def test_bad_image_type_is_invalid_input(relay: RelayEmulator, settings: ProviderSettings) -> None:
    relay_error(relay, 400, {"error": {"code": 400, "message": "Image too large",
                                       "metadata": {"error_type": "image_too_large"}}})
    with pytest.raises(InvalidInputError):
        run(settings)


def test_read_timeout_after_sending_is_not_resent(relay: RelayEmulator, settings: ProviderSettings) -> None:
    import attrs

    relay.inject(Fault(method="POST", delay=2.0))
    with pytest.raises(ProviderTimeoutError):
        run(attrs.evolve(settings, read_timeout=0.3))
    assert relay.billable_count == 1 and len(relay.requests) == 1


def test_the_key_never_reaches_errors_or_logs(relay: RelayEmulator, settings: ProviderSettings,
                                              sentinel_key: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    relay_error(relay, 401, {"error": {"message": f"Incorrect API key provided: {sentinel_key}",
                                       "code": "invalid_api_key"}})
    with pytest.raises(AuthenticationError) as caught:
        run(settings)
    assert sentinel_key not in str(caught.value) and sentinel_key not in repr(caught.value)
    assert sentinel_key not in caplog.text
    assert relay.requests[0].headers["authorization"] == f"Bearer {sentinel_key}"


def test_gateway_timeout_page_is_not_resent_and_says_it_may_be_billed(relay: RelayEmulator,
                                                                      settings: ProviderSettings) -> None:
    relay.inject(Fault(method="POST", status=524, body="<html><body>A timeout occurred</body></html>"))
    with pytest.raises(ProviderUnavailableError, match="may still have been made and billed") as caught:
        run(settings)
    assert "<html>" not in str(caught.value) and "HTML error page" in str(caught.value)
    assert len(relay.requests) == 1
