"""Multi-turn conversations that survive restarts: `Conversation` and the store behind it.

Imported on first use of `apiedit.Conversation`, so `import apiedit` stays free of sqlite3.
"""

from __future__ import annotations

from .session import Conversation
from .store import (
    DEFAULT_MAX_IMAGES,
    DEFAULT_MAX_MESSAGES,
    ConversationStore,
    ConversationSummary,
    Exchange,
    default_store,
    store_at,
)

__all__ = [
    "DEFAULT_MAX_IMAGES",
    "DEFAULT_MAX_MESSAGES",
    "Conversation",
    "ConversationStore",
    "ConversationSummary",
    "Exchange",
    "default_store",
    "store_at",
]
