"""apiedit provider plugin for the Google Gemini API image models (Nano Banana family).

Environment: APIEDIT_GEMINI_TRANSPORT=auto|sdk|rest (google-genai when usable, default auto),
APIEDIT_GEMINI_API_VERSION (default v1beta). No SDK is imported until the first call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import apiedit
from apiedit import ConversationMode, EditRequest, EditResult, ModelInfo, ProviderInfo
from apiedit.settings import ProviderSettings

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from apiedit.batch.types import BatchItem, BatchJob, BatchLine, BatchStatus
    from apiedit.pricing import Price

__version__ = "0.1.0"
# History state may carry `apiedit.conversation.lazyimage.ImageText` (wire.py refers to the
# uploaded file or builds the text itself), so a conversation need not read every image.
LAZY_HISTORY_STATE = True

PROVIDER_INFO = ProviderInfo(
    id="gemini",
    label="Google Gemini",
    key_env_vars=("GEMINI_API_KEY", "GOOGLE_API_KEY"),
    default_base_url="https://generativelanguage.googleapis.com",
    docs_url="https://ai.google.dev/gemini-api/docs/image-generation",
    key_url="https://aistudio.google.com/apikey",
    conversation=ConversationMode.NATIVE,
)


@apiedit.hookimpl
def provider_info() -> ProviderInfo:
    return PROVIDER_INFO


@apiedit.hookimpl
def list_models(refresh: bool, settings: ProviderSettings) -> list[ModelInfo]:
    from .listing import fetch_models
    from .models import TABLE

    return TABLE.list_models(settings, refresh=refresh, fetch=lambda: fetch_models(settings))


@apiedit.hookimpl
def model_info(model: str) -> ModelInfo | None:
    from .models import curated_model

    return curated_model(model)


@apiedit.hookimpl
def supports_conversation(model: str) -> bool:
    from .models import IMAGE_CAPS, curated_model

    known = curated_model(model)  # live-only models get IMAGE_CAPS too (see live_model_info)
    return apiedit.Capability.CONVERSATION in (known.capabilities if known else IMAGE_CAPS)


@apiedit.hookimpl
def edit(request: EditRequest, settings: ProviderSettings) -> EditResult:
    from .generate import generate_images

    return generate_images(request, settings)


@apiedit.hookimpl
def price(model: str, request: EditRequest) -> Price | None:
    from .prices import price_for

    return price_for(model, request)

# ---- native batch (Gemini Batch Mode, half price): see batch.py ----------------------------


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
