"""Rules over a model list: which model is the default, which are refused or warned about, and
what to suggest for an id the provider does not know.

Dates come from the curated tables (each with its source) and from live lists; they are read at
call time, so a shutdown date that passes retires the model without a release.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable, Sequence

import attrs

from .errors import UnknownModelError
from .types import ModelInfo

__all__ = [
    "WARN_DAYS",
    "add_suggestions",
    "choose_default",
    "days_to_shutdown",
    "is_deprecated",
    "is_shut_down",
    "lifecycle_warning",
    "suggestions",
    "today",
    "with_lifecycle",
]

WARN_DAYS = 30  # a model this close to its shutdown date gives a warning in the result
_VERSION = re.compile(r"\d+(?:\.\d+)*")
_SNAPSHOT = re.compile(r"-\d{4}-\d{2}-\d{2}$|-\d{8}$")


def today() -> _dt.date:
    return _dt.datetime.now(_dt.timezone.utc).date()


def _date(value: str | None) -> _dt.date | None:
    if not value:
        return None
    try:
        return _dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def days_to_shutdown(model: ModelInfo, on: _dt.date | None = None) -> int | None:
    """Days until `shutdown_on` (0 or less: already shut down), or None if none is announced."""
    day = _date(model.shutdown_on)
    return None if day is None else (day - (on or today())).days


def is_shut_down(model: ModelInfo, on: _dt.date | None = None) -> bool:
    left = days_to_shutdown(model, on)
    return model.retired or (left is not None and left <= 0)


def is_deprecated(model: ModelInfo, on: _dt.date | None = None) -> bool:
    day = _date(model.deprecated_on)
    return day is not None and day <= (on or today())


def with_lifecycle(model: ModelInfo, on: _dt.date | None = None) -> ModelInfo:
    """The model marked `retired` once its shutdown date has passed (so every list agrees)."""
    if model.retired or not is_shut_down(model, on):
        return model
    return attrs.evolve(model, retired=True)


def lifecycle_warning(model: ModelInfo, label: str, on: _dt.date | None = None) -> str | None:
    """A warning for a model within WARN_DAYS of its shutdown, or deprecated; else None."""
    left = days_to_shutdown(model, on)
    instead = f" Switch to {model.replacement!r}." if model.replacement else ""
    if left is not None and 0 < left <= WARN_DAYS:
        return (f"{label} shuts model {model.id!r} down on {model.shutdown_on} "
                f"(in {left} day{'s' if left != 1 else ''}).{instead}")
    if is_deprecated(model, on) and not is_shut_down(model, on):
        when = f"; it shuts down on {model.shutdown_on}" if model.shutdown_on else ""
        return f"{label} deprecated model {model.id!r} on {model.deprecated_on}{when}.{instead}"
    return None


def _rank(model: ModelInfo) -> tuple[object, ...]:
    """Newer first: not a preview, higher version in the id, the alias over a dated snapshot
    (an alias follows the newest snapshot), later release."""
    found = _VERSION.search(model.id.rsplit("/", 1)[-1])
    version = tuple(int(p) for p in found.group().split(".")) if found else ()
    return ("preview" not in model.id, version, not _SNAPSHOT.search(model.id),
            model.released_on or "")


def choose_default(models: Sequence[ModelInfo], on: _dt.date | None = None) -> ModelInfo | None:
    """The newest current model of the provider's recommended family; never a retired one.

    Candidates are neither shut down, deprecated, nor missing from the key's live list, and
    their id is confirmed (by the live list, or by a primary source the table names). The
    recommended family (`extra["recommended"]`) wins, newest first (ties keep the table's
    order); without one, the first verified candidate in table order (curated entries come
    first, in the order the plugin prefers them), then any candidate, then any model not shut
    down.
    """
    def usable(m: ModelInfo) -> bool:
        confirmed = m.available is True or not m.extra.get("unconfirmed_id")
        return (not is_shut_down(m, on) and not is_deprecated(m, on) and m.available is not False
                and confirmed)

    pool = [m for m in models if usable(m)]
    recommended = [m for m in pool if m.extra.get("recommended")]
    if recommended:
        best = max(_rank(m) for m in recommended)
        return next(m for m in recommended if _rank(m) == best)
    for tier in ([m for m in pool if m.verified], pool,
                 [m for m in models if not is_shut_down(m, on)]):
        if tier:
            return tier[0]
    return None


def suggestions(model_id: str, known: Iterable[str], n: int = 3) -> list[str]:
    """The ids closest to `model_id` (difflib), for a "did you mean" in UnknownModelError."""
    ids = list(dict.fromkeys(known))
    bare = {i.rsplit("/", 1)[-1].lower(): i for i in ids}
    import difflib  # only when an id was mistyped

    close = difflib.get_close_matches(model_id.lower(), [i.lower() for i in ids], n=n, cutoff=0.5)
    close += difflib.get_close_matches(model_id.rsplit("/", 1)[-1].lower(), list(bare), n=n, cutoff=0.5)
    by_lower = {i.lower(): i for i in ids}
    out = [by_lower.get(c) or bare[c] for c in close]
    return list(dict.fromkeys(out))[:n]


def add_suggestions(exc: UnknownModelError, model_id: str, known: Iterable[str], provider: str,
                    label: str) -> UnknownModelError:
    """The provider's "unknown model" answer, with the closest known ids and where to look."""
    close = suggestions(model_id, known)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    exc.message = (f"{exc.message.rstrip()}{hint} Run `apiedit models {provider} --refresh` to see "
                   f"the models your {label} key can use.")
    exc.suggestions = tuple(close)
    return exc
