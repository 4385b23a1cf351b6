"""Claims on a conversation's next turn, so that one turn is paid for once.

Two senders of the identical turn (same request from the same point of the conversation, in
two threads or processes) must not both call the provider. `claim_turn` decides, in one
`BEGIN IMMEDIATE` transaction, between: the turn is already stored (return it), another
sender holds a live claim on it (wait for its answer), or the caller now holds the claim
(call the provider, store the answer, release). A claim of a process that died, or one older
than its lease, no longer counts, so a crash never blocks the conversation for long.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import time
import uuid
from typing import Callable, Literal

import attrs

from ..errors import ConfigurationError
from .database import Database

__all__ = ["Claim", "claim_turn", "release_claim"]

_TABLE = """
CREATE TABLE IF NOT EXISTS turn_claims (
    conversation TEXT NOT NULL,
    request_key TEXT NOT NULL,
    token TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (conversation, request_key)
)
"""
_HOST = socket.gethostname()


@attrs.frozen
class Claim:
    """What `claim_turn` found: `stored` (turn `turn` is the answer), `busy` (someone else is
    sending it) or `mine` (call the provider; `parent_key` is the turn it continues from)."""

    state: Literal["stored", "busy", "mine"]
    request_key: str
    parent_key: str | None = None
    turn: int | None = None
    token: str | None = None


def _alive(host: str, pid: int) -> bool:
    if host != _HOST:
        return True  # another machine sharing the file: trust the lease
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def claim_turn(
    db: Database, conversation: str, key_for: Callable[[str | None], str], *, lease_s: float
) -> Claim:
    """Atomically: the stored turn this request repeats, a live claim on it, or a new claim.

    `key_for(parent_key)` is the request's key when it continues from the turn `parent_key`.
    """
    with db.write() as conn:
        conn.execute(_TABLE)
        newest = conn.execute(
            "SELECT e.turn, e.request_key, e.parent_key FROM exchanges e JOIN conversations c "
            "ON c.id = e.conversation_id WHERE c.name = ? ORDER BY e.turn DESC LIMIT 1",
            (conversation,),
        ).fetchone()
        if newest is not None and key_for(newest[2]) == newest[1]:
            return Claim("stored", newest[1], newest[2], turn=int(newest[0]))
        parent = newest[1] if newest is not None else None
        key = key_for(parent)
        held = conn.execute(
            "SELECT host, pid, expires_at FROM turn_claims WHERE conversation = ? AND "
            "request_key = ?",
            (conversation, key),
        ).fetchone()
        if held is not None and held[2] > time.time() and _alive(held[0], int(held[1])):
            return Claim("busy", key, parent)
        token = uuid.uuid4().hex
        conn.execute(
            "INSERT OR REPLACE INTO turn_claims VALUES (?, ?, ?, ?, ?, ?)",
            (conversation, key, token, _HOST, os.getpid(), time.time() + lease_s),
        )
        return Claim("mine", key, parent, token=token)


def release_claim(db: Database, conversation: str, claim: Claim) -> None:
    """Drop the caller's claim (its answer is stored, or it failed and others may try)."""
    try:
        with db.write() as conn:
            conn.execute(
                "DELETE FROM turn_claims WHERE conversation = ? AND request_key = ? AND token = ?",
                (conversation, claim.request_key, claim.token),
            )
    except (sqlite3.Error, ConfigurationError):
        pass  # the lease or the pid check frees it later
