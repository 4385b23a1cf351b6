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
