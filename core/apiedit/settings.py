"""Everything a plugin needs for one call, resolved by the host: key, base URL, timeouts.

Plugins never look keys up themselves; the `repr` of these settings masks the key.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import attrs

from .errors import CancelledError, MissingKeyError
from .redact import MASK

if TYPE_CHECKING:
    from .http import HttpClient

__all__ = ["CancelToken", "PaidAnswer", "ProviderSettings"]


class CancelToken(threading.Event):
    """A cancel event that also notes when a billable request went out.

    Pass it as `cancel=`; after a cancelled call, `billable_sent` tells the user whether the
    provider may have charged for it.
    """

    billable_sent: bool = False

    def note_billable_sent(self) -> None:
        self.billable_sent = True


@attrs.frozen
class PaidAnswer:
    """A billable request the provider answered with success: kept for the call, so that a
    plugin that then fails to read it can still say it was billed and hand the answer over."""

    status: int
    request_id: str | None
    content: bytes = attrs.field(repr=False)


def _mask(value: str | None) -> str:
    return "None" if value is None else repr(MASK)


@attrs.frozen
class ProviderSettings:
    """Resolved configuration for one provider call."""

    provider: str
    label: str
    base_url: str
    api_key: str | None = attrs.field(default=None, repr=_mask)
    key_env_vars: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    connect_timeout: float = 10.0
    read_timeout: float = 300.0
    cache_dir: Path | None = None
    cancel: threading.Event | None = attrs.field(default=None, eq=False, repr=False)
    progress: Callable[[str], None] | None = attrs.field(default=None, eq=False, repr=False)
    paid: list[PaidAnswer] = attrs.field(factory=list, eq=False, repr=False)  # filled by http

    def require_key(self) -> str:
        """The key, or a MissingKeyError telling the user exactly where to put one."""
        if self.api_key:
            return self.api_key
        where = " or ".join(self.key_env_vars) or "an environment variable"
        raise MissingKeyError(
            f"No API key for {self.label}.",
            hint=f"Set {where}, or run `apiedit keys set {self.provider}` (in ComfyUI: the API "
                 "Image Edit key settings).",
            hint_id="missing_key", details={"env": where}, provider=self.provider,
        )

    @property
    def http(self) -> HttpClient:
        """The provider's pooled HTTP client, bound to these timeouts and this cancel event."""
        from .http import client_for

        return client_for(self)

    def report(self, text: str) -> None:
        """Send a progress line to whoever is watching (ComfyUI shows it under the node)."""
        if self.progress is not None:
            try:
                self.progress(text)
            except Exception:  # a broken progress sink must never fail the call
                pass

    @property
    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()

    def check_cancelled(self) -> None:
        if self.cancelled:
            raise CancelledError("Cancelled by the user.", provider=self.provider)

    def note_billable_sent(self) -> None:
        """Called by the HTTP client just before a request that may cost money is sent."""
        note = getattr(self.cancel, "note_billable_sent", None)
        if note is not None:
            note()

    def sleep(self, seconds: float) -> None:
        """Sleep that wakes up at once when the call is cancelled."""
        if self.cancel is None:
            threading.Event().wait(seconds)
        elif self.cancel.wait(seconds):
            self.check_cancelled()
