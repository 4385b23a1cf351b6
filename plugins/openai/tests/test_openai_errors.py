"""Every OpenAI error answer ends in the right typed error, with its reason and request id."""

from __future__ import annotations

import pytest
from apiedit.errors import (
    AuthenticationError,
    ContentBlockedError,
    InvalidInputError,
    NoImageReturnedError,
    ProviderUnavailableError,
    QuotaExceededError,
    RateLimitError,
    UnknownModelError,
)
from apiedit.testing.emulator import Fault


def test_moderation_blocked_is_content_blocked_with_reason_and_details(call, emulator):
    with pytest.raises(ContentBlockedError) as caught:
        call(prompt="emulate:blocked")
    err = caught.value
    assert err.reason == "moderation_blocked" and err.status == 400
    assert err.details == {"moderation_stage": "input", "categories": ["violence"]}
    assert err.request_id and err.request_id.startswith("req_")
    assert "OpenAI refused the request (moderation_blocked; stage input; categories violence)" in str(err)
    assert "Rephrase the prompt" in str(err)
    assert "safety system" in err.text
    assert len(emulator.requests_to("/images/")) == 1  # never retried


def test_output_stage_block_names_the_stage(call):
    with pytest.raises(ContentBlockedError, match="stage output; categories sexual"):
        call(prompt="emulate:output_blocked")


def test_dall_e_era_content_policy_violation_is_content_blocked(call):
    with pytest.raises(ContentBlockedError) as caught:
        call(prompt="emulate:content_policy")
    assert caught.value.reason == "content_policy_violation"


def test_insufficient_quota_is_a_quota_error_and_never_retried(call, emulator):
    emulator.inject(emulator.fault_for("quota", times=0))
    with pytest.raises(QuotaExceededError, match="out of quota") as caught:
        call()
    assert caught.value.code == "insufficient_quota" and caught.value.status == 429
    assert len(emulator.requests_to("/images/")) == 1


def test_rate_limit_is_retried_after_retry_after_then_succeeds(call, emulator):
    emulator.inject(emulator.fault_for("rate_limit", headers={"Retry-After": "0"}))
    result = call()
    assert result.images
    assert len(emulator.requests_to("/images/generations")) == 2
    assert emulator.billable_count == 1  # the refused attempt never ran


def test_rate_limit_honours_retry_after_ms(call, emulator):
    fault = emulator.fault_for("rate_limit", times=0)
    fault.headers = {"retry-after-ms": "50", "x-request-id": "req_rl"}
    emulator.inject(fault)
    with pytest.raises(RateLimitError) as caught:
        call()
    assert caught.value.retry_after == pytest.approx(0.05)
    assert caught.value.code == "rate_limit_exceeded" and caught.value.request_id == "req_rl"
    assert len(emulator.requests_to("/images/")) == 3  # the first try and core's two retries


def test_rate_limit_reset_header_is_used_when_there_is_no_retry_after(call, emulator):
    body = {"error": {"message": "Rate limit", "type": "requests", "param": None,
                      "code": "rate_limit_exceeded"}}
    emulator.inject(Fault(status=429, body=body, headers={"x-ratelimit-reset-requests": "2m0s"},
                          times=0))
    with pytest.raises(RateLimitError) as caught:
        call()
    assert caught.value.retry_after == 120  # over core's cap, so not waited for
    assert len(emulator.requests_to("/images/")) == 1


def test_invalid_key_is_an_authentication_error_without_any_part_of_the_key(call, emulator, sentinel_key):
    emulator.valid_keys = {"sk-the-right-one"}
    with pytest.raises(AuthenticationError) as caught:
        call()
    text = str(caught.value)
    assert caught.value.status == 401 and caught.value.code == "invalid_api_key"
    assert "(key hidden)" in text
    assert sentinel_key not in text and sentinel_key[:6] not in text and sentinel_key[-4:] not in text


def test_organization_verification_403_says_how_to_verify(call):
    with pytest.raises(AuthenticationError, match="organization verification") as caught:
        call(prompt="emulate:verification")
    assert "15 minutes" in str(caught.value)


def test_unknown_model_is_unknown_model_error(call, emulator):
    with pytest.raises(UnknownModelError, match="model_not_found"):
        call(model="gpt-image-9", allow_unlisted=True)
    assert len(emulator.requests_to("/images/")) == 1


def test_bad_request_is_invalid_input_with_openai_message(call, emulator):
    emulator.inject(emulator.fault_for("bad_request"))
    with pytest.raises(InvalidInputError, match="Invalid value: '999x999'") as caught:
        call()
    assert caught.value.code == "invalid_value"


def test_server_error_500_is_unavailable_and_not_resent(call, emulator):
    emulator.inject(emulator.fault_for("server_error", times=0))
    with pytest.raises(ProviderUnavailableError, match="server error"):
        call()
    assert len(emulator.requests_to("/images/")) == 1


def test_overloaded_503_is_retried_as_not_started(call, emulator):
    emulator.inject(emulator.fault_for("overloaded"))
    assert call().images
    assert len(emulator.requests_to("/images/")) == 2


def test_x_should_retry_false_stops_the_retry_of_a_503(call, emulator):
    emulator.inject(emulator.fault_for("overloaded", headers={"x-should-retry": "false"}, times=0))
    with pytest.raises(ProviderUnavailableError):
        call()
    assert len(emulator.requests_to("/images/")) == 1


def test_answer_without_images_is_no_image_returned(call):
    with pytest.raises(NoImageReturnedError, match="without an image") as caught:
        call(prompt="emulate:empty")
    assert caught.value.request_id


def test_dropped_connection_after_sending_is_not_resent(call, emulator):
    emulator.inject(Fault(method="POST", drop="after_body", times=0))
    with pytest.raises(ProviderUnavailableError, match="may have been billed"):
        call()
    assert emulator.billable_count == 1
