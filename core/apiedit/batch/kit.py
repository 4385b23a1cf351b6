"""Helpers for plugins that implement the native batch hooks (`fetch_batch_results` and kin)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

from ..errors import ProviderError
from .types import BatchItem, BatchJob, BatchStatus

if TYPE_CHECKING:
    from ..settings import ProviderSettings

__all__ = ["unanswered_items"]


def unanswered_items(job: BatchJob, seen: set[str], status: BatchStatus,
                     settings: ProviderSettings) -> Iterator[BatchItem]:
    """A typed error for each of `job`'s lines the provider's result files did not mention
    (a cancelled, expired or failed job): every line ends with an outcome, none is lost."""
    why = status.message or f"the job ended {status.provider_state or status.state.value}"
    for custom_id in job.custom_ids:
        if custom_id not in seen:
            yield BatchItem(custom_id, error=ProviderError(
                f"{settings.label} returned no result for this request ({why}). "
                "Submit the line again.", provider=settings.provider,
                code=status.provider_state or None))
