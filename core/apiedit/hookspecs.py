"""The plugin contract: four hooks (and optional ones, marked so), each answered by the one plugin that owns a provider.

A provider plugin implements these with `@apiedit.hookimpl` in the module named by its
`[project.entry-points.apiedit]` entry point; the entry-point name is the provider id.
Arguments may be added in later versions, never renamed or removed: an implementation may
accept any subset of them (pluggy passes only the ones it names, and never ones with a default).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Iterator, Sequence

import pluggy

if TYPE_CHECKING:
    from .batch.types import BatchItem, BatchJob, BatchLine, BatchStatus
    from .pricing import Price
    from .settings import ProviderSettings
    from .types import EditRequest, EditResult, ModelInfo, ProviderInfo

PROJECT = "apiedit"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec(firstresult=True)
def provider_info() -> ProviderInfo:
    """Static facts about the provider: id, label, key env vars, base URL. No I/O.

    .. versionadded:: 0.1
    """


@hookspec(firstresult=True)
def list_models(refresh: bool, settings: ProviderSettings) -> list[ModelInfo]:
    """The provider's image models; cached, with network I/O only when `refresh` is true.

    .. versionadded:: 0.1
    """


@hookspec(firstresult=True)
def edit(request: EditRequest, settings: ProviderSettings) -> EditResult:
    """Generate (no input images) or edit/compose; raise apiedit errors, never a placeholder.

    .. versionadded:: 0.1
    """


@hookspec(firstresult=True)
def supports_conversation(model: str) -> bool:
    """Whether `model` honours `EditRequest.history` natively.

    .. versionadded:: 0.1
    """


@hookspec(firstresult=True)
def model_info(model: str, settings: ProviderSettings) -> ModelInfo | None:
    """Optional: what the plugin knows about an id no list shows (its family's limits), or None.

    .. versionadded:: 0.2
    """


# ---- native batch APIs (optional; see apiedit.batch.types for the contract) ------------------
@hookspec(firstresult=True)
def supports_batch(model: str, settings: ProviderSettings) -> bool:
    """Optional: whether `model` can go through the provider's native batch API (no I/O).

    A plugin with `submit_batch` but without this hook is asked for every model.

    .. versionadded:: 0.3
    """


@hookspec(firstresult=True)
def submit_batch(
    model: str,
    lines: Sequence[BatchLine],
    token: str,
    journal: Callable[[BatchJob], None],
    settings: ProviderSettings,
) -> Sequence[BatchJob]:
    """Optional: send `lines` (all for `model`) as native batch job(s); return every job.

    Idempotent per `token`: jobs already carrying it (a resume after a crash) are returned, not
    created again. Call `journal(job)` right after creating each job, before creating the next,
    so that core has recorded it before anything else can fail. Uploading inputs is free;
    creating a job is the paid step (mark it `billable`).

    .. versionadded:: 0.3
    """


@hookspec(firstresult=True)
def poll_batch(job: BatchJob, settings: ProviderSettings) -> BatchStatus:
    """Optional: the job's current state (one cheap GET; core decides when to call again).

    .. versionadded:: 0.3
    """


@hookspec(firstresult=True)
def fetch_batch_results(job: BatchJob, settings: ProviderSettings) -> Iterator[BatchItem]:
    """Optional: the finished job's outcomes, streamed one `BatchItem` per line (never the whole
    result file in memory); lines missing from the results come back as errors.

    .. versionadded:: 0.3
    """


@hookspec(firstresult=True)
def cancel_batch(job: BatchJob, settings: ProviderSettings) -> BatchStatus:
    """Optional: ask the provider to cancel; finished lines stay fetchable.

    .. versionadded:: 0.3
    """


@hookspec(firstresult=True)
def price(model: str, request: EditRequest, settings: ProviderSettings) -> Price | None:
    """Optional: the published price of one output image of `request`, or None if unknown.

    No I/O (the settings carry no key): answer from a table whose rows name their source
    and date. Never a guess; None makes the estimate say "price unknown".

    .. versionadded:: 0.3
    """
