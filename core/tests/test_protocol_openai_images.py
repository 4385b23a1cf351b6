"""The OpenAI Images protocol module, over real HTTP against a small loopback Images API."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import pytest
from apiedit.errors import (
    AuthenticationError,
    ContentBlockedError,
    InvalidInputError,
    MissingKeyError,
    NoImageReturnedError,
    ProviderError,
    ProviderUnavailableError,
    QuotaExceededError,
    RateLimitError,
    UnknownModelError,
)
from apiedit.images import parse_data_url
from apiedit.protocols import openai_images as api
from apiedit.settings import ProviderSettings
from apiedit.testing.emulator import Emulator, Fault, RecordedRequest, Response
from apiedit.types import ImageData
from PIL import Image

KEY = "sk-SENTINEL-DO-NOT-LEAK-0123456789"


def _png(colour=(200, 30, 30), size=(8, 6)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    return buf.getvalue()


class ImagesApi(Emulator):
    """Just enough of an Images API: answers with `self.answer`, b64 or URL items."""

    def __init__(self) -> None:
        super().__init__()
        self.answer: dict | None = None

    def setup_routes(self) -> None:
        self.route("POST", r"/images/(generations|edits)", self.images, billable=True)

    def images(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        body = self.answer or {"created": 1, "data": [{"b64_json": base64.b64encode(_png()).decode()}]}
        return Response.json(body, headers={"x-request-id": "req_toy"})


@pytest.fixture
def toy(emulator_factory) -> ImagesApi:
    return emulator_factory(ImagesApi)


@pytest.fixture
def settings(toy: ImagesApi, tmp_path: Path) -> ProviderSettings:
    return ProviderSettings(provider="acme", label="Acme", base_url=toy.base_url, api_key=KEY,
                            cache_dir=tmp_path)


def _error(status: int, code: str | None, message: str = "boom", kind: str = "invalid_request_error",
           headers: dict | None = None, times: int = 0, **extra) -> Fault:
    body = {"error": {"message": message, "type": kind, "param": None, "code": code, **extra}}
    return Fault(status=status, body=body, headers={"x-request-id": "req_err", **(headers or {})},
                 times=times)


def _generate(settings: ProviderSettings) -> api.ImagesAnswer:
    return api.post_generation(settings, api.generation_body(model="m", prompt="p"))


# ---- request building --------------------------------------------------------------------------


def test_generation_body_omits_defaults_and_keeps_model_and_prompt():
    body = api.generation_body(model="m", prompt="p", n=1, options={"model": "x", "background": "auto",
                                                                     "user": None})
    assert body == {"model": "m", "prompt": "p", "background": "auto"}


def test_edit_form_sends_one_image_as_image():
    fields, files = api.edit_form(model="m", prompt="p", images=[ImageData(_png())], n=2,
                                  options={"stream": False})
    assert fields == [("model", "m"), ("prompt", "p"), ("n", "2"), ("stream", "false")]
    assert [(name, f[0], f[2]) for name, f in files] == [("image", "image-1.png", "image/png")]


def test_edit_form_sends_several_images_as_image_brackets_in_order_then_the_mask():
    images = [ImageData(_png((i, 0, 0))) for i in range(3)]
    _, files = api.edit_form(model="m", prompt="p", images=images, mask=ImageData(_png()))
    assert [name for name, _ in files] == ["image[]", "image[]", "image[]", "mask"]
    assert [f[1] for _, f in files[:3]] == [i.data for i in images]


def test_edit_json_body_inlines_images_as_data_urls():
    body = api.edit_json_body(model="m", prompt="p", images=[ImageData(_png())], mask=ImageData(_png()))
    assert parse_data_url(body["images"][0]["image_url"]).data == _png()
    assert body["mask"]["image_url"].startswith("data:image/png;base64,")


# ---- answers -----------------------------------------------------------------------------------


def test_b64_answer_is_decoded_with_usage_info_and_request_id(toy, settings):
    toy.answer = {"created": 5, "output_format": "png", "size": "1024x1024",
                  "data": [{"b64_json": base64.b64encode(_png()).decode()}],
                  "usage": {"total_tokens": 9}}
    answer = _generate(settings)
    assert answer.images == (ImageData(_png(), "image/png"),)
    assert answer.usage == {"total_tokens": 9} and answer.request_id == "req_toy"
    assert answer.info == {"created": 5, "output_format": "png", "size": "1024x1024"}
    assert "base64 chars" in answer.raw["data"][0]["b64_json"]
    (sent,) = toy.requests
    assert sent.headers["authorization"] == f"Bearer {KEY}" and sent.json() == {"model": "m", "prompt": "p"}


def test_url_answer_is_downloaded_and_revised_prompt_becomes_text(toy, settings):
    url = toy.serve_bytes(_png((1, 2, 3)), "image/png")
    toy.answer = {"created": 1, "data": [{"url": url, "revised_prompt": "A fox, detailed"}]}
    answer = _generate(settings)
    assert answer.images[0].data == _png((1, 2, 3)) and answer.text == "A fox, detailed"


def test_multipart_edit_is_sent_and_parsed(toy, settings):
    fields, files = api.edit_form(model="m", prompt="p", images=[ImageData(_png()), ImageData(_png())])
    answer = api.post_edit(settings, fields, files)
    assert answer.images
    parts = toy.requests[0].form()
    assert [p[0] for p in parts] == ["model", "prompt", "image[]", "image[]"]


def test_answer_without_images_is_no_image_returned(toy, settings):
    toy.answer = {"created": 1, "data": []}
    with pytest.raises(NoImageReturnedError) as caught:
        _generate(settings)
    assert caught.value.request_id == "req_toy"


def test_non_json_answer_is_a_provider_error(toy, settings):
    toy.inject(Fault(status=200, body="<html>proxy login</html>"))
    with pytest.raises(ProviderError, match="not JSON"):
        _generate(settings)


def test_missing_key_is_refused_before_sending(toy, settings):
    import attrs

    with pytest.raises(MissingKeyError):
        _generate(attrs.evolve(settings, api_key=None))
    assert toy.requests == []


# ---- errors ------------------------------------------------------------------------------------


def test_moderation_blocked_is_content_blocked_with_reason_and_details(toy, settings):
    details = {"moderation_stage": "output", "categories": ["violence"]}
    toy.inject(_error(400, "moderation_blocked", "rejected by the safety system",
                      kind="image_generation_user_error", moderation_details=details))
    with pytest.raises(ContentBlockedError) as caught:
        _generate(settings)
    err = caught.value
    assert err.reason == "moderation_blocked" and err.details == details
    assert err.request_id == "req_err" and err.provider == "acme"
    assert "stage output; categories violence" in str(err) and "Rephrase" in str(err)
    assert len(toy.requests) == 1


def test_content_policy_violation_is_content_blocked(toy, settings):
    toy.inject(_error(400, "content_policy_violation"))
    with pytest.raises(ContentBlockedError) as caught:
        _generate(settings)
    assert caught.value.reason == "content_policy_violation"


def test_insufficient_quota_is_a_quota_error_and_never_retried(toy, settings):
    toy.inject(_error(429, "insufficient_quota", kind="insufficient_quota",
                      headers={"Retry-After": "0"}))
    with pytest.raises(QuotaExceededError):
        _generate(settings)
    assert len(toy.requests) == 1


def test_rate_limit_reads_retry_after_ms(toy, settings):
    toy.inject(_error(429, "rate_limit_exceeded", kind="requests", headers={"retry-after-ms": "20"}))
    with pytest.raises(RateLimitError) as caught:
        _generate(settings)
    assert caught.value.retry_after == pytest.approx(0.02) and caught.value.code == "rate_limit_exceeded"
    assert len(toy.requests) == 3  # core retries a 429 twice


def test_rate_limit_falls_back_to_the_reset_header(toy, settings):
    toy.inject(_error(429, "rate_limit_exceeded", headers={"x-ratelimit-reset-requests": "1m30s"}))
    with pytest.raises(RateLimitError) as caught:
        _generate(settings)
    assert caught.value.retry_after == 90


def test_invalid_key_is_authentication_error_without_the_echoed_key(toy, settings):
    toy.inject(_error(401, "invalid_api_key", "Incorrect API key provided: sk-SENT*******6789. "
                      "You can find your API key at https://platform.openai.com/account/api-keys."))
    with pytest.raises(AuthenticationError) as caught:
        _generate(settings)
    assert "sk-SENT" not in str(caught.value) and "6789" not in str(caught.value)
    assert "(key hidden)" in str(caught.value)


def test_organization_verification_is_explained(toy, settings):
    toy.inject(_error(403, None, "Your organization must be verified to use the model"))
    with pytest.raises(AuthenticationError, match="organization verification"):
        _generate(settings)


def test_model_not_found_is_unknown_model(toy, settings):
    toy.inject(_error(404, "model_not_found", "The model `x` does not exist"))
    with pytest.raises(UnknownModelError):
        _generate(settings)


def test_invalid_request_is_invalid_input(toy, settings):
    toy.inject(_error(400, "invalid_value", "Invalid value: '9x9'."))
    with pytest.raises(InvalidInputError, match="Invalid value: '9x9'"):
        _generate(settings)


def test_server_error_is_unavailable_and_not_resent(toy, settings):
    toy.inject(_error(500, None, "server had an error", kind="server_error"))
    with pytest.raises(ProviderUnavailableError):
        _generate(settings)
    assert len(toy.requests) == 1


def test_x_should_retry_false_is_respected(toy, settings):
    toy.inject(_error(503, None, "overloaded", kind="server_error", headers={"x-should-retry": "false"}))
    with pytest.raises(ProviderUnavailableError) as caught:
        _generate(settings)
    assert caught.value.retryable is False and len(toy.requests) == 1
