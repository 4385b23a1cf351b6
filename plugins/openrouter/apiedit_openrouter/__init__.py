"""OpenRouter for apiedit: Gemini, GPT-5 Image, FLUX and other image models (Image API and chat)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import apiedit
from apiedit.types import ConversationMode, ProviderInfo

if TYPE_CHECKING:
    from apiedit.pricing import Price
    from apiedit.settings import ProviderSettings
    from apiedit.types import EditRequest, EditResult, ModelInfo

PROVIDER = ProviderInfo(
    id="openrouter",
    label="OpenRouter",
    key_env_vars=("OPENROUTER_API_KEY",),
    default_base_url="https://openrouter.ai/api/v1",
    docs_url="https://openrouter.ai/docs/guides/overview/multimodal/image-generation",
    key_url="https://openrouter.ai/settings/keys",
    # The whole message history is resent each turn, with images and reasoning_details.
    conversation=ConversationMode.NATIVE,
)


@apiedit.hookimpl
def provider_info() -> ProviderInfo:
    return PROVIDER


@apiedit.hookimpl
def list_models(refresh: bool, settings: ProviderSettings) -> list[ModelInfo]:
    # The stored list and the table answer without the wire module (and `requests`): ComfyUI
    # builds the node's schema at start-up from this hook. Only a refresh imports it.
    from .models import TABLE

    def fetch() -> list[ModelInfo]:
        from .wire import fetch_models

        return fetch_models(settings)

    return TABLE.list_models(settings, refresh=refresh, fetch=fetch)


@apiedit.hookimpl
def model_info(model: str) -> ModelInfo | None:
    from .models import TABLE

    return TABLE.describe(model)


@apiedit.hookimpl
def edit(request: EditRequest, settings: ProviderSettings) -> EditResult:
    from .wire import edit as _edit

    return _edit(request, settings)


@apiedit.hookimpl
def supports_conversation(model: str) -> bool:
    from .models import supports_conversation as _supports

    return _supports(model)

@apiedit.hookimpl
def price(model: str, request: EditRequest) -> Price | None:
    from .prices import price_for

    return price_for(model, request)
