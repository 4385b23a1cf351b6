"""apiedit provider plugin for ModelScope API-Inference (Qwen-Image, Qwen-Image-Edit, ...).

Image generation there is an asynchronous task: submit once, poll, download the output URLs
(reference providers.md §5). No conversation of its own: continue by feeding the last image back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import apiedit
from apiedit import ConversationMode, ProviderInfo

if TYPE_CHECKING:
    from apiedit.pricing import Price
    from apiedit import EditRequest, EditResult, ModelInfo
    from apiedit.settings import ProviderSettings

__version__ = "0.1.0"

INFO = ProviderInfo(
    id="modelscope",
    label="ModelScope",
    key_env_vars=("MODELSCOPE_API_KEY", "MODELSCOPE_SDK_TOKEN"),
    default_base_url="https://api-inference.modelscope.cn",
    docs_url="https://www.modelscope.cn/docs/model-service/API-Inference/intro",
    key_url="https://modelscope.cn/my/myaccesstoken",
    conversation=ConversationMode.LAST_IMAGE,
)


@apiedit.hookimpl
def provider_info() -> ProviderInfo:
    return INFO


@apiedit.hookimpl
def list_models(refresh: bool, settings: ProviderSettings) -> list[ModelInfo]:
    # The stored list and the table answer without the client module (and `requests`): ComfyUI
    # builds the node's schema at start-up from this hook. Only a refresh imports it.
    from .models import TABLE

    def fetch() -> list[ModelInfo]:
        from .client import fetch_models

        return fetch_models(settings)

    return TABLE.list_models(settings, refresh=refresh, fetch=fetch)


@apiedit.hookimpl
def model_info(model: str) -> ModelInfo | None:
    from .models import TABLE

    return TABLE.describe(model)


@apiedit.hookimpl
def edit(request: EditRequest, settings: ProviderSettings) -> EditResult:
    from .client import run

    return run(request, settings)


@apiedit.hookimpl
def supports_conversation(model: str) -> bool:
    return False

@apiedit.hookimpl
def price(model: str, request: EditRequest) -> Price | None:
    from .prices import price_for

    return price_for(model, request)
