"""Refusals, quota, rate limits and broken connections: typed errors, never a placeholder, never paid twice."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from apiedit import (
    AuthenticationError,
    ContentBlockedError,
    EditResult,
    InvalidInputError,
    NoImageReturnedError,
    ProviderError,
    ProviderUnavailableError,
    QuotaExceededError,
    RateLimitError,
)
from apiedit.testing.emulator import Fault, Response
from apiedit_gemini.emulator import GeminiEmulator

Call = Callable[..., EditResult]
GENERATE = r":generateContent$"


@pytest.mark.parametrize("reason", ["PROHIBITED_CONTENT", "SAFETY", "BLOCKLIST", "IMAGE_SAFETY", "OTHER"])
def test_prompt_feedback_block_reason_is_content_blocked(
    transport: str, call: Call, emulator: GeminiEmulator, reason: str, sentinel_key: str
) -> None:
    emulator.variant = f"blocked_prompt:{reason}"
    with pytest.raises(ContentBlockedError) as caught:
        call()
    assert caught.value.reason == reason
    assert reason in str(caught.value) and "Rephrase" in str(caught.value)
    assert caught.value.provider == "gemini"
    assert sentinel_key not in str(caught.value)


@pytest.mark.parametrize("reason", ["IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "PROHIBITED_CONTENT", "SAFETY"])
def test_blocking_finish_reasons_are_content_blocked(
    transport: str, call: Call, emulator: GeminiEmulator, reason: str
) -> None:
    emulator.variant = f"finish:{reason}"
    with pytest.raises(ContentBlockedError) as caught:
        call()
    assert caught.value.reason == reason and reason in str(caught.value)


@pytest.mark.parametrize("reason", ["NO_IMAGE", "IMAGE_OTHER", "MAX_TOKENS"])
def test_finish_reasons_without_an_image_are_no_image_returned(
    transport: str, call: Call, emulator: GeminiEmulator, reason: str
) -> None:
    emulator.variant = f"finish:{reason}"
    with pytest.raises(NoImageReturnedError) as caught:
        call()
    assert caught.value.reason == reason and reason in str(caught.value)


def test_text_only_stop_puts_the_model_text_in_the_error(
    transport: str, call: Call, emulator: GeminiEmulator
) -> None:
    emulator.variant = "text_only"
    with pytest.raises(NoImageReturnedError) as caught:
        call()
    said = "could you say what the picture should show?"
    assert said in caught.value.text and said in str(caught.value)
    assert caught.value.reason == "STOP"


@pytest.mark.parametrize("variant", ["empty_candidates", "no_candidates"])
def test_an_answer_without_candidates_is_no_image_returned(
    transport: str, call: Call, emulator: GeminiEmulator, variant: str
) -> None:
    emulator.variant = variant
    with pytest.raises(NoImageReturnedError, match="no candidates"):
        call()


def test_a_text_model_picked_by_id_is_no_image_returned(
    transport: str, host, emulator: GeminiEmulator, sentinel_key: str
) -> None:
    from apiedit import EditRequest

    with pytest.raises(NoImageReturnedError):
        host.edit("gemini", EditRequest(model="gemini-2.5-flash", prompt="a fox"), api_key=sentinel_key,
                  base_url=emulator.base_url, allow_unlisted=True)


def test_rate_limit_waits_for_retry_info_delay_then_succeeds(
    transport: str, call: Call, emulator: GeminiEmulator
) -> None:
    emulator.inject(emulator.fault_for("rate_limit", path=GENERATE, times=1))
    started = time.monotonic()
    result = call()
    assert time.monotonic() - started >= 0.9  # RetryInfo.retryDelay "1s"
    assert result.images
    assert len(emulator.requests_to(GENERATE)) == 2
    assert emulator.billable_count == 1


def test_rate_limit_error_carries_the_retry_info_delay(
    transport: str, call: Call, emulator: GeminiEmulator
) -> None:
    body = {"error": {"code": 429, "message": "Resource has been exhausted", "status": "RESOURCE_EXHAUSTED",
                      "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "0.25s"}]}}
    emulator.inject(Fault(path=GENERATE, status=429, body=body, times=0))
    with pytest.raises(RateLimitError) as caught:
        call()
    assert caught.value.retry_after == pytest.approx(0.25)
    assert caught.value.code == "RESOURCE_EXHAUSTED"
    # core retried twice (its policy); google-genai added no retries of its own
    assert len(emulator.requests_to(GENERATE)) == 3


def test_a_retry_delay_beyond_the_cap_is_not_waited_for(
    transport: str, call: Call, emulator: GeminiEmulator
) -> None:
    body = {"error": {"code": 429, "message": "slow down", "status": "RESOURCE_EXHAUSTED",
                      "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "600s"}]}}
    emulator.inject(Fault(path=GENERATE, status=429, body=body, times=0))
    with pytest.raises(RateLimitError, match="Wait 600 s"):
        call()
    assert len(emulator.requests_to(GENERATE)) == 1


def test_daily_quota_is_quota_exceeded_and_not_retried(
    transport: str, call: Call, emulator: GeminiEmulator
) -> None:
    emulator.inject(emulator.fault_for("quota", path=GENERATE, times=0))
    with pytest.raises(QuotaExceededError, match="PerDay"):
        call()
    assert len(emulator.requests_to(GENERATE)) == 1


def test_invalid_key_is_an_authentication_error(
    transport: str, call: Call, emulator: GeminiEmulator, sentinel_key: str
) -> None:
    emulator.valid_keys = {"k-some-other-key"}
    with pytest.raises(AuthenticationError) as caught:
        call()
    assert caught.value.status == 400 and "apiedit keys set gemini" in str(caught.value)
    assert sentinel_key not in str(caught.value) and sentinel_key not in repr(caught.value)
    assert len(emulator.requests) == 1


def test_permission_denied_is_an_authentication_error(transport: str, call: Call, emulator: GeminiEmulator) -> None:
    body = {"error": {"code": 403, "message": "The caller does not have permission", "status": "PERMISSION_DENIED"}}
    emulator.inject(Fault(path=GENERATE, status=403, body=body))
    with pytest.raises(AuthenticationError, match="PERMISSION_DENIED"):
        call()


def test_overloaded_503_is_retried_once_and_succeeds(transport: str, call: Call, emulator: GeminiEmulator) -> None:
    emulator.inject(emulator.fault_for("overloaded", path=GENERATE, times=1))
    result = call()
    assert result.images
    assert len(emulator.requests_to(GENERATE)) == 2
    assert emulator.billable_count == 1


def test_persistent_overload_is_provider_unavailable(transport: str, call: Call, emulator: GeminiEmulator) -> None:
    emulator.inject(emulator.fault_for("overloaded", path=GENERATE, times=0))
    with pytest.raises(ProviderUnavailableError, match="overloaded"):
        call()
    assert emulator.billable_count == 0


def test_a_500_is_not_resent(transport: str, call: Call, emulator: GeminiEmulator) -> None:
    emulator.inject(emulator.fault_for("server_error", path=GENERATE, times=0))
    with pytest.raises(ProviderUnavailableError):
        call()
    assert len(emulator.requests_to(GENERATE)) == 1


def test_a_bad_request_is_invalid_input_and_sent_once(transport: str, call: Call, emulator: GeminiEmulator) -> None:
    emulator.inject(emulator.fault_for("bad_request", path=GENERATE, times=0))
    with pytest.raises(InvalidInputError, match="invalid argument"):
        call()
    assert len(emulator.requests_to(GENERATE)) == 1


def test_region_precondition_says_what_to_check(transport: str, call: Call, emulator: GeminiEmulator) -> None:
    body = {"error": {"code": 400, "message": "Image generation is not available in your country.",
                      "status": "FAILED_PRECONDITION"}}
    emulator.inject(Fault(path=GENERATE, status=400, body=body))
    with pytest.raises(Exception, match="region"):
        call()


def test_connection_dropped_after_the_body_is_not_resent(
    transport: str, call: Call, emulator: GeminiEmulator
) -> None:
    emulator.inject(Fault(path=GENERATE, drop="after_body", times=0))
    with pytest.raises(ProviderUnavailableError, match="may have been billed"):
        call()
    assert emulator.billable_count == 1
    assert len(emulator.requests_to(GENERATE)) == 1


def test_a_non_json_200_is_an_error_not_an_image(transport: str, call: Call, emulator: GeminiEmulator) -> None:
    emulator.inject(Fault(path=GENERATE, status=200, body=Response(body="<html>proxy</html>").body,
                          headers={"Content-Type": "text/html"}))
    with pytest.raises(ProviderError, match="not JSON"):
        call()


def test_an_unknown_model_is_sent_once_and_is_unknown_model_with_suggestions(
    transport: str, host, emulator: GeminiEmulator, sentinel_key: str
) -> None:
    from apiedit import EditRequest, UnknownModelError

    with pytest.raises(UnknownModelError, match="404.*Did you mean 'gemini-nano-banana-2.1'") as caught:
        host.edit("gemini", EditRequest(model="gemini-nano-banana-2.0", prompt="x"), api_key=sentinel_key,
                  base_url=emulator.base_url)
    assert "gemini-nano-banana-2.1" in caught.value.suggestions
    assert len(emulator.requests_to(GENERATE)) == 1 and emulator.billable_count == 1
