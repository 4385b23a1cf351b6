"""PixelWords for apiedit: an OpenAI-compatible chat relay that returns images.

Also the generic path for any other OpenAI-compatible image reseller: point the base URL at it
(`APIEDIT_PIXELWORDS_BASE_URL`, the key file, or the node's base-URL input) and use its key.
UNCONFIRMED: PixelWords has no public API documentation (`providers.md` §6).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import apiedit
from apiedit.types import ConversationMode, ProviderInfo

if TYPE_CHECKING:
    from apiedit.pricing import Price
    from apiedit.settings import ProviderSettings
    from apiedit.types import EditRequest, EditResult, ModelInfo

PROVIDER = ProviderInfo(
    id="pixelwords",
    label="PixelWords (OpenAI-compatible relay)",
    key_env_vars=("PIXELWORDS_API_KEY", "APIEDIT_PIXELWORDS_API_KEY"),
    default_base_url="https://api.sydney-ai.com/v1",
    # The relay is chat-shaped: history is resent as messages (text turns + the last image).
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
