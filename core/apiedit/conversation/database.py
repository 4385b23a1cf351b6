"""The SQLite file behind the conversation store: schema, pragmas and transactions.

WAL mode (readers never wait for the writer), a busy timeout, `synchronous=FULL`, and every
write in `BEGIN IMMEDIATE`, so there is one writer at a time across threads and processes.
One connection per object and process, serialised by a lock; a child process after `fork()`
opens its own instead of touching the parent's.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Callable, Iterator

from ..errors import ConfigurationError
from ..redact import get_logger

__all__ = ["SCHEMA_VERSION", "Database"]

log = get_logger("apiedit.conversation")

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE conversations (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    max_messages INTEGER,            -- NULL: the store's default
    max_images INTEGER,
    reset_switch INTEGER             -- the last flag given to apply_reset_switch, NULL if never
);
CREATE TABLE exchanges (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    turn INTEGER NOT NULL,
    request_key TEXT NOT NULL,
    parent_key TEXT,
    info TEXT NOT NULL,
    created_at REAL NOT NULL,
    UNIQUE (conversation_id, turn)
);
CREATE TABLE messages (
    exchange_id INTEGER NOT NULL REFERENCES exchanges(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,       -- 0: the user's message, 1: the answer
    role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    text TEXT NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    state TEXT NOT NULL,             -- the provider's opaque state, JSON, verbatim
    PRIMARY KEY (exchange_id, position)
);
CREATE TABLE images (
    sha256 TEXT PRIMARY KEY,
    ext TEXT NOT NULL,
    size INTEGER NOT NULL
);
CREATE TABLE message_images (
    exchange_id INTEGER NOT NULL,
    message INTEGER NOT NULL,
    position INTEGER NOT NULL,
    sha256 TEXT NOT NULL REFERENCES images(sha256),
    mime_type TEXT NOT NULL,
    PRIMARY KEY (exchange_id, message, position),
    FOREIGN KEY (exchange_id, message) REFERENCES messages(exchange_id, position) ON DELETE CASCADE
);
CREATE INDEX message_images_by_sha256 ON message_images(sha256);
"""



def _is_busy(exc: sqlite3.OperationalError) -> bool:
    return "locked" in str(exc) or "busy" in str(exc)


class Database:
    """One SQLite file; `write()` and `read()` give a connection inside a transaction."""

    def __init__(
        self,
        path: Path,
        *,
        busy_timeout: float = 30.0,
        on_first_use: Callable[[], Any] | None = None,
    ) -> None:
        self.path = path
        self.busy_timeout = float(busy_timeout)
        self._on_first_use = on_first_use  # runs once per process, after the schema is ready
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self._first_use_done_in = 0

    def close(self) -> None:
        """Close the connection; it is reopened on next use."""
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    def _connection(self) -> sqlite3.Connection:
        # A connection inherited through fork() must not be used by the child: open its own.
        if self._conn is None or self._pid != os.getpid():
            self._conn = self._connect()
            self._pid = os.getpid()
        if self._first_use_done_in != self._pid:
            self._first_use_done_in = self._pid
            if self._on_first_use is not None:
                try:
                    self._on_first_use()
                except (sqlite3.Error, OSError, ConfigurationError) as exc:  # never fail a caller
                    log.debug("First-use maintenance of %s failed: %s", self.path, exc)
        return self._conn

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            str(self.path), timeout=self.busy_timeout, isolation_level=None,
            check_same_thread=False,  # serialised by self._lock
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            mode = self._retry_busy(lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
            if str(mode).lower() != "wal":
                log.warning("The conversation store %s could not use WAL mode (%s).", self.path, mode)
            conn.execute("PRAGMA synchronous = FULL")  # a paid answer survives a power cut
            conn.execute("PRAGMA foreign_keys = ON")
            self._retry_busy(lambda: self._migrate(conn))
        except BaseException:
            conn.close()
            raise
        return conn

    def _locked_error(self, exc: Exception) -> ConfigurationError:
        return ConfigurationError(
            f"The conversation store {self.path} stayed locked for {self.busy_timeout:.0f} s "
            f"({exc}). Is another program holding it open?"
        )

    def _retry_busy(self, action: Callable[[], Any]) -> Any:
        """Run `action`, retrying while another process holds a lock it needs (schema setup)."""
        deadline = time.monotonic() + self.busy_timeout
        while True:
            try:
                return action()
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise
                if time.monotonic() > deadline:
                    raise self._locked_error(exc) from exc
                time.sleep(0.05)

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise ConfigurationError(
                f"The conversation store {self.path} was written by a newer apiedit (schema "
                f"{version}, this one knows {SCHEMA_VERSION}). Upgrade apiedit or use another path."
            )
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:  # another process may have created it while we waited
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; it waits (busy timeout) for any other writer to finish."""
        with self._lock:
            conn = self._connection()
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise
                raise self._locked_error(exc) from exc
            try:
                yield conn
            except BaseException:
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
            try:
                conn.execute("COMMIT")
            except BaseException:
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """One consistent snapshot."""
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("COMMIT")
