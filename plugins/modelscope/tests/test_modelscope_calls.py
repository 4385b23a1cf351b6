"""Generating and editing through the ModelScope emulator over real HTTP: what goes on the wire."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from apiedit import (
    Capability,
    EditResult,
    ImageData,
    InvalidInputError,
    MissingKeyError,
    UnsupportedFeatureError,
)
from apiedit.host import Host
from apiedit.images import image_size, parse_data_url
from apiedit.testing.conformance import sample_png
from apiedit_modelscope.emulator import ModelScopeEmulator

Call = Callable[..., EditResult]
RED, GREEN, BLUE = (sample_png(c) for c in ((200, 30, 30), (30, 200, 30), (30, 30, 200)))


def decoded(url: str) -> bytes:
    return parse_data_url(url).data


def test_text_to_image_submits_once_and_returns_the_served_image(call: Call, emu: ModelScopeEmulator) -> None:
    result = call(model="Qwen/Qwen-Image")
    (task,) = emu.tasks
    assert task.body == {"model": "Qwen/Qwen-Image", "prompt": "a red fox in the snow"}
    assert image_size(result.images[0].data) == emu.output_size
    assert result.images[0].mime_type == "image/png"
    assert emu.billable_count == 1
    assert result.info["task_ids"] == [task.task_id]
    assert result.request_id == task.request_id


def test_submit_sends_the_async_header_and_bearer_key(call: Call, emu: ModelScopeEmulator, sentinel_key: str) -> None:
    call(model="Qwen/Qwen-Image")
    (submit,) = emu.requests_to(r"^/v1/images/generations$", "POST")
    assert submit.headers["x-modelscope-async-mode"] == "true"
    assert submit.headers["authorization"] == f"Bearer {sentinel_key}"
    assert submit.headers["content-type"] == "application/json"


def test_polls_send_the_task_type_header(call: Call, emu: ModelScopeEmulator) -> None:
    call(model="Qwen/Qwen-Image")
    polls = emu.requests_to(r"^/v1/tasks/", "GET")
    assert polls and all(p.headers["x-modelscope-task-type"] == "image_generation" for p in polls)


def test_knobs_are_sent_under_their_wire_names(call: Call, emu: ModelScopeEmulator) -> None:
    call(model="Qwen/Qwen-Image", negative_prompt="blurry", size="1024x768", seed=42, steps=30, guidance=4.5)
    assert emu.tasks[0].body == {
        "model": "Qwen/Qwen-Image", "prompt": "a red fox in the snow", "negative_prompt": "blurry",
        "size": "1024x768", "seed": 42, "steps": 30, "guidance": 4.5,
    }


def test_the_output_has_the_requested_size(call: Call) -> None:
    result = call(model="Qwen/Qwen-Image", size="320x200")
    assert image_size(result.images[0].data) == (320, 200)


def test_aspect_ratio_becomes_the_models_native_size(call: Call, emu: ModelScopeEmulator) -> None:
    result = call(model="Qwen/Qwen-Image", aspect_ratio="16:9")
    assert emu.tasks[0].body["size"] == "1664x928"
    assert result.info["size"] == "1664x928"


def test_size_wins_over_aspect_ratio_with_a_warning(call: Call, emu: ModelScopeEmulator) -> None:
    result = call(model="Qwen/Qwen-Image", aspect_ratio="16:9", size="512x512")
    assert emu.tasks[0].body["size"] == "512x512"
    assert any("aspect ratio 16:9 was not sent" in w for w in result.warnings)


def test_auto_size_is_not_sent(call: Call, emu: ModelScopeEmulator) -> None:
    call(model="Qwen/Qwen-Image", size="auto")
    assert "size" not in emu.tasks[0].body


def test_size_beyond_the_models_limit_is_refused_before_sending(call: Call, emu: ModelScopeEmulator) -> None:
    with pytest.raises(UnsupportedFeatureError, match="1664x1664"):
        call(model="Qwen/Qwen-Image", size="2048x2048")
    assert emu.billable_count == 0


@pytest.mark.parametrize(
    "fields",
    [{"seed": 2**31}, {"steps": 0}, {"steps": 101}, {"guidance": 1.0}, {"guidance": 25.0},
     {"prompt": "x" * 2000}, {"negative_prompt": "y" * 2000}],
)
def test_out_of_range_parameters_are_refused_before_sending(call: Call, emu: ModelScopeEmulator, fields: dict[str, Any]) -> None:
    with pytest.raises(InvalidInputError):
        call(model="Qwen/Qwen-Image", **fields)
    assert emu.requests_to(r"^/v1/") == []


def test_edit_sends_one_image_as_a_data_url_string(call: Call, emu: ModelScopeEmulator) -> None:
    result = call(model="Qwen/Qwen-Image-Edit", prompt="make it blue", images=(ImageData(RED),))
    (task,) = emu.tasks
    assert isinstance(task.body["image_url"], str) and not task.image_url_was_list
    assert decoded(task.body["image_url"]) == RED
    assert result.info["inputs"] == ["data_url"]


def test_multi_image_edit_sends_a_list_in_order_and_says_it_is_unverified(
    call: Call, emu: ModelScopeEmulator
) -> None:
    emu.accept_image_url_list = True
    images = tuple(ImageData(b) for b in (RED, GREEN, BLUE))
    result = call(model="Qwen/Qwen-Image-Edit-2509", prompt="put them together", images=images)
    assert any("unverified" in w for w in result.warnings)
    (task,) = emu.tasks
    assert task.image_url_was_list
    assert [decoded(u) for u in task.image_urls] == [RED, GREEN, BLUE]
    assert emu.billable_count == 1


def test_one_image_goes_as_one_string_even_to_a_multi_image_model(call: Call, emu: ModelScopeEmulator) -> None:
    result = call(model="Qwen/Qwen-Image-Edit-2511", images=(ImageData(GREEN),))
    assert emu.tasks[0].body["image_url"] == emu.tasks[0].image_urls[0]
    assert not any("unverified" in w for w in result.warnings)


def test_the_emulator_takes_one_image_url_string_unless_switched(call: Call, emu: ModelScopeEmulator) -> None:
    with pytest.raises(InvalidInputError, match="image_url must be a URL string"):
        call(model="Qwen/Qwen-Image-Edit-2509", images=(ImageData(RED), ImageData(GREEN)))


def test_large_inputs_are_downscaled_to_the_upload_budget(call: Call, emu: ModelScopeEmulator) -> None:
    big = sample_png((10, 20, 30), (2000, 2000))
    call(model="Qwen/Qwen-Image-Edit", images=(ImageData(big),))
    width, height = image_size(decoded(emu.tasks[0].image_urls[0]))
    assert width * height <= 1328 * 1328 and width == height


def test_a_fourth_image_is_refused_before_sending(call: Call, emu: ModelScopeEmulator) -> None:
    with pytest.raises(UnsupportedFeatureError, match="at most 3"):
        call(model="Qwen/Qwen-Image-Edit-2509", images=tuple(ImageData(RED) for _ in range(4)))
    assert emu.billable_count == 0


def test_conversation_feeds_the_last_output_back_by_its_url(call: Call, emu: ModelScopeEmulator) -> None:
    emu.accept_image_url_list = True
    first = call(model="Qwen/Qwen-Image", prompt="a cat on a sofa")
    second = call(model="Qwen/Qwen-Image-Edit", prompt="make the sofa green", images=first.images)
    third = call(model="Qwen/Qwen-Image-Edit-2509", prompt="add this hat", images=(second.images[0], ImageData(BLUE)))
    assert emu.tasks[1].image_urls == emu.tasks[0].output_urls
    assert second.info["inputs"] == ["previous_output"]
    assert emu.tasks[2].image_urls[0] == emu.tasks[1].output_urls[0]
    assert decoded(emu.tasks[2].image_urls[1]) == BLUE
    assert third.info["inputs"] == ["previous_output", "data_url"]
    assert first.state["output_urls"] == emu.tasks[0].output_urls


def test_conversation_without_a_known_url_uploads_the_last_image(call: Call, emu: ModelScopeEmulator) -> None:
    from apiedit_modelscope import client

    first = call(model="Qwen/Qwen-Image")
    client.forget_urls()  # e.g. a new process
    call(model="Qwen/Qwen-Image-Edit", images=first.images)
    assert decoded(emu.tasks[1].image_urls[0]) == first.images[0].data


def test_conversation_is_by_last_image_not_native(host: Host) -> None:
    assert host.get_provider("modelscope").conversation.value == "last_image"
    assert host.supports_conversation("modelscope", "Qwen/Qwen-Image-Edit-2509") is False


def test_history_is_refused_since_models_keep_no_conversation(call: Call, emu: ModelScopeEmulator) -> None:
    from apiedit import Turn

    with pytest.raises(UnsupportedFeatureError, match="feeding the last image back"):
        call(model="Qwen/Qwen-Image-Edit", images=(ImageData(RED),), history=(Turn("user", "hi"),))
    assert emu.requests == []


def test_n_images_are_separate_tasks_with_consecutive_seeds(call: Call, emu: ModelScopeEmulator) -> None:
    result = call(model="Qwen/Qwen-Image", n=3, seed=7)
    assert len(result.images) == 3 and emu.billable_count == 3
    assert [t.body["seed"] for t in emu.tasks] == [7, 8, 9]
    assert all("n" not in t.body for t in emu.tasks)
    assert len({i.data for i in result.images}) == 3
    assert result.info["seeds"] == [7, 8, 9] and result.usage == {"images": 3, "tasks": 3}


def test_without_a_seed_n_tasks_send_none(call: Call, emu: ModelScopeEmulator) -> None:
    call(model="Qwen/Qwen-Image", n=2)
    assert all("seed" not in t.body for t in emu.tasks)


def test_rate_limit_headers_are_surfaced_in_the_result(call: Call) -> None:
    result = call(model="Qwen/Qwen-Image")
    assert result.info["rate_limit"] == {
        "requests_limit": 2000, "requests_remaining": 1999,
        "model_requests_limit": 500, "model_requests_remaining": 499,
    }


def test_a_base_url_ending_in_v1_is_not_doubled(call: Call, emu: ModelScopeEmulator) -> None:
    call(model="Qwen/Qwen-Image", base_url=emu.base_url + "/v1")
    assert emu.requests[0].path == "/v1/images/generations"


def test_missing_key_is_refused_without_a_request(host: Host, emu: ModelScopeEmulator) -> None:
    from apiedit import EditRequest

    with pytest.raises(MissingKeyError, match="MODELSCOPE_API_KEY"):
        host.edit("modelscope", EditRequest(model="Qwen/Qwen-Image", prompt="x"), base_url=emu.base_url)
    assert emu.requests == []


def test_the_sdk_token_variable_is_accepted_as_the_key(host: Host, emu: ModelScopeEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    from apiedit import EditRequest

    monkeypatch.setenv("MODELSCOPE_SDK_TOKEN", "ms-test-token-not-real")
    emu.polls_until_done = 0
    host.edit("modelscope", EditRequest(model="Qwen/Qwen-Image", prompt="x"), base_url=emu.base_url)
    assert emu.requests[0].headers["authorization"] == "Bearer ms-test-token-not-real"


# ---- models ----------------------------------------------------------------------------------


def test_curated_models_declare_their_input_caps(host: Host, emu: ModelScopeEmulator) -> None:
    models = {m.id: m for m in host.list_models("modelscope", base_url=emu.base_url)}
    assert models["Qwen/Qwen-Image"].max_input_images == 0
    assert Capability.GENERATE in models["Qwen/Qwen-Image"].capabilities
    assert models["Qwen/Qwen-Image-Edit"].max_input_images == 1
    assert Capability.GENERATE not in models["Qwen/Qwen-Image-Edit"].capabilities
    for later in ("Qwen/Qwen-Image-Edit-2509", "Qwen/Qwen-Image-Edit-2511"):
        assert models[later].max_input_images == 3 and Capability.MULTI_IMAGE in models[later].capabilities
        assert models[later].extra["accepts_data_urls"] is True
    assert emu.requests == []


def test_refresh_adds_live_image_models_and_skips_chat_models(host: Host, emu: ModelScopeEmulator, sentinel_key: str) -> None:
    models = {m.id: m for m in host.list_models("modelscope", refresh=True, base_url=emu.base_url, api_key=sentinel_key)}
    assert "black-forest-labs/FLUX.1-Kontext-dev" in models
    kontext = models["black-forest-labs/FLUX.1-Kontext-dev"]
    assert Capability.EDIT in kontext.capabilities and kontext.extra["inferred"] is True
    assert not any(name in models for name in ModelScopeEmulator.chat_models)
    assert models["Qwen/Qwen-Image-Edit-2509"].max_input_images == 3  # the table wins
    assert emu.requests_to(r"^/v1/models$")[0].headers["authorization"] == f"Bearer {sentinel_key}"


def test_refresh_without_a_key_raises_before_any_request(host: Host, emu: ModelScopeEmulator) -> None:
    with pytest.raises(MissingKeyError, match="Could not refresh"):
        host.list_models("modelscope", refresh=True, base_url=emu.base_url)
    assert emu.requests == []


def test_the_default_is_qwen_image_until_the_live_list_confirms_a_newer_release(
    host: Host, emu: ModelScopeEmulator, sentinel_key: str
) -> None:
    assert host.default_model("modelscope").id == "Qwen/Qwen-Image"
    host.list_models("modelscope", refresh=True, base_url=emu.base_url, api_key=sentinel_key)
    assert host.default_model("modelscope", base_url=emu.base_url).id == "Qwen/Qwen-Image-2512"


def test_a_model_only_the_live_list_knows_is_listed_and_used_without_any_flag(
    host: Host, emu: ModelScopeEmulator, call: Call, sentinel_key: str
) -> None:
    emu.image_models["Tongyi-MAI/Z-Image-Ultra"] = 0
    models = {m.id: m for m in host.list_models("modelscope", refresh=True, base_url=emu.base_url,
                                                   api_key=sentinel_key)}
    assert models["Tongyi-MAI/Z-Image-Ultra"].available is True
    assert not models["Tongyi-MAI/Z-Image-Ultra"].verified
    assert call(model="Tongyi-MAI/Z-Image-Ultra").images
    assert emu.tasks[-1].model == "Tongyi-MAI/Z-Image-Ultra"


def test_a_later_qwen_edit_release_is_treated_as_multi_image(call: Call, emu: ModelScopeEmulator) -> None:
    emu.image_models["Qwen/Qwen-Image-Edit-2603"] = 3  # a release newer than the table
    emu.accept_image_url_list = True
    call(model="Qwen/Qwen-Image-Edit-2603", images=(ImageData(RED), ImageData(GREEN)))
    assert emu.tasks[0].image_url_was_list and len(emu.tasks[0].image_urls) == 2


def test_a_model_without_data_url_support_needs_public_urls(
    host: Host, emu: ModelScopeEmulator, call: Call, sentinel_key: str
) -> None:
    host.list_models("modelscope", refresh=True, base_url=emu.base_url, api_key=sentinel_key)
    with pytest.raises(UnsupportedFeatureError, match="public URLs"):
        call(model="black-forest-labs/FLUX.1-Kontext-dev", images=(ImageData(RED),))
    assert emu.billable_count == 0
    url = "https://example.invalid/input.png"
    call(model="black-forest-labs/FLUX.1-Kontext-dev", images=(ImageData(RED),), extra={"image_urls": [url]})
    assert emu.tasks[0].body["image_url"] == url


def test_image_urls_in_extra_must_be_http(call: Call, emu: ModelScopeEmulator) -> None:
    with pytest.raises(InvalidInputError, match="image_urls"):
        call(model="Qwen/Qwen-Image-Edit", images=(ImageData(RED),), extra={"image_urls": ["file:///etc/passwd"]})
    assert emu.requests == []
