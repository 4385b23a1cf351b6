"""The two transports: google-genai first, REST when the SDK is unusable, never both for one call."""

from __future__ import annotations

import base64
import builtins
import re
import sys
from collections.abc import Callable
from typing import Any

import pytest
from apiedit import ConfigurationError, EditResult, ImageData, InvalidInputError, NoImageReturnedError, Turn
from apiedit.testing.conformance import sample_png
from apiedit_gemini import transport as gemini_transport
from apiedit_gemini.emulator import GeminiEmulator, _b64decode

Call = Callable[..., EditResult]
GENERATE = r":generateContent$"


def scenario(call: Call) -> list[EditResult]:
    """Text-to-image, a three-image edit, and a second conversation turn."""
    inputs = tuple(ImageData(sample_png((60 * i, 100, 30))) for i in range(3))
    first = call(model="gemini-3-pro-image", prompt="a lighthouse", aspect_ratio="4:5",
                 resolution="2K", seed=7)
    edit = call(model="gemini-3-pro-image", prompt="combine", images=inputs)
    history = (Turn("user", "a lighthouse"),
               Turn("assistant", first.text, first.images, "gemini", first.model, first.state))
    second = call(model="gemini-3-pro-image", prompt="at night", history=history)
    return [first, edit, second]


def comparable(value: Any) -> Any:
    """A request body with key spelling and base64 spelling normalised away."""
    if isinstance(value, list):
        return [comparable(v) for v in value]
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            key = re.sub(r"_([a-z])", lambda m: m.group(1).upper(), key)
            if key in ("data", "thoughtSignature") and isinstance(item, str):
                item = _b64decode(item)
            out[key] = comparable(item)
        return out
    return value


def run_with(transport: str, call: Call, emulator: GeminiEmulator, monkeypatch: pytest.MonkeyPatch) -> list[EditResult]:
    monkeypatch.setenv("APIEDIT_GEMINI_TRANSPORT", transport)
    emulator.reset()
    emulator.calls.clear()
    emulator.responses.clear()
    results = scenario(call)
    assert {r.info["transport"] for r in results} == {transport}
    return results


def test_sdk_and_rest_give_identical_results(call: Call, emulator: GeminiEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    via_sdk = run_with("sdk", call, emulator, monkeypatch)
    via_rest = run_with("rest", call, emulator, monkeypatch)
    for a, b in zip(via_sdk, via_rest):
        assert [i.data for i in a.images] == [i.data for i in b.images]
        assert [i.mime_type for i in a.images] == [i.mime_type for i in b.images]
        assert a.text == b.text
        assert dict(a.state) == dict(b.state)
        assert dict(a.usage) == dict(b.usage) and a.request_id == b.request_id


def test_sdk_and_rest_send_the_same_request(call: Call, emulator: GeminiEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    run_with("sdk", call, emulator, monkeypatch)
    sdk_bodies = [comparable(c.request.json()) for c in emulator.calls]
    sdk_paths = [c.request.path for c in emulator.calls]
    run_with("rest", call, emulator, monkeypatch)
    assert [comparable(c.request.json()) for c in emulator.calls] == sdk_bodies
    assert [c.request.path for c in emulator.calls] == sdk_paths


def test_the_sdk_path_is_the_default_and_speaks_like_google_genai(call: Call, emulator: GeminiEmulator) -> None:
    result = call(images=(ImageData(sample_png()),))
    assert result.info["transport"] == "sdk"
    request = emulator.calls[0].request
    assert request.headers["x-goog-api-client"].startswith("google-genai-sdk/")
    part = request.json()["contents"][0]["parts"][1]
    assert "mime_type" in part["inlineData"]  # google-genai 3.x spelling, URL-safe base64


def test_rest_env_switch_forces_plain_rest(call: Call, emulator: GeminiEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APIEDIT_GEMINI_TRANSPORT", "rest")
    result = call()
    assert result.info["transport"] == "rest"
    assert "x-goog-api-client" not in emulator.calls[0].request.headers


def test_rest_is_used_when_the_sdk_cannot_be_imported(
    call: Call, emulator: GeminiEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_import = builtins.__import__

    def no_google(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "google" or name.startswith("google."):
            raise ImportError(f"No module named {name!r} (simulated)")
        return real_import(name, *args, **kwargs)

    for name in [n for n in sys.modules if n == "google.genai" or n.startswith("google.genai.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(builtins, "__import__", no_google)
    result = call()
    assert result.info["transport"] == "rest"
    assert "not importable" in gemini_transport.sdk_status()
    assert emulator.billable_count == 1


def test_forcing_the_sdk_without_it_is_a_configuration_error_and_sends_nothing(
    call: Call, emulator: GeminiEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APIEDIT_GEMINI_TRANSPORT", "sdk")
    monkeypatch.setattr(gemini_transport, "load_sdk", lambda: None)
    with pytest.raises(ConfigurationError, match=r"apiedit-gemini\[sdk\]"):
        call()
    assert emulator.requests == []


def test_an_invalid_transport_setting_is_a_configuration_error(
    call: Call, emulator: GeminiEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APIEDIT_GEMINI_TRANSPORT", "carrier-pigeon")
    with pytest.raises(ConfigurationError, match="auto, sdk or rest"):
        call()
    assert emulator.requests == []


class _OldImageConfig:
    """An ImageConfig from an SDK that predates imageSize (like google-genai 1.40)."""

    @staticmethod
    def model_validate(value: dict[str, Any]) -> Any:
        if "imageSize" in value:
            raise ValueError("Extra inputs are not permitted: imageSize")
        return value


def test_a_request_an_old_sdk_cannot_express_goes_over_rest_before_anything_is_sent(
    call: Call, emulator: GeminiEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    genai, types = gemini_transport.load_sdk()
    fake_types = type("types", (), {name: getattr(types, name) for name in dir(types) if not name.startswith("__")})
    fake_types.ImageConfig = _OldImageConfig
    monkeypatch.setattr(gemini_transport, "load_sdk", lambda: (genai, fake_types))
    result = call(model="gemini-3-pro-image", resolution="4K")
    assert result.info["transport"] == "rest"
    assert emulator.billable_count == 1 and len(emulator.requests) == 1


def test_forcing_the_sdk_for_a_request_it_cannot_express_is_a_configuration_error(
    call: Call, emulator: GeminiEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    genai, types = gemini_transport.load_sdk()
    fake_types = type("types", (), {name: getattr(types, name) for name in dir(types) if not name.startswith("__")})
    fake_types.ImageConfig = _OldImageConfig
    monkeypatch.setattr(gemini_transport, "load_sdk", lambda: (genai, fake_types))
    monkeypatch.setenv("APIEDIT_GEMINI_TRANSPORT", "sdk")
    with pytest.raises(ConfigurationError, match="cannot express"):
        call(model="gemini-3-pro-image", resolution="4K")
    assert emulator.requests == []


def test_an_api_error_on_the_sdk_path_is_never_retried_over_rest(call: Call, emulator: GeminiEmulator) -> None:
    emulator.inject(emulator.fault_for("bad_request", path=GENERATE, times=0))
    with pytest.raises(InvalidInputError):
        call()
    assert len(emulator.requests) == 1
    assert "x-goog-api-client" in emulator.requests[0].headers  # the one request came from the SDK


def test_an_sdk_that_cannot_read_a_paid_answer_still_returns_it(
    call: Call, emulator: GeminiEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    genai, _ = gemini_transport.load_sdk()
    models_class = type(genai.Client(api_key="k-placeholder", vertexai=False).models)
    original = models_class.generate_content

    def generate_then_choke(self: Any, **kwargs: Any) -> Any:
        original(self, **kwargs)
        raise ValueError("simulated SDK parsing bug")

    monkeypatch.setattr(models_class, "generate_content", generate_then_choke)
    result = call()
    assert result.images and result.info["transport"] == "sdk"
    assert emulator.billable_count == 1 and len(emulator.requests) == 1


def test_the_sdk_reads_no_key_or_vertex_settings_from_the_environment(
    call: Call, emulator: GeminiEmulator, monkeypatch: pytest.MonkeyPatch, sentinel_key: str
) -> None:
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
    monkeypatch.setenv("GOOGLE_GENAI_API_VERSION", "v1alpha")
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", "http://127.0.0.1:9")
    result = call()
    assert result.info["transport"] == "sdk"
    request = emulator.calls[0].request
    assert request.path.startswith("/v1beta/") and request.headers["x-goog-api-key"] == sentinel_key


def test_the_state_base64_is_kept_as_received_on_both_paths(
    transport: str, call: Call, emulator: GeminiEmulator
) -> None:
    result = call(model="gemini-3-pro-image")
    signature = result.state["parts"][-1]["thoughtSignature"]
    assert signature.startswith("+/+/")  # standard alphabet, as the emulator (and Google) sent it
    assert base64.b64decode(signature)


def test_a_paid_answer_without_an_image_is_not_tried_again_over_rest(call: Call, emulator: GeminiEmulator) -> None:
    emulator.variant = "text_only"
    with pytest.raises(NoImageReturnedError):
        call()
    assert emulator.billable_count == 1 and len(emulator.requests) == 1
