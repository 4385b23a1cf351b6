"""Reading a provider's answer body: a 2xx that is not the expected JSON is a clear error."""

from __future__ import annotations

import pytest
import requests
from apiedit.errormap import json_object
from apiedit.errors import ProviderError


def answer(body: bytes, status: int = 200, **headers: str) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body
    response.headers.update(headers)
    return response


def test_a_json_object_is_returned_as_is() -> None:
    assert json_object(answer(b'{"id": "x"}'), "Acme", "acme") == {"id": "x"}


def test_a_proxy_page_names_the_status_the_expectation_and_the_hint() -> None:
    with pytest.raises(ProviderError) as caught:
        json_object(answer(b"<html>proxy</html>", 200, **{"x-request-id": "req_1"}), "Acme", "acme",
                    expected="a chat completion", hint="Check the proxy.")
    error = caught.value
    assert error.message == "Acme answered HTTP 200 with a body that is not a chat completion. Check the proxy."
    assert (error.provider, error.status, error.request_id) == ("acme", 200, "req_1")


def test_json_that_is_not_an_object_is_refused_too() -> None:
    with pytest.raises(ProviderError, match="not JSON. Check the base URL.$"):
        json_object(answer(b'["a", "list"]'), "Acme", "acme")


# ---- envelope callback: a provider's own error body decides message, code and class ----
from apiedit.errormap import ERROR_KIND_STATUS, Envelope, error_from_response  # noqa: E402
from apiedit.errors import (AuthenticationError, ContentBlockedError, InvalidInputError,  # noqa: E402
                            ProviderUnavailableError, QuotaExceededError, RateLimitError)
from apiedit.testing.emulator import ERROR_KINDS  # noqa: E402

KIND_CLASS = {"auth": AuthenticationError, "quota": QuotaExceededError, "rate_limit": RateLimitError,
              "blocked": ContentBlockedError, "bad_request": InvalidInputError,
              "overloaded": ProviderUnavailableError, "server_error": ProviderUnavailableError}


def acme_envelope(body):
    """Acme answers {"Code": "...", "Msg": "..."} with HTTP 400 for everything."""
    if not isinstance(body, dict) or "Code" not in body:
        return None
    kinds = {"NoBalance": "quota", "BadKey": "auth", "Sensitive": "blocked", "Busy": "overloaded",
             "TooFast": "rate_limit", "Oops": "server_error", "BadSize": "bad_request"}
    return Envelope(message=body["Msg"], code=body["Code"], kind=kinds.get(body["Code"]))


@pytest.mark.parametrize("code, kind", [("NoBalance", "quota"), ("BadKey", "auth"),
                                        ("Sensitive", "blocked"), ("Busy", "overloaded"),
                                        ("TooFast", "rate_limit"), ("Oops", "server_error"),
                                        ("BadSize", "bad_request")])
def test_the_envelope_callback_decides_the_class_whatever_the_status(code: str, kind: str) -> None:
    body = b'{"Code": "%s", "Msg": "said by acme"}' % code.encode()
    error = error_from_response(answer(body, 400, **{"x-request-id": "r9"}), "Acme",
                                provider="acme", envelope=acme_envelope)
    assert type(error) is KIND_CLASS[kind]
    assert (error.status, error.code, error.request_id, error.provider) == (400, code, "r9", "acme")
    assert "said by acme" in str(error)


def test_every_error_kind_has_a_class() -> None:
    assert set(KIND_CLASS) == set(ERROR_KINDS) == {*ERROR_KIND_STATUS, "blocked"}


def test_without_an_envelope_or_when_it_returns_none_the_common_envelopes_apply() -> None:
    body = b'{"error": {"message": "slow down", "code": "rate"}}'
    assert type(error_from_response(answer(body, 429), "Acme", envelope=acme_envelope)) is RateLimitError
    error = error_from_response(answer(body, 400), "Acme")
    assert type(error) is InvalidInputError and error.code == "rate"
