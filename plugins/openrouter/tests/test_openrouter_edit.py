"""OpenRouter over real HTTP against its emulator: requests, answers, conversations, errors."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from apiedit.errors import (
    ApiEditError,
    AuthenticationError,
    ContentBlockedError,
    NoImageReturnedError,
    ProviderUnavailableError,
    QuotaExceededError,
    RateLimitError,
    UnknownModelError,
    UnsupportedFeatureError,
)
from apiedit.host import Host
from apiedit.testing.chat_emulator import block_colours, colours_close, decode_data_url, message_images
from apiedit.testing.emulator import Fault
from apiedit.types import Capability, EditRequest, EditResult, ImageData, Turn
from apiedit_openrouter.emulator import OpenRouterEmulator, _entry

RED, GREEN, BLUE, YELLOW = (220, 20, 20), (20, 200, 40), (30, 40, 220), (230, 220, 30)
GEMINI = "google/gemini-nano-banana-2.1"
GEMINI_3 = "google/gemini-3-pro-image"


# ---- requests ----------------------------------------------------------------------------------


def test_text_to_image_asks_for_image_and_text_output(call: Callable[..., EditResult],
                                                      emulator: OpenRouterEmulator) -> None:
    result = call()
    body = emulator.last_chat().body
    assert body["modalities"] == ["image", "text"]
    assert body["messages"] == [{"role": "user", "content": "a lighthouse at dusk"}]
    assert result.images[0].data == emulator.last_chat().output
    assert result.text == "Here is your image."
    assert result.info["upstream_provider"] == "Google"
    assert emulator.billable_count == 1


def test_edit_with_one_image_sends_it_as_a_data_url(call: Callable[..., EditResult], png: Any,
                                                    emulator: OpenRouterEmulator) -> None:
    source = png(RED)
    result = call(images=(source,), prompt="make it night")
    message = emulator.last_chat().messages[-1]
    assert message["content"][0] == {"type": "text", "text": "make it night"}
    assert message_images(message) == [source.data]
    assert colours_close(block_colours(result.images[0].data, 1)[0], RED)


def test_four_images_arrive_in_order_in_one_call(call: Callable[..., EditResult], png: Any,
                                                 emulator: OpenRouterEmulator) -> None:
    inputs = tuple(png(c) for c in (RED, GREEN, BLUE, YELLOW))
    result = call(model=GEMINI_3, images=inputs, prompt="combine them")
    assert message_images(emulator.last_chat().messages[-1]) == [i.data for i in inputs]
    colours = block_colours(result.images[0].data, 4)
    assert all(colours_close(c, e) for c, e in zip(colours, (RED, GREEN, BLUE, YELLOW)))
    assert emulator.billable_count == 1


def test_four_images_on_a_gemini_2_5_family_model_warn_that_three_work_best(
    host: Host, emulator: OpenRouterEmulator, sentinel_key: str, png: Any
) -> None:
    emulator.models = [*emulator.models, _entry("google/gemini-2.6-flash-image", "Gemini 2.6 Flash Image",
                                                ["image", "text"], ["image", "text"])]
    host.list_models("openrouter", refresh=True, api_key=sentinel_key, base_url=emulator.base_url)
    result = host.edit("openrouter", EditRequest(model="google/gemini-2.6-flash-image", prompt="x",
                                                 images=tuple(png(c) for c in (RED, GREEN, BLUE, YELLOW))),
                       api_key=sentinel_key, base_url=emulator.base_url)
    assert any("works best with up to 3" in w for w in result.warnings)


def test_more_images_than_the_model_takes_are_refused_before_sending(
    call: Callable[..., EditResult], png: Any, emulator: OpenRouterEmulator
) -> None:
    with pytest.raises(UnsupportedFeatureError, match="at most 14"):
        call(images=tuple(png(RED) for _ in range(15)))
    assert emulator.requests == []


def test_n_2_makes_two_parallel_calls(call: Callable[..., EditResult], emulator: OpenRouterEmulator) -> None:
    result = call(n=2)
    assert len(result.images) == 2
    assert emulator.billable_count == 2
    assert len(result.info["request_ids"]) == 2


def test_aspect_ratio_and_resolution_go_in_image_config(call: Callable[..., EditResult],
                                                        emulator: OpenRouterEmulator) -> None:
    result = call(model=GEMINI_3, aspect_ratio="16:9", resolution="2K")
    assert emulator.last_chat().body["image_config"] == {"aspect_ratio": "16:9", "image_size": "2K"}
    from apiedit.images import image_size

    width, height = image_size(result.images[0].data)
    assert abs(width / height - 16 / 9) < 0.05


def test_extended_aspect_ratio_is_refused_on_a_model_without_it(call: Callable[..., EditResult],
                                                                emulator: OpenRouterEmulator) -> None:
    with pytest.raises(UnsupportedFeatureError):
        call(model=GEMINI_3, aspect_ratio="4:1")
    call(model="google/gemini-3.1-flash-image", aspect_ratio="4:1", resolution="0.5K")
    assert emulator.last_chat().body["image_config"]["aspect_ratio"] == "4:1"


def test_a_resolution_tier_the_model_lacks_is_refused(call: Callable[..., EditResult],
                                                     emulator: OpenRouterEmulator) -> None:
    with pytest.raises(UnsupportedFeatureError, match="resolution"):
        call(model=GEMINI_3, resolution="0.5K")
    assert emulator.requests == []


def test_pixel_size_is_refused_with_the_matching_aspect_ratio(call: Callable[..., EditResult],
                                                              emulator: OpenRouterEmulator) -> None:
    with pytest.raises(UnsupportedFeatureError, match="16:9"):
        call(size="1344x768")
    assert emulator.requests == []


def test_image_only_model_asks_for_image_output_only(call: Callable[..., EditResult],
                                                     emulator: OpenRouterEmulator) -> None:
    call(model="black-forest-labs/flux.2-pro", seed=5)
    body = emulator.last_chat().body
    assert body["modalities"] == ["image"]
    assert "seed" not in body  # the curated entry does not claim seed support


def test_seed_is_sent_to_a_model_that_lists_it(host: Host, emulator: OpenRouterEmulator,
                                                sentinel_key: str) -> None:
    host.list_models("openrouter", refresh=True, api_key=sentinel_key, base_url=emulator.base_url)
    emulator.image_api_ids.remove("example/sketch-image-1")  # chat-only: modalities apply
    host.list_models("openrouter", refresh=True, api_key=sentinel_key, base_url=emulator.base_url)
    host.edit("openrouter", EditRequest(model="example/sketch-image-1", prompt="x", seed=11),
              api_key=sentinel_key, base_url=emulator.base_url)
    body = emulator.last_chat().body
    assert body["seed"] == 11 and body["modalities"] == ["image"]


def test_seed_on_a_model_without_seed_is_a_warning(call: Callable[..., EditResult],
                                                   emulator: OpenRouterEmulator) -> None:
    result = call(seed=3)
    assert "seed" not in emulator.last_chat().body
    assert any("seed" in w for w in result.warnings)


def test_attribution_headers_are_sent(call: Callable[..., EditResult], emulator: OpenRouterEmulator,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APIEDIT_OPENROUTER_APP_URL", "https://example.org/app")
    call()
    headers = emulator.last_chat().headers
    assert headers["http-referer"] == "https://example.org/app"
    assert headers["x-openrouter-title"] == headers["x-title"] == "ComfyUI API Image Edit (apiedit)"


def test_retired_model_is_refused_with_its_replacement(call: Callable[..., EditResult],
                                                       emulator: OpenRouterEmulator) -> None:
    with pytest.raises(UnsupportedFeatureError, match="google/gemini-nano-banana-2.1'"):
        call(model="google/gemini-2.5-flash-image-preview")
    assert emulator.requests == []


# ---- conversation ------------------------------------------------------------------------------


def turns(prompt: str, result: EditResult, model: str) -> tuple[Turn, Turn]:
    """What a conversation store keeps of one exchange."""
    return (Turn("user", prompt, provider="openrouter", model=model),
            Turn("assistant", result.text, result.images, provider="openrouter", model=model,
                 state=result.state))


def test_third_turn_carries_the_whole_history_verbatim(call: Callable[..., EditResult],
                                                       emulator: OpenRouterEmulator) -> None:
    first = call(model=GEMINI_3, prompt="draw a red car")
    history = turns("draw a red car", first, GEMINI_3)
    second = call(model=GEMINI_3, prompt="make it blue", history=history)
    history += turns("make it blue", second, GEMINI_3)
    third = call(model=GEMINI_3, prompt="add a sun", history=history)

    calls = emulator.chats
    messages = calls[2].messages
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant", "user"]
    assert messages[0]["content"] == "draw a red car"
    for index, answer, made in ((1, first, calls[0]), (3, second, calls[1])):
        assert messages[index]["reasoning_details"] == made.reasoning_details  # byte-identical
        assert [decode_data_url(i["image_url"]["url"]) for i in messages[index]["images"]] == [made.output]
        assert messages[index]["content"] == answer.text
    # turn 2's image is attached to the new request, so the model sees what it is to change
    assert message_images(messages[4]) == [calls[1].output]
    assert third.info["conversation"] == "native"
    assert third.state["reasoning_details"] == calls[2].reasoning_details


def test_conversation_state_holds_reasoning_details_for_gemini_3(call: Callable[..., EditResult],
                                                                 emulator: OpenRouterEmulator) -> None:
    result = call(model=GEMINI_3)
    assert result.state == {"reasoning_details": emulator.last_chat().reasoning_details}


def test_history_on_an_image_only_model_is_refused(call: Callable[..., EditResult], png: Any) -> None:
    history = (Turn("user", "a"), Turn("assistant", "", (png(RED),)))
    with pytest.raises(UnsupportedFeatureError, match="conversation"):
        call(model="black-forest-labs/flux.2-pro", history=history)


def test_supports_conversation_follows_the_model(host: Host) -> None:
    assert host.supports_conversation("openrouter", GEMINI_3) is True
    assert host.supports_conversation("openrouter", "black-forest-labs/flux.2-pro") is False


# ---- answers -----------------------------------------------------------------------------------


@pytest.mark.parametrize("style", ["null_content", "parts", "markdown_data", "markdown_https", "two_images"])
def test_other_answer_shapes_still_yield_images(call: Callable[..., EditResult], emulator: OpenRouterEmulator,
                                                style: str) -> None:
    emulator.style = style
    assert call().images


def test_text_only_answer_raises_no_image_with_the_text(call: Callable[..., EditResult],
                                                        emulator: OpenRouterEmulator) -> None:
    emulator.style = "text_only"
    with pytest.raises(NoImageReturnedError) as caught:
        call()
    assert "did not draw one" in caught.value.text
    assert caught.value.provider == "openrouter"


def test_missing_modalities_would_give_text_only(emulator: OpenRouterEmulator, sentinel_key: str) -> None:
    """The original project's bug: without `modalities` OpenRouter answers in text."""
    import requests

    answer = requests.post(f"{emulator.base_url}/api/v1/chat/completions", timeout=10,
                           headers={"Authorization": f"Bearer {sentinel_key}"},
                           json={"model": GEMINI, "messages": [{"role": "user", "content": "a cat"}]})
    assert "images" not in answer.json()["choices"][0]["message"]


def test_safety_finish_is_content_blocked(call: Callable[..., EditResult], emulator: OpenRouterEmulator) -> None:
    emulator.style = "content_filter"
    with pytest.raises(ContentBlockedError) as caught:
        call()
    assert caught.value.reason == "IMAGE_SAFETY"


def test_refusal_is_content_blocked(call: Callable[..., EditResult], emulator: OpenRouterEmulator) -> None:
    emulator.style = "refusal"
    with pytest.raises(ContentBlockedError):
        call()


def test_error_during_generation_is_raised_and_not_resent(call: Callable[..., EditResult],
                                                          emulator: OpenRouterEmulator) -> None:
    emulator.style = "error_chunk"
    with pytest.raises(ProviderUnavailableError):
        call()
    assert emulator.billable_count == 1


# ---- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "error"), [
    ("auth", AuthenticationError),
    ("quota", QuotaExceededError),
    ("blocked", ContentBlockedError),
])
def test_canned_errors_are_typed_and_sent_once(call: Callable[..., EditResult], emulator: OpenRouterEmulator,
                                               kind: str, error: type) -> None:
    emulator.inject(emulator.fault_for(kind, times=0))
    with pytest.raises(error):
        call()
    assert len(emulator.requests) == 1


def test_moderation_reasons_are_carried(call: Callable[..., EditResult], emulator: OpenRouterEmulator) -> None:
    emulator.inject(emulator.fault_for("blocked"))
    with pytest.raises(ContentBlockedError) as caught:
        call()
    assert caught.value.reason == "violence"
    assert "Google moderation" in str(caught.value)


def test_402_says_to_add_credit(call: Callable[..., EditResult], emulator: OpenRouterEmulator) -> None:
    emulator.inject(emulator.fault_for("quota"))
    with pytest.raises(QuotaExceededError, match="Add credit"):
        call()


def test_429_is_retried_after_retry_after(call: Callable[..., EditResult], emulator: OpenRouterEmulator) -> None:
    emulator.inject(emulator.fault_for("rate_limit"))
    assert call().images
    assert len(emulator.requests) == 2 and emulator.billable_count == 1


def test_persistent_429_is_a_rate_limit_error_with_retry_after(call: Callable[..., EditResult],
                                                               emulator: OpenRouterEmulator) -> None:
    emulator.inject(emulator.fault_for("rate_limit", times=0, headers={"Retry-After": "0"}))
    with pytest.raises(RateLimitError) as caught:
        call()
    assert caught.value.retry_after == 0
    assert len(emulator.requests) == 3  # the first try and core's two rate-limit retries


@pytest.mark.parametrize("kind", ["overloaded", "server_error"])
def test_503_and_502_are_resent_because_openrouter_did_not_bill_them(
    call: Callable[..., EditResult], emulator: OpenRouterEmulator, kind: str
) -> None:
    emulator.inject(emulator.fault_for(kind, retry_after=0))
    assert call().images
    assert len(emulator.requests) == 2 and emulator.billable_count == 1


def test_persistent_503_ends_in_provider_unavailable(call: Callable[..., EditResult],
                                                     emulator: OpenRouterEmulator) -> None:
    emulator.inject(emulator.fault_for("overloaded", times=0, headers={"Retry-After": "0"}))
    with pytest.raises(ProviderUnavailableError):
        call()
    assert emulator.billable_count == 0


def test_dropped_connection_after_sending_is_not_resent(call: Callable[..., EditResult],
                                                        emulator: OpenRouterEmulator) -> None:
    emulator.inject(Fault(method="POST", drop="after_body"))
    with pytest.raises(ProviderUnavailableError, match="may have been billed"):
        call()
    assert emulator.billable_count == 1 and len(emulator.requests) == 1


def test_unlisted_model_unknown_to_openrouter_is_unknown_model(host: Host, emulator: OpenRouterEmulator,
                                                               sentinel_key: str) -> None:
    with pytest.raises(UnknownModelError):
        host.edit("openrouter", EditRequest(model="nobody/nothing", prompt="x"), api_key=sentinel_key,
                  base_url=emulator.base_url, allow_unlisted=True)


def test_a_made_up_id_is_sent_once_and_is_unknown_model_with_suggestions(
    host: Host, emulator: OpenRouterEmulator, sentinel_key: str
) -> None:
    with pytest.raises(UnknownModelError, match="Did you mean 'google/gemini-nano-banana-2.1'") as caught:
        host.edit("openrouter", EditRequest(model="google/gemini-nano-banana-2.0", prompt="x"),
                  api_key=sentinel_key, base_url=emulator.base_url)
    assert caught.value.suggestions[0] == "google/gemini-nano-banana-2.1"
    assert emulator.billable_count == 1


# ---- the Image API (POST /images) ------------------------------------------------------------


def refresh(host: Host, emulator: OpenRouterEmulator, key: str) -> dict[str, Any]:
    models = host.list_models("openrouter", refresh=True, api_key=key, base_url=emulator.base_url)
    return {m.id: m for m in models}


def test_models_the_image_api_serves_are_marked_from_its_own_list(
    host: Host, emulator: OpenRouterEmulator, sentinel_key: str
) -> None:
    models = refresh(host, emulator, sentinel_key)
    assert models[GEMINI].extra["image_api"] and models[GEMINI].available is True
    assert not models["openai/gpt-5-image"].extra.get("image_api")
    assert emulator.requests_to(r"/images/models$", "GET")


def test_a_one_shot_edit_goes_to_the_image_api_in_one_call(
    host: Host, emulator: OpenRouterEmulator, sentinel_key: str, png: Any
) -> None:
    refresh(host, emulator, sentinel_key)
    result = host.edit("openrouter", EditRequest(
        model=GEMINI, prompt="combine", images=(png(RED), png(BLUE)), n=3,
        aspect_ratio="4:1", resolution="0.5K", quality="high", seed=5,
    ), api_key=sentinel_key, base_url=emulator.base_url)
    (body,) = emulator.image_calls
    assert body["n"] == 3 and body["resolution"] == "512" and body["aspect_ratio"] == "4:1"
    assert body["quality"] == "high" and body["seed"] == 5
    assert [r["type"] for r in body["input_references"]] == ["image_url", "image_url"]
    assert len(result.images) == 3 and result.info["endpoint"] == "images"
    assert emulator.chats == [] and emulator.billable_count == 1


def test_a_conversation_and_chat_only_models_stay_on_chat_completions(
    host: Host, emulator: OpenRouterEmulator, sentinel_key: str
) -> None:
    refresh(host, emulator, sentinel_key)
    history = (Turn("user", "a cat"), Turn("assistant", "here it is"))
    host.edit("openrouter", EditRequest(model=GEMINI, prompt="now a hat", history=history),
              api_key=sentinel_key, base_url=emulator.base_url)
    host.edit("openrouter", EditRequest(model="openai/gpt-5-image", prompt="x"),
              api_key=sentinel_key, base_url=emulator.base_url)
    assert len(emulator.chats) == 2 and emulator.image_calls == []


def test_a_relay_without_the_image_api_is_served_by_chat(
    host: Host, emulator: OpenRouterEmulator, sentinel_key: str
) -> None:
    emulator.serve_image_api = False
    models = refresh(host, emulator, sentinel_key)
    assert not models[GEMINI].extra["image_api"]
    assert host.edit("openrouter", EditRequest(model=GEMINI, prompt="x"), api_key=sentinel_key,
                     base_url=emulator.base_url).images
    assert len(emulator.chats) == 1


def test_a_model_only_the_live_list_knows_is_used_without_any_flag(
    host: Host, emulator: OpenRouterEmulator, sentinel_key: str
) -> None:
    emulator.models = [*emulator.models, _entry("google/gemini-nano-banana-2.2", "Nano Banana 2.2",
                                                ["image", "text"], ["image", "text"])]
    emulator.image_api_ids.append("google/gemini-nano-banana-2.2")
    models = refresh(host, emulator, sentinel_key)
    new = models["google/gemini-nano-banana-2.2"]
    assert new.verified and new.max_input_images == 14  # the family's limits
    assert host.default_model("openrouter", base_url=emulator.base_url).id == new.id
    result = host.edit("openrouter", EditRequest(model=new.id, prompt="x"), api_key=sentinel_key,
                       base_url=emulator.base_url)
    assert result.images and emulator.image_calls[-1]["model"] == new.id


def test_the_default_is_never_an_unconfirmed_slug_or_a_shut_down_model(
    host: Host, emulator: OpenRouterEmulator, sentinel_key: str
) -> None:
    assert host.default_model("openrouter").id == "openai/gpt-5-image"  # no live list yet
    refresh(host, emulator, sentinel_key)
    assert host.default_model("openrouter", base_url=emulator.base_url).id == GEMINI


def test_key_never_appears_in_errors_or_logs(call: Callable[..., EditResult], emulator: OpenRouterEmulator,
                                             sentinel_key: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for kind in ("auth", "quota", "blocked", "rate_limit", "overloaded", "server_error", "bad_request"):
        emulator.inject(emulator.fault_for(kind, times=0, headers={"Retry-After": "0"}))
        with pytest.raises(Exception) as caught:
            call()
        assert sentinel_key not in str(caught.value) and sentinel_key not in repr(caught.value)
        emulator.clear_faults()
    assert sentinel_key not in caplog.text
    assert emulator.requests[0].headers["authorization"] == f"Bearer {sentinel_key}"


# ---- model list --------------------------------------------------------------------------------


def test_model_list_asks_for_image_output_models(host: Host, emulator: OpenRouterEmulator,
                                                 sentinel_key: str) -> None:
    models = host.list_models("openrouter", refresh=True, api_key=sentinel_key, base_url=emulator.base_url)
    (request,) = [r for r in emulator.requests_to(r"/models$") if "/images/" not in r.path]
    assert request.query["output_modalities"] == ["image"]
    ids = [m.id for m in models]
    assert "example/sketch-image-1" in ids and "openai/gpt-4o" not in ids
    assert ids.index(GEMINI) < ids.index("example/sketch-image-1")  # curated first


def test_live_model_capabilities_follow_its_modalities(host: Host, emulator: OpenRouterEmulator,
                                                       sentinel_key: str) -> None:
    models = {m.id: m for m in host.list_models("openrouter", refresh=True, api_key=sentinel_key,
                                                base_url=emulator.base_url)}
    sketch = models["example/sketch-image-1"]
    assert sketch.supports(Capability.GENERATE) and not sketch.supports(Capability.EDIT)
    assert sketch.supports(Capability.SEED) and not sketch.supports(Capability.CONVERSATION)
    assert sketch.extra["output_modalities"] == ["image"]
    assert host.supports_conversation("openrouter", "example/sketch-image-1") is False


def test_expired_model_is_flagged_retired(host: Host, emulator: OpenRouterEmulator, sentinel_key: str) -> None:
    models = {m.id: m for m in host.list_models("openrouter", refresh=True, api_key=sentinel_key,
                                                base_url=emulator.base_url)}
    preview = models["google/gemini-2.5-flash-image-preview"]
    assert preview.retired and preview.available is False  # expired: gone from the live list
    assert not models[GEMINI].retired
    # past its expiration date a model leaves the live list: the table shows it unavailable
    shut = models["google/gemini-3-pro-image-preview"]
    assert shut.retired and shut.available is False


def test_model_list_is_cached_and_read_offline(host: Host, emulator: OpenRouterEmulator,
                                               sentinel_key: str) -> None:
    host.list_models("openrouter", refresh=True, api_key=sentinel_key, base_url=emulator.base_url)
    emulator.reset()
    ids = [m.id for m in host.list_models("openrouter", base_url=emulator.base_url)]
    assert "example/sketch-image-1" in ids and emulator.requests == []


def test_a_failed_refresh_raises_and_marks_the_list_stale(host: Host, emulator: OpenRouterEmulator,
                                                          sentinel_key: str) -> None:
    emulator.inject(Fault(path="/models", status=500, times=0))
    with pytest.raises(ApiEditError, match="Could not refresh the OpenRouter model list"):
        host.list_models("openrouter", refresh=True, api_key=sentinel_key, base_url=emulator.base_url)
    assert host.list_status("openrouter", base_url=emulator.base_url).stale


def test_a_refresh_with_a_rejected_key_is_an_authentication_error(
    host: Host, emulator: OpenRouterEmulator, sentinel_key: str
) -> None:
    emulator.inject(Fault(path="/models", status=401, times=0))
    with pytest.raises(AuthenticationError):
        host.list_models("openrouter", refresh=True, api_key=sentinel_key, base_url=emulator.base_url)


def test_curated_table_is_truthful_about_inputs(host: Host) -> None:
    models = {m.id: m for m in host.list_models("openrouter")}
    assert models[GEMINI_3].max_input_images == 14
    assert models[GEMINI_3].resolutions == ("1K", "2K", "4K")
    assert "0.5K" in models["google/gemini-3.1-flash-image"].resolutions
    assert not models["google/gemini-2.5-flash-image"].resolutions
    assert all(m.max_n >= 2 for m in models.values() if not m.retired)
    assert all(isinstance(m, type(models[GEMINI])) for m in models.values())


def test_edit_without_images_on_an_edit_model_still_works(call: Callable[..., EditResult]) -> None:
    assert isinstance(call(model="openai/gpt-5-image").images[0], ImageData)
