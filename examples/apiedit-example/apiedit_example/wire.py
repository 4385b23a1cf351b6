"""The example API's wire format: build the request, map errors, parse the answer."""

from __future__ import annotations

import requests

import apiedit
from apiedit.errormap import error_from_response
from apiedit.images import b64decode_any, b64encode, normalize_output
from apiedit.settings import ProviderSettings


def _map_error(response: requests.Response, settings: ProviderSettings) -> apiedit.ApiEditError:
    """The shared status mapping, plus this API's own word for a refusal."""
    error = error_from_response(response, settings.label, provider=settings.provider)
    if error.code == "model_not_found":  # every provider's "unknown model" is UnknownModelError
        return apiedit.UnknownModelError(str(error), provider=settings.provider, status=error.status)
    if error.code == "blocked":
        return apiedit.ContentBlockedError(
            f"{settings.label} refused the prompt. Rephrase it or use another provider.",
            reason="blocked", provider=settings.provider, status=error.status,
        )
    return error


def fetch_models(settings: ProviderSettings) -> list[apiedit.ModelInfo]:
    """The live list; ids the curated table does not describe are marked unverified."""
    body = settings.http.get_json(
        "/models", headers={"Authorization": f"Bearer {settings.require_key()}"},
        map_error=lambda r: _map_error(r, settings),
    )
    return [apiedit.ModelInfo(id=m["id"], verified=False) for m in body.get("data", [])]


def call(request: apiedit.EditRequest, settings: ProviderSettings) -> apiedit.EditResult:
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
        provider=settings.provider,
        model=request.model,
        text=answer.get("text", ""),
        request_id=response.headers.get("x-request-id"),
    )
