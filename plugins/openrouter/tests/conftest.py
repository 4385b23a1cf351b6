"""Fixtures for the OpenRouter plugin tests: a host, the emulator, images, the OpenAPI schema."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from apiedit.host import Host
from apiedit.testing.conformance import sample_png
from apiedit.types import EditRequest, EditResult, ImageData
from apiedit_openrouter.emulator import OpenRouterEmulator

SPEC_PATH = Path(
    os.environ.get("APIEDIT_OPENROUTER_SPEC")
    or Path(__file__).resolve().parents[4] / "shared" / "reference" / "specs" / "openrouter-openapi.yaml"
)


def image(colour: tuple[int, int, int], size: tuple[int, int] = (48, 32)) -> ImageData:
    return ImageData(sample_png(colour, size))


@pytest.fixture
def host(apiedit_home: Path, monkeypatch: pytest.MonkeyPatch) -> Host:
    for var in ("OPENROUTER_API_KEY", "APIEDIT_OPENROUTER_BASE_URL", "APIEDIT_OPENROUTER_APP_URL"):
        monkeypatch.delenv(var, raising=False)
    return Host(env={"APIEDIT_LOAD_PLUGINS": "openrouter"})


@pytest.fixture
def emulator(emulator_factory: Any) -> OpenRouterEmulator:
    return emulator_factory(OpenRouterEmulator)


@pytest.fixture
def call(host: Host, emulator: OpenRouterEmulator, sentinel_key: str) -> Callable[..., EditResult]:
    """`call(**EditRequest fields)`: one edit through the host against the emulator."""

    def run(**fields: Any) -> EditResult:
        fields.setdefault("model", "google/gemini-nano-banana-2.1")
        fields.setdefault("prompt", "a lighthouse at dusk")
        return host.edit("openrouter", EditRequest(**fields), api_key=sentinel_key,
                         base_url=emulator.base_url)

    return run


@functools.lru_cache(maxsize=1)
def chat_request_validator() -> Any:
    """A validator for OpenRouter's `ChatRequest` schema (loaded once per session)."""
    yaml = pytest.importorskip("yaml")
    validators = pytest.importorskip("openapi_schema_validator")
    if not SPEC_PATH.is_file():
        pytest.skip(f"OpenRouter OpenAPI spec not found at {SPEC_PATH}")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    spec = yaml.load(SPEC_PATH.read_text(encoding="utf-8"), Loader=loader)
    schema = {"$ref": "#/components/schemas/ChatRequest", "components": spec["components"]}
    return validators.OAS31Validator(schema)


def assert_valid_chat_requests(emulator: OpenRouterEmulator) -> int:
    """Every chat request the emulator received validates against `ChatRequest`; returns the count."""
    validator = chat_request_validator()
    sent = emulator.requests_to(r"/chat/completions$", "POST")
    for request in sent:
        errors = sorted(validator.iter_errors(request.json()), key=lambda e: list(e.path))
        assert not errors, "; ".join(f"{list(e.path)}: {e.message[:200]}" for e in errors[:5])
    return len(sent)


@pytest.fixture
def png() -> Callable[..., ImageData]:
    """`png(colour, size)`: a solid-colour PNG as ImageData."""
    return image


@pytest.fixture
def assert_valid() -> Callable[[OpenRouterEmulator], int]:
    """`assert_valid(emulator)`: every chat request sent validates against `ChatRequest`."""
    chat_request_validator()
    return assert_valid_chat_requests
