"""An example provider: configuration plus a request builder and a response parser."""

from __future__ import annotations

import requests

import apiedit
from apiedit.errormap import error_from_response
from apiedit.images import b64decode_any, b64encode, normalize_output
from apiedit.settings import ProviderSettings

MODELS = [
    apiedit.ModelInfo(
        id="example-image-1",
        label="Example Image 1",
        capabilities=apiedit.Capability.GENERATE | apiedit.Capability.EDIT
        | apiedit.Capability.MULTI_IMAGE | apiedit.Capability.SEED,
        max_input_images=4,
        max_n=1,
    )
]


@apiedit.hookimpl
def provider_info() -> apiedit.ProviderInfo:
    return apiedit.ProviderInfo(
        id="example",
        label="Example",
        key_env_vars=("EXAMPLE_API_KEY",),
        default_base_url="https://api.example.invalid/v1",
    )


@apiedit.hookimpl
def list_models(refresh: bool) -> list[apiedit.ModelInfo]:
    return MODELS


@apiedit.hookimpl
def supports_conversation(model: str) -> bool:
    return False


def _map_error(response: requests.Response, settings: ProviderSettings) -> apiedit.ApiEditError:
    """The shared status mapping, plus this API's own word for a refusal."""
    error = error_from_response(response, settings.label, provider=settings.provider)
    if error.code == "blocked":
        return apiedit.ContentBlockedError(
            f"{settings.label} refused the prompt. Rephrase it or use another provider.",
            reason="blocked", provider=settings.provider, status=error.status,
        )
    return error


@apiedit.hookimpl
def edit(request: apiedit.EditRequest, settings: ProviderSettings) -> apiedit.EditResult:
    body = {
        "model": request.model,
        "prompt": request.prompt,
        "images": [b64encode(image.data) for image in request.images],
        "seed": request.seed,
    }
    response = settings.http.request(
        "POST",
        "/generate",
        billable=True,
        json=body,
        headers={"Authorization": f"Bearer {settings.require_key()}"},
        map_error=lambda r: _map_error(r, settings),
    )
    answer = response.json()
    images = [normalize_output(b64decode_any(item)) for item in answer.get("images", [])]
    return apiedit.EditResult(
        images=images,
        provider="example",
        model=request.model,
        text=answer.get("text", ""),
        request_id=response.headers.get("x-request-id"),
    )
