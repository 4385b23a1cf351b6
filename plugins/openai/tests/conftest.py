"""Fixtures for the OpenAI plugin tests: a host, the emulator, sample images, the OpenAPI spec."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from apiedit.host import Host
from apiedit.types import EditRequest, EditResult, ImageData
from apiedit_openai.emulator import OpenAIEmulator

SPEC_PATH = Path(
    os.environ.get("APIEDIT_OPENAI_SPEC")
    or Path(__file__).resolve().parents[4] / "shared" / "reference" / "specs" / "openai-openapi.yaml"
)


def make_png(colour: tuple[int, ...] = (200, 30, 30), size: tuple[int, int] = (64, 48),
             mode: str = "RGB") -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new(mode, size, colour).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def png() -> Callable[..., bytes]:
    """`png(colour, size, mode)`: a solid-colour PNG."""
    return make_png


@pytest.fixture
def host(apiedit_home: Path, monkeypatch: pytest.MonkeyPatch) -> Host:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("APIEDIT_OPENAI_BASE_URL", raising=False)
    return Host(env={"APIEDIT_LOAD_PLUGINS": "openai"})


@pytest.fixture
def emulator(emulator_factory: Callable[..., Any]) -> OpenAIEmulator:
    return emulator_factory(OpenAIEmulator)


@pytest.fixture
def call(host: Host, emulator: OpenAIEmulator, sentinel_key: str) -> Callable[..., EditResult]:
    """`call(model=..., prompt=..., images=[bytes...], ...)` through the host, over HTTP."""

    def run(*, images: tuple[bytes, ...] | list[bytes] = (), allow_unlisted: bool = False,
            **fields: Any) -> EditResult:
        fields.setdefault("model", "gpt-image-1.5")
        fields.setdefault("prompt", "a red fox in snow")
        if isinstance(fields.get("mask"), bytes):
            fields["mask"] = ImageData(fields["mask"])
        request = EditRequest(images=tuple(ImageData(i) for i in images), **fields)
        return host.edit("openai", request, api_key=sentinel_key, base_url=emulator.base_url,
                         allow_unlisted=allow_unlisted)

    return run


@pytest.fixture
def direct(host: Host, emulator: OpenAIEmulator, sentinel_key: str) -> Callable[..., EditResult]:
    """The plugin's edit hook without the host's model checks: what an unlisted override, a
    relay that still serves a model, or a third-party caller reaches."""
    from apiedit_openai import edit

    def run(*, images: tuple[bytes, ...] | list[bytes] = (), **fields: Any) -> EditResult:
        fields.setdefault("prompt", "a red fox in snow")
        request = EditRequest(images=tuple(ImageData(i) for i in images), **fields)
        settings = host.settings("openai", api_key=sentinel_key, base_url=emulator.base_url)
        return edit(request, settings)

    return run


# ---- the OpenAPI spec --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def openai_spec() -> dict[str, Any]:
    """The vendored OpenAI OpenAPI document, parsed once per session (~1 s with libyaml)."""
    yaml = pytest.importorskip("yaml")
    if not SPEC_PATH.is_file():
        pytest.skip(f"OpenAI OpenAPI spec not found at {SPEC_PATH} (set APIEDIT_OPENAI_SPEC)")

    loader = type("SpecLoader", (getattr(yaml, "CSafeLoader", yaml.SafeLoader),), {})
    # Keep dates as strings, as JSON would: the spec is JSON Schema, not YAML timestamps.
    loader.yaml_implicit_resolvers = {
        key: [r for r in resolvers if r[0] != "tag:yaml.org,2002:timestamp"]
        for key, resolvers in loader.yaml_implicit_resolvers.items()
    }
    with SPEC_PATH.open(encoding="utf-8") as fh:
        return yaml.load(fh, Loader=loader)


@pytest.fixture(scope="session")
def spec_errors(openai_spec: dict[str, Any]) -> Callable[[str, Any], list[str]]:
    """`spec_errors(schema_name, instance)`: the OAS 3.1 validation errors, as readable strings."""
    validators = pytest.importorskip("openapi_schema_validator")
    cache: dict[str, Any] = {}

    def check(schema_name: str, instance: Any) -> list[str]:
        if schema_name not in cache:
            schema = {"$ref": f"#/components/schemas/{schema_name}",
                      "components": openai_spec["components"]}
            cache[schema_name] = validators.OAS31Validator(schema)
        return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
                for e in cache[schema_name].iter_errors(instance)]

    return check


@pytest.fixture(scope="session")
def schema_properties(openai_spec: dict[str, Any]) -> Callable[[str], dict[str, Any]]:
    """`schema_properties(name)`: the `properties` of a component schema."""
    return lambda name: openai_spec["components"]["schemas"][name]["properties"]
