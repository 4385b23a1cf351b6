"""OpenAI image models (GPT Image, legacy DALL-E) for apiedit, through the Images API."""

from __future__ import annotations

from typing import TYPE_CHECKING

import apiedit
from apiedit.types import ConversationMode, ProviderInfo

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from apiedit.batch.types import BatchItem, BatchJob, BatchLine, BatchStatus
    from apiedit.pricing import Price
    from apiedit.settings import ProviderSettings
    from apiedit.types import EditRequest, EditResult, ModelInfo

PROVIDER = ProviderInfo(
    id="openai",
    label="OpenAI",
    key_env_vars=("OPENAI_API_KEY",),
    default_base_url="https://api.openai.com/v1",
    docs_url="https://platform.openai.com/docs/guides/image-generation",
    key_url="https://platform.openai.com/api-keys",
    # The Images API is stateless: a conversation continues by editing the last output.
    conversation=ConversationMode.LAST_IMAGE,
)


@apiedit.hookimpl
def provider_info() -> ProviderInfo:
    return PROVIDER


@apiedit.hookimpl
def list_models(refresh: bool, settings: ProviderSettings) -> list[ModelInfo]:
    from .listing import list_models as _list

    return _list(refresh, settings)


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
    return False


@apiedit.hookimpl
def price(model: str, request: EditRequest) -> Price | None:
    from .prices import price_for

    return price_for(model, request)


# ---- native batch (the Batch API, half price): see batch.py -------------------------------


@apiedit.hookimpl
def supports_batch(model: str, settings: ProviderSettings) -> bool:
    from .batch import supports_batch as _supports

    return _supports(model)


@apiedit.hookimpl
def submit_batch(model: str, lines: Sequence[BatchLine], token: str,
                 journal: Callable[[BatchJob], None], settings: ProviderSettings) -> list[BatchJob]:
    from .batch import submit_batch as _submit

    return _submit(model, lines, token, journal, settings)


@apiedit.hookimpl
def poll_batch(job: BatchJob, settings: ProviderSettings) -> BatchStatus:
    from .batch import poll_batch as _poll

    return _poll(job, settings)


@apiedit.hookimpl
def fetch_batch_results(job: BatchJob, settings: ProviderSettings) -> Iterator[BatchItem]:
    from .batch import fetch_batch_results as _fetch

    return _fetch(job, settings)


@apiedit.hookimpl
def cancel_batch(job: BatchJob, settings: ProviderSettings) -> BatchStatus:
    from .batch import cancel_batch as _cancel

    return _cancel(job, settings)
