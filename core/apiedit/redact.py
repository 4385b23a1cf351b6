"""Keeps keys out of logs, exception text and reprs.

Every key the host resolves is registered here; `redact()` replaces each occurrence (and
anything shaped like a credential in a header, query string or JSON body) with a mask.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

__all__ = [
    "MASK", "RedactingFilter", "contains_secret", "get_logger", "redact", "redact_data",
    "register_secret",
]

MASK = "***"
_MIN_SECRET_LEN = 6

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None

# Credential shapes that must never survive even if the key was not registered.
_SHAPES = [
    re.compile(r"(?i)(authorization\s*[:=]\s*['\"]?(?:bearer|basic|token)\s+)[^\s'\",}]+"),
    re.compile(r"(?i)((?:x-goog-api-key|x-api-key|api-key|api_key|apikey)['\"]?\s*[:=]\s*['\"]?)[^\s'\",}&]+"),
    re.compile(r"(?i)([?&](?:key|api_key|apikey|access_token|token)=)[^&\s'\"#]+"),
    re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://)[^\s/?#@'\"]+(?=@)"),  # user:password@ in a URL
]


def register_secret(secret: str | None) -> None:
    """Remember a key so that every later `redact()` masks it."""
    global _pattern
    if not secret or len(secret) < _MIN_SECRET_LEN:
        return
    with _lock:
        if secret in _secrets:
            return
        _secrets.add(secret)
        ordered = sorted(_secrets, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(s) for s in ordered))


def contains_secret(text: str) -> bool:
    """True when `text` holds a registered key (e.g. a header a plugin invented for it)."""
    pattern = _pattern
    return pattern is not None and pattern.search(text) is not None


def redact(text: object) -> str:
    """Return `text` as a string with every known key and credential shape masked."""
    out = text if isinstance(text, str) else str(text)
    pattern = _pattern
    if pattern is not None:
        out = pattern.sub(MASK, out)
    for shape in _SHAPES:
        out = shape.sub(lambda m: m.group(1) + MASK, out)
    return out


def redact_data(value: Any) -> Any:
    """`value` with every string inside (dict keys and values, list items) redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact_data(k): redact_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact_data(v) for v in value)
    return value


class RedactingFilter(logging.Filter):
    """A logging filter that redacts the rendered message and drops the args."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not hide the log line
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(
                logging.Formatter().formatException(record.exc_info)  # type: ignore[arg-type]
            )
            record.exc_info = None
        return True


_filter = RedactingFilter()


def get_logger(name: str) -> logging.Logger:
    """A logger whose records are redacted before any handler sees them."""
    logger = logging.getLogger(name)
    if _filter not in logger.filters:
        logger.addFilter(_filter)
    return logger
