"""OpenRouter on the wire: the model lists and the request; the rest is core's protocols.

One-shot requests to a model OpenRouter's Image API lists go to `POST /images`
(`images_api.py`); conversations and chat-only models use chat completions.

Quirks handled here (`providers.md` §3): `modalities` must ask for an image (`["image"]` for
image-only models), `image_config` carries the aspect ratio and the Gemini 3 size tier, the
attribution headers name the app, and 502/503 answers are failed generations OpenRouter does
not bill, so core may resend them.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import attrs
from apiedit.errors import UnsupportedFeatureError
from apiedit.protocols.openai_chat import build_messages, chat_edit, error_mapper, fetch_model_list
from apiedit.types import Capability, EditRequest, EditResult, ModelInfo

from . import images_api
from .models import STANDARD_RATIOS, TABLE, modalities_for, model_from_listing

if TYPE_CHECKING:
    from apiedit.settings import ProviderSettings

__all__ = ["APP_TITLE", "APP_URL", "attribution_headers", "edit", "fetch_models"]

APP_TITLE = "ComfyUI API Image Edit (apiedit)"
APP_URL: str | None = None  # no published home page yet: HTTP-Referer only when the env var sets one
RETRYABLE = frozenset({502, 503})  # OpenRouter bills successful generations only (§3.7, §8)
_RATIO_OF_SIZE = {  # OpenRouter's own aspect-ratio table (§3.3), to suggest the right ratio
    "1024x1024": "1:1", "832x1248": "2:3", "1248x832": "3:2", "864x1184": "3:4",
    "1184x864": "4:3", "896x1152": "4:5", "1152x896": "5:4", "768x1344": "9:16",
    "1344x768": "16:9", "1536x672": "21:9",
}


def attribution_headers() -> dict[str, str]:
    """OpenRouter's app attribution; `X-Title` is the older spelling some proxies still read."""
    url = os.environ.get("APIEDIT_OPENROUTER_APP_URL") or APP_URL
    headers = {"X-OpenRouter-Title": APP_TITLE, "X-Title": APP_TITLE}
    return {"HTTP-Referer": url, **headers} if url else headers


# ---- models ----------------------------------------------------------------------------------


def fetch_models(settings: ProviderSettings) -> list[ModelInfo]:
    """Every model that can output images (`/models` lists text models only by default), each
    marked with whether the Image API (`GET /images/models`) serves it."""
    found = fetch_model_list(
        settings, parse=model_from_listing, params={"output_modalities": "image"},
        headers=attribution_headers(), hint="check the base URL (it should end in /api/v1).",
    )
    served = images_api.fetch_image_api_ids(settings, attribution_headers(), error_mapper(settings))
    marked = [attrs.evolve(m, extra={**m.extra, "image_api": m.id in served}) for m in found]
    listed = {m.id for m in found}
    for model_id in sorted(served - listed):  # served by the Image API only
        marked.append(ModelInfo(model_id, model_id, Capability.GENERATE | Capability.EDIT
                                | Capability.MULTI_IMAGE, max_input_images=16,
                                aspect_ratios=STANDARD_RATIOS, max_n=images_api.MAX_N,
                                verified=False, extra={"image_api": True,
                                                       "output_modalities": ["image"]}))
    return marked


def find_model(model_id: str, settings: ProviderSettings) -> ModelInfo | None:
    return TABLE.find_model(model_id, settings)


# ---- one edit --------------------------------------------------------------------------------


def _check_size(request: EditRequest) -> None:
    if request.size and request.size != "auto":
        ratio = _RATIO_OF_SIZE.get(request.size)
        instead = f" ({request.size} is aspect ratio {ratio})" if ratio else ""
        raise UnsupportedFeatureError(
            f"OpenRouter image models take an aspect ratio and a resolution tier, not a pixel "
            f"size: clear the size and set the aspect ratio instead{instead}."
        )


def request_body(request: EditRequest, model: ModelInfo | None,
                 messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The `ChatRequest` for one image (OpenRouter's OpenAPI schema)."""
    body: dict[str, Any] = {
        "model": request.model,
        "messages": messages,
        "modalities": modalities_for(model),
    }
    image_config: dict[str, Any] = {}
    if request.aspect_ratio:
        image_config["aspect_ratio"] = request.aspect_ratio
    if request.resolution:
        image_config["image_size"] = request.resolution
    extra_config = request.extra.get("image_config")
    if isinstance(extra_config, dict):
        image_config.update(extra_config)
    if image_config:
        body["image_config"] = image_config
    if request.seed is not None and (model is None or model.supports(Capability.SEED)):
        body["seed"] = request.seed
    for key in ("modalities", "provider"):  # power users: routing preferences, forced modalities
        if key in request.extra:
            body[key] = request.extra[key]
    return body


def edit(request: EditRequest, settings: ProviderSettings) -> EditResult:
    settings.require_key()
    model = find_model(request.model, settings)
    if not images_api.serves(model, request):  # the Image API takes a `size`; chat does not
        _check_size(request)
    warnings: list[str] = []
    recommended = model.extra.get("recommended_max_input_images") if model else None
    if isinstance(recommended, int) and len(request.images) > recommended:
        warnings.append(
            f"{request.model} works best with up to {recommended} input images; "
            f"{len(request.images)} were sent."
        )
    if request.quality and not images_api.serves(model, request):
        warnings.append("OpenRouter chat image models take no quality setting; it was not sent.")
    if images_api.serves(model, request):
        return images_api.edit_via_images(request, settings, model, attribution_headers(), warnings)
    messages = build_messages(
        request, provider=settings.provider,
        max_pixels=model.max_input_pixels if model else None,
    )
    return chat_edit(
        request, settings, request_body(request, model, messages),
        headers=attribution_headers(),
        map_error=error_mapper(settings, retryable_statuses=RETRYABLE),
        conversation="native", warnings=warnings,
    )
