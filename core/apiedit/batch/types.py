"""The contract between the batch runner (core) and a plugin's native batch hooks.

A provider with a native batch API (Gemini Batch Mode, OpenAI's Batch API: half price, hours
instead of seconds) implements the optional hooks `submit_batch`, `poll_batch`,
`fetch_batch_results` and `cancel_batch` (see `apiedit.hookspecs`). Core owns the manifest,
the journal, the budget and the report; the plugin owns the wire: how lines are encoded,
uploaded, split into jobs and read back.

Why `token`: creating a provider job is not idempotent (a repeat makes a second, paid job), and
a crash can fall between the provider creating a job and core journaling it. So every job a
plugin creates carries the token core gives it (Gemini: the job's display name; OpenAI: the
batch's metadata), and `submit_batch` first looks for jobs already carrying it and returns
those instead of creating new ones.
"""

from __future__ import annotations

import enum
from typing import Any, Mapping

import attrs

from ..types import EditRequest, EditResult, _freeze_mapping

__all__ = ["BatchItem", "BatchJob", "BatchLine", "BatchState", "BatchStatus"]


@attrs.frozen
class BatchLine:
    """One manifest request as the plugin receives it; `custom_id` is unique within a run."""

    custom_id: str
    request: EditRequest


class BatchState(str, enum.Enum):
    """A provider job's state, in core's words (each plugin maps its own words onto these)."""

    QUEUED = "queued"
    RUNNING = "running"
    CANCELLING = "cancelling"
    SUCCEEDED = "succeeded"
    PARTIALLY_SUCCEEDED = "partially_succeeded"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        """No further change will come; results (possibly partial) can be fetched."""
        return self in _TERMINAL


_TERMINAL = frozenset({BatchState.SUCCEEDED, BatchState.PARTIALLY_SUCCEEDED, BatchState.FAILED,
                       BatchState.EXPIRED, BatchState.CANCELLED})


@attrs.frozen
class BatchJob:
    """One provider-side job, as core journals it before it polls.

    `job_id` is the provider's name for it (Gemini `batches/…`, OpenAI `batch_…`);
    `custom_ids` the lines it carries (a plugin may split one submission into several jobs:
    OpenAI's 50,000-line / 200 MB file limit, generations vs edits endpoints); `state` is the
    plugin's own JSON-serialisable bookkeeping (input file ids, endpoint, expiry times) that
    it needs to poll, fetch, cancel or re-upload on a later resume.
    """

    provider: str
    model: str
    job_id: str
    token: str
    custom_ids: tuple[str, ...] = attrs.field(converter=tuple)
    state: Mapping[str, Any] = attrs.field(factory=dict, converter=_freeze_mapping)

    def to_json(self) -> dict[str, Any]:
        return {"provider": self.provider, "model": self.model, "job_id": self.job_id,
                "token": self.token, "custom_ids": list(self.custom_ids),
                "state": _thaw(self.state)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "BatchJob":
        return cls(provider=data["provider"], model=data["model"], job_id=data["job_id"],
                   token=data["token"], custom_ids=tuple(data["custom_ids"]),
                   state=data.get("state") or {})


@attrs.frozen
class BatchStatus:
    """What `poll_batch` (and `cancel_batch`) saw; counts are None when the provider omits them."""

    state: BatchState
    total: int | None = None
    succeeded: int | None = None
    failed: int | None = None
    provider_state: str = ""  # the provider's own word, for status output
    message: str = ""


@attrs.frozen
class BatchItem:
    """One line's outcome: exactly one of `result` (images decoded) and `error` (typed) is set."""

    custom_id: str
    result: EditResult | None = None
    error: Exception | None = None

    def __attrs_post_init__(self) -> None:
        if (self.result is None) == (self.error is None):
            raise ValueError("BatchItem needs exactly one of result and error")


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_thaw(v) for v in value]
    return value
