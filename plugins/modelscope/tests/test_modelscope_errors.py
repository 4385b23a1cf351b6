"""Every refusal and fault ModelScope answers with becomes a typed error that says what to do."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from apiedit import (
    AuthenticationError,
    ContentBlockedError,
    EditResult,
    ImageData,
    InvalidInputError,
    NoImageReturnedError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    QuotaExceededError,
    RateLimitError,
    UnknownModelError,
)
from apiedit.testing.conformance import sample_png
from apiedit.testing.emulator import Fault
from apiedit_modelscope.emulator import ModelScopeEmulator

Call = Callable[..., EditResult]
SUBMIT = r"^/v1/images/generations$"


def test_unbound_alibaba_cloud_account_is_an_auth_error_with_the_fix(call: Call, emu: ModelScopeEmulator) -> None:
    emu.account_bound = False
    with pytest.raises(AuthenticationError) as caught:
        call(model="Qwen/Qwen-Image")
    text = str(caught.value)
    assert "Alibaba Cloud" in text and "Bind" in text and caught.value.status == 401
    assert caught.value.provider == "modelscope" and caught.value.request_id
    assert len(emu.requests_to(SUBMIT)) == 1


def test_a_bad_token_is_an_auth_error(call: Call, emu: ModelScopeEmulator) -> None:
    emu.inject(Fault(status=401, body={"error": {"message": "Invalid token"}, "request_id": "r1"}))
    with pytest.raises(AuthenticationError, match="rejected the API key"):
        call(model="Qwen/Qwen-Image")


def test_missing_real_name_verification_is_an_auth_error_with_the_fix(call: Call, emu: ModelScopeEmulator) -> None:
    emu.inject(emu.extra_fault("real_name"))
    with pytest.raises(AuthenticationError, match="real-name verification"):
        call(model="Qwen/Qwen-Image")


def test_insufficient_balance_is_a_quota_error_and_not_retried(call: Call, emu: ModelScopeEmulator) -> None:
    emu.inject(emu.extra_fault("insufficient_balance", times=0))
    with pytest.raises(QuotaExceededError, match="retired model"):
        call(model="Qwen/Qwen-Image")
    assert len(emu.requests_to(SUBMIT)) == 1


def test_a_spent_daily_limit_is_a_quota_error_and_not_retried(call: Call, emu: ModelScopeEmulator) -> None:
    emu.inject(emu.fault_for("quota", times=0))
    with pytest.raises(QuotaExceededError, match="daily quota"):
        call(model="Qwen/Qwen-Image")
    assert len(emu.requests_to(SUBMIT)) == 1


def test_remaining_zero_in_the_headers_means_quota_whatever_the_text(call: Call, emu: ModelScopeEmulator) -> None:
    emu.inject(Fault(status=429, body={"error": {"message": "Too many requests"}}, times=0,
                     headers={"modelscope-ratelimit-model-requests-remaining": "0"}))
    with pytest.raises(QuotaExceededError) as caught:
        call(model="Qwen/Qwen-Image")
    assert caught.value.details["rate_limit"] == {"model_requests_remaining": 0}


def test_rate_limit_is_retried_then_raised_with_retry_after(call: Call, emu: ModelScopeEmulator) -> None:
    emu.inject(emu.fault_for("rate_limit", times=0, headers={"Retry-After": "0"}))
    with pytest.raises(RateLimitError) as caught:
        call(model="Qwen/Qwen-Image")
    assert caught.value.retry_after == 0
    assert len(emu.requests_to(SUBMIT)) == 3  # core's policy: two retries of a 429
    assert emu.billable_count == 0


def test_one_rate_limit_then_success_bills_once(call: Call, emu: ModelScopeEmulator) -> None:
    emu.inject(emu.fault_for("rate_limit", times=1, headers={"Retry-After": "0"}))
    result = call(model="Qwen/Qwen-Image")
    assert result.images and emu.billable_count == 1


def test_a_bad_request_is_an_input_error_naming_the_problem(call: Call, emu: ModelScopeEmulator) -> None:
    emu.inject(emu.fault_for("bad_request"))
    with pytest.raises(InvalidInputError, match="Invalid parameter: size"):
        call(model="Qwen/Qwen-Image")


def test_a_provider_refusing_data_urls_is_an_input_error_before_any_task(call: Call, emu: ModelScopeEmulator) -> None:
    emu.accept_data_urls = False
    with pytest.raises(InvalidInputError, match="publicly reachable"):
        call(model="Qwen/Qwen-Image-Edit", images=(ImageData(sample_png()),))
    assert emu.tasks == []


def test_an_unknown_model_is_sent_once_and_is_unknown_model_with_suggestions(
    call: Call, emu: ModelScopeEmulator
) -> None:
    with pytest.raises(UnknownModelError, match="does not exist.*Did you mean 'Qwen/Qwen-Image-Edit'") as caught:
        call(model="Qwen/Qwen-Image-Edits")
    assert caught.value.suggestions and len(emu.requests_to(SUBMIT)) == 1


def test_a_server_error_on_submit_is_not_resent(call: Call, emu: ModelScopeEmulator) -> None:
    emu.inject(emu.fault_for("server_error", billable=True))
    with pytest.raises(ProviderUnavailableError, match="HTTP 500"):
        call(model="Qwen/Qwen-Image")
    assert len(emu.requests_to(SUBMIT)) == 1


def test_an_overloaded_answer_is_retried_because_nothing_started(call: Call, emu: ModelScopeEmulator) -> None:
    emu.inject(emu.fault_for("overloaded", times=1))
    assert call(model="Qwen/Qwen-Image").images
    assert len(emu.requests_to(SUBMIT)) == 2 and emu.billable_count == 1


def test_a_dropped_submit_is_not_resent(call: Call, emu: ModelScopeEmulator) -> None:
    emu.inject(Fault(method="POST", drop="after_body"))
    with pytest.raises(ProviderUnavailableError, match="may have been billed"):
        call(model="Qwen/Qwen-Image")
    assert len(emu.requests_to(SUBMIT)) == 1 and emu.billable_count == 1


def test_a_task_failed_with_422_is_content_blocked_with_the_reason(call: Call, emu: ModelScopeEmulator) -> None:
    with pytest.raises(ContentBlockedError) as caught:
        call(model="Qwen/Qwen-Image", prompt="emulate:blocked")
    error = caught.value
    assert error.reason == "Output data may contain inappropriate content."
    assert error.code == "422" and emu.tasks[0].task_id in str(error)
    assert "Rephrase the prompt" in str(error)
    assert emu.billable_count == 1


def test_a_blocked_answer_to_the_submit_itself_is_content_blocked(call: Call, emu: ModelScopeEmulator) -> None:
    emu.inject(emu.fault_for("blocked"))
    with pytest.raises(ContentBlockedError, match="inappropriate content"):
        call(model="Qwen/Qwen-Image")
    assert emu.requests_to(r"^/v1/tasks/") == []


def test_a_task_failed_otherwise_is_a_provider_error_and_not_resubmitted(call: Call, emu: ModelScopeEmulator) -> None:
    with pytest.raises(ProviderError) as caught:
        call(model="Qwen/Qwen-Image-Edit", prompt="emulate:fail", images=(ImageData(sample_png()),))
    assert not isinstance(caught.value, ContentBlockedError)
    assert "Inference failed" in str(caught.value) and "not resubmitted" in str(caught.value)
    assert emu.billable_count == 1


def test_a_task_that_succeeds_without_images_is_no_image_returned(call: Call, emu: ModelScopeEmulator) -> None:
    with pytest.raises(NoImageReturnedError, match="without an output image"):
        call(model="Qwen/Qwen-Image", prompt="emulate:empty")


def test_a_submit_answer_without_a_task_id_says_it_may_be_billed(call: Call, emu: ModelScopeEmulator) -> None:
    emu.inject(Fault(method="POST", status=200, body={"request_id": "r-9"}))
    with pytest.raises(ProviderError, match="may have been billed"):
        call(model="Qwen/Qwen-Image")


def test_a_broken_output_link_is_an_error_not_a_placeholder(call: Call, emu: ModelScopeEmulator) -> None:
    emu.inject(Fault(method="GET", path=r"^/_files/", status=404))
    with pytest.raises(ProviderUnavailableError, match="HTTP 404"):
        call(model="Qwen/Qwen-Image")


def test_one_of_several_images_blocked_returns_the_others_with_a_warning(call: Call, emu: ModelScopeEmulator) -> None:
    emu.inject(Fault(method="GET", path=r"^/v1/tasks/", status=200, body={
        "task_status": "FAILED", "errors": {"code": 422, "message": "Output data may contain inappropriate content."},
    }))
    result = call(model="Qwen/Qwen-Image", n=2)
    assert len(result.images) == 1
    assert any("Only 1 of 2 images" in w and "inappropriate" in w for w in result.warnings)


def test_the_key_never_appears_in_errors_or_logs(
    call: Call, emu: ModelScopeEmulator, sentinel_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    call(model="Qwen/Qwen-Image")
    emu.account_bound = False
    with pytest.raises(AuthenticationError) as caught:
        call(model="Qwen/Qwen-Image")
    emu.account_bound = True
    emu.inject(Fault(method="POST", delay=2.0))
    with pytest.raises(ProviderTimeoutError) as timed_out:
        call(model="Qwen/Qwen-Image", timeout_s=0.3)
    for error in (caught.value, timed_out.value):
        assert sentinel_key not in str(error) and sentinel_key not in repr(error)
    assert caplog.records and sentinel_key not in caplog.text
