"""The fault matrix: every provider, every fault, the typed outcome and the paid-request count.

Each case injects one fault into the provider's emulator on its paid route, makes one call
through `Host.edit`, and asserts the error class (or success), what the message says about
billing, and how many billable requests the emulator counted. The README's fault table is
this file's `FAULTS`.
"""

from __future__ import annotations

import socket
import time
from importlib.metadata import entry_points
from typing import Any, Callable

import pytest

from apiedit.errors import (
    ApiEditError,
    AuthenticationError,
    ConfigurationError,
    ContentBlockedError,
    InvalidInputError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    QuotaExceededError,
    RateLimitError,
)
from apiedit.host import Host
from apiedit.testing.emulator import Emulator, Fault
from apiedit.types import EditRequest

# provider -> (a text-to-image model, a regex for its paid route)
PROVIDERS: dict[str, tuple[str, str]] = {
    "gemini": ("gemini-nano-banana-2.1", r":generateContent$"),
    "modelscope": ("Qwen/Qwen-Image", r"/images/generations$"),
    "openai": ("gpt-image-1.5", r"/images/generations$"),
    "openrouter": ("google/gemini-nano-banana-2.1", r"/chat/completions$"),
    "pixelwords": ("gemini-2.5-flash-image", r"/chat/completions$"),
}
BILLED = "may have been billed"
NOT_BILLED = "nothing was billed"


def emulator_class(provider: str) -> type[Emulator]:
    (point,) = [p for p in entry_points(group="apiedit.emulators") if p.name == provider]
    return point.load()


def _fault(**kw: Any) -> Callable[[Emulator, str], Fault]:
    return lambda emulator, path: Fault(method="POST", path=path, **kw)


def _canned(kind: str, **kw: Any) -> Callable[[Emulator, str], Fault]:
    return lambda emulator, path: emulator.fault_for(kind, method="POST", path=path, **kw)


HTML = "<html><body><h1>Welcome to nginx!</h1></body></html>"
# name -> (fault, timeout_s, expected class or None for success, text in message, paid requests)
FAULTS: dict[str, tuple[Callable[[Emulator, str], Fault], float, type | None, str | None, int]] = {
    "429 + Retry-After": (_fault(status=429, retry_after=1, body={"error": {
        "message": "slow down", "code": 429}}), 30, None, None, 1),
    "429 quota": (_canned("quota"), 30, QuotaExceededError, None, 0),
    "500": (_canned("server_error", times=0), 30, ProviderError, None, 0),
    "502": (_fault(status=502, times=0, body=HTML, headers={"Content-Type": "text/html"}), 30,
            ProviderError, None, 0),
    "503 overloaded": (_canned("overloaded", times=0), 30, ProviderUnavailableError, None, 0),
    "read timeout after send": (_fault(delay=4), 1.5, ProviderTimeoutError, BILLED, 1),
    "reset mid-answer": (_fault(drop="after_body"), 30, ProviderUnavailableError, BILLED, 1),
    "truncated body": (_fault(truncate=True), 30, ProviderError, None, 1),
    "invalid JSON 200": (_fault(status=200, body="{not json", billable=True), 30, ProviderError,
                         None, 1),
    "HTML 200": (_fault(status=200, body=HTML, headers={"Content-Type": "text/html"},
                        billable=True), 30, ProviderError, None, 1),
    "slow drip past the deadline": (_fault(trickle=1.0), 2, ProviderTimeoutError, BILLED, 1),
    "blocked": (_canned("blocked"), 30, ContentBlockedError, None, 0),
    "401": (_canned("auth"), 30, AuthenticationError, None, 0),
    "413": (_fault(status=413, body={"error": {"message": "Request Entity Too Large",
                                               "code": 413}}), 30, InvalidInputError, None, 0),
}


@pytest.fixture
def run(emulator_factory, apiedit_home, sentinel_key, monkeypatch):
    def call(provider: str, fault: Callable[[Emulator, str], Fault] | None, timeout_s: float,
             prompt: str = "a red fox", **endpoint: Any) -> tuple[Any, Emulator, float]:
        host = Host(env={"APIEDIT_LOAD_PLUGINS": provider})
        for var in host.get_provider(provider).key_env_vars:
            monkeypatch.delenv(var, raising=False)
        emulator = emulator_factory(emulator_class(provider))
        if hasattr(emulator, "polls_until_done"):
            emulator.polls_until_done = 0
        model, path = PROVIDERS[provider]
        endpoint = {"api_key": sentinel_key, "base_url": emulator.base_url, **endpoint}
        host.list_models(provider, **endpoint)  # the free model list is not under test
        if fault is not None:
            emulator.inject(fault(emulator, path))
        started = time.monotonic()
        try:
            outcome: Any = host.edit(provider, EditRequest(model=model, prompt=prompt,
                                                           timeout_s=timeout_s), **endpoint)
        except ApiEditError as exc:
            outcome = exc
        return outcome, emulator, time.monotonic() - started

    return call


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_fault(provider: str, fault: str, run, sentinel_key) -> None:
    make, timeout_s, expected, text, paid = FAULTS[fault]
    outcome, emulator, elapsed = run(provider, make, timeout_s)
    if expected is None:
        assert not isinstance(outcome, Exception), outcome
        assert outcome.images
    else:
        assert isinstance(outcome, expected), f"{type(outcome).__name__}: {outcome}"
        if text is not None:
            assert text in str(outcome)
        assert sentinel_key not in repr(vars(outcome)) and sentinel_key not in str(outcome)
    assert emulator.billable_count == paid
    if fault == "slow drip past the deadline":
        assert elapsed < timeout_s + 1.0, f"took {elapsed:.1f} s for a {timeout_s} s deadline"


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_connection_refused_is_not_billed(provider: str, apiedit_home) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    host = Host(env={"APIEDIT_LOAD_PLUGINS": provider})
    model, _ = PROVIDERS[provider]
    with pytest.raises(ProviderUnavailableError) as caught:
        host.edit(provider, EditRequest(model=model, prompt="a fox"), api_key="sk-SENTINEL-x1234567",
                  base_url=f"http://127.0.0.1:{port}", allow_unlisted=True)
    assert BILLED not in str(caught.value)


BAD_KEYS = {
    "newline": "sk-SENTINEL-abc\ndef123",
    "zero-width space": "sk-SENTINEL-abc\u200bdef123",
    "non-Latin-1": "sk-SENTINEL-abc\u4e2ddef123",
    "inner space": "sk-SENTINEL-abc def123",
}


@pytest.mark.parametrize("bad", list(BAD_KEYS))
@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_a_bad_key_is_a_configuration_error_and_nothing_is_sent(
    provider: str, bad: str, emulator_factory, apiedit_home
) -> None:
    key = BAD_KEYS[bad]
    host = Host(env={"APIEDIT_LOAD_PLUGINS": provider})
    emulator = emulator_factory(emulator_class(provider))
    model, _ = PROVIDERS[provider]
    with pytest.raises(ConfigurationError) as caught:
        host.edit(provider, EditRequest(model=model, prompt="a fox"), api_key=key,
                  base_url=emulator.base_url)
    exc = caught.value
    text = str(exc)
    assert "bug" not in text and BILLED not in text
    assert host.get_provider(provider).label in text
    assert "position" in text
    for item in _chain(exc):
        assert key not in repr(item.args) and key not in repr(vars(item))
    assert emulator.requests == []


BAD_URLS: dict[str, Callable[[str], str]] = {
    "space in the host": lambda url: url.replace("127.0.0.1", "127.0.0. 1"),
    "port 99999": lambda url: url.rsplit(":", 1)[0] + ":99999",
    "password in the URL": lambda url: url.replace("http://", "http://user:pw-SENTINEL@") + " x",
}


@pytest.mark.parametrize("bad", list(BAD_URLS))
@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_a_bad_base_url_says_nothing_was_billed(provider: str, bad: str, emulator_factory,
                                                apiedit_home, sentinel_key) -> None:
    host = Host(env={"APIEDIT_LOAD_PLUGINS": provider})
    emulator = emulator_factory(emulator_class(provider))
    model, _ = PROVIDERS[provider]
    with pytest.raises(ConfigurationError) as caught:
        host.edit(provider, EditRequest(model=model, prompt="a fox"), api_key=sentinel_key,
                  base_url=BAD_URLS[bad](emulator.base_url), allow_unlisted=True)
    assert BILLED not in str(caught.value)
    assert "pw-SENTINEL" not in str(caught.value)
    assert emulator.requests == []


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    while exc is not None and exc not in seen:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return seen


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_an_oversized_answer_image_is_refused(provider: str, run, monkeypatch) -> None:
    """Inline (base64) or downloaded, every image passes one size cap; the emulators' small
    images stand in for huge ones by lowering it."""
    import apiedit.images

    monkeypatch.setattr(apiedit.images, "MAX_OUTPUT_BYTES", 64)
    outcome, emulator, _ = run(provider, None, 30)
    assert isinstance(outcome, InvalidInputError), outcome
    assert "limit" in str(outcome) and "billed" in str(outcome)
    assert emulator.billable_count == 1


def test_a_60_mb_inline_image_is_refused_without_decoding_it(run, monkeypatch) -> None:
    import base64
    import re as _re

    from apiedit.testing.emulator import Response

    blob = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(60 * 1024 * 1024)).decode()

    def huge(request: Any, _m: _re.Match) -> Response:
        return Response.json({"created": 1, "data": [{"b64_json": blob}]})

    def fault(emulator: Emulator, path: str) -> Fault:
        emulator.route("POST", r"/images/generations", huge, billable=True)
        return Fault(method="GET", path=r"^/nothing$")

    outcome, emulator, _ = run("openai", fault, 60)
    assert isinstance(outcome, InvalidInputError), outcome
    assert "50 MB" in str(outcome)
    assert emulator.billable_count == 1


TEXT_ANSWERS = {  # provider -> (prompt for a text-only answer, prompt for a flagged refusal)
    "gemini": ("emulate:text_only", "emulate:blocked_prompt"),
    "openrouter": ("emulate:text_only", "emulate:refusal"),
    "pixelwords": ("emulate:text_only", "emulate:refusal"),
}


@pytest.mark.parametrize("provider", list(TEXT_ANSWERS))
def test_text_only_is_no_image_and_a_flagged_refusal_is_blocked(provider: str, run) -> None:
    """One rule for every provider that can answer with text: the provider's structured
    signal decides ContentBlockedError; plain text is NoImageReturnedError; the text is kept."""
    from apiedit.errors import NoImageReturnedError

    text_prompt, refusal_prompt = TEXT_ANSWERS[provider]
    outcome, emulator, _ = run(provider, None, 30, prompt=text_prompt)
    assert type(outcome) is NoImageReturnedError, outcome
    assert outcome.text and outcome.text in str(outcome)
    assert emulator.billable_count == 1
    outcome, emulator, _ = run(provider, None, 30, prompt=refusal_prompt)
    assert type(outcome) is ContentBlockedError, outcome
    assert emulator.billable_count == 1


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_a_prompt_over_the_models_limit_is_refused_before_sending(provider: str, run) -> None:
    """Models with a published prompt limit (`ModelInfo.max_prompt_chars`) refuse a longer
    prompt before anything is sent; the others send it and the provider judges."""
    host = Host(env={"APIEDIT_LOAD_PLUGINS": provider})
    model, _ = PROVIDERS[provider]
    info = next(m for m in host.list_models(provider, api_key="sk-SENTINEL-list1")
                if m.id == model) if provider in ("openai", "modelscope") else None
    outcome, emulator, _ = run(provider, None, 30, prompt="a red fox " * 4000)  # 40,000 chars
    if info is not None and info.max_prompt_chars is not None:
        assert isinstance(outcome, InvalidInputError) and "40,000 characters" in str(outcome)
        assert emulator.billable_count == 0
    else:
        assert emulator.billable_count <= 1


def test_a_12000_pixel_square_input_is_downscaled_to_the_models_budget(run, tmp_path) -> None:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (12000, 12000), 128).save(buffer, "PNG")
    from apiedit.types import ImageData

    host = Host(env={"APIEDIT_LOAD_PLUGINS": "openai"})
    from apiedit_openai.emulator import OpenAIEmulator

    emulator = OpenAIEmulator().start()
    try:
        result = host.edit("openai", EditRequest(model="gpt-image-1.5", prompt="brighter",
                                                 images=(ImageData(buffer.getvalue(), "image/png"),)),
                           api_key="sk-SENTINEL-big12345", base_url=emulator.base_url)
        budget = next(m for m in host.list_models("openai", api_key="sk-SENTINEL-big12345",
                                                  base_url=emulator.base_url)
                      if m.id == "gpt-image-1.5").max_input_pixels
        sent = Image.open(io.BytesIO(emulator.calls[0].images[0]))
        assert result.images
        assert budget is None or sent.width * sent.height <= budget
        assert sent.width < 12000
    finally:
        emulator.stop()
