"""The run's journal: one SQLite file (WAL) in the output folder, the truth for resume.

A line is marked `sending` (committed) before its paid call starts, so that after a crash or
kill -9 a line whose outcome nobody saw is known: resume marks it `unknown` ("may have been
billed") and does not send it again unless the user asks (`--retry-unknown`).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Iterator

__all__ = ["Journal", "STATES"]

STATES = ("pending", "sending", "submitted", "done", "failed", "unknown")
JOURNAL_NAME = "journal.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS lines (
    id TEXT PRIMARY KEY, seq INTEGER NOT NULL, provider TEXT NOT NULL, model TEXT NOT NULL,
    hash TEXT, line TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'pending', mode TEXT,
    job_id TEXT, request_id TEXT, outputs TEXT, error_type TEXT, error_message TEXT,
    cost TEXT, reused INTEGER NOT NULL DEFAULT 0, updated REAL NOT NULL);
CREATE INDEX IF NOT EXISTS lines_hash ON lines(hash, state);
CREATE TABLE IF NOT EXISTS jobs (job_id TEXT PRIMARY KEY, provider TEXT NOT NULL,
    token TEXT NOT NULL, data TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'submitted');
"""


class Journal:
    """Thread-safe access to DIR/journal.sqlite (one connection, serialised by a lock)."""

    def __init__(self, directory: str | Path) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / JOURNAL_NAME
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a committed `sending` survives power loss
        self._db.executescript(_SCHEMA)

    @classmethod
    def exists(cls, directory: str | Path) -> bool:
        return (Path(directory) / JOURNAL_NAME).is_file()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _exec(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # -- meta
    def get_meta(self, key: str) -> str | None:
        rows = self._exec("SELECT value FROM meta WHERE key=?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        self._exec("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    # -- lines
    def add_lines(self, rows: list[tuple[str, str, str, dict[str, Any]]]) -> int:
        """Add (id, provider, model, line json) rows not journaled yet; returns how many new."""
        with self._lock:
            start = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM lines").fetchone()[0]
            before = self._db.total_changes
            self._db.execute("BEGIN")
            for i, (ident, provider, model, line) in enumerate(rows, start + 1):
                self._db.execute(
                    "INSERT OR IGNORE INTO lines (id, seq, provider, model, line, updated) "
                    "VALUES (?, ?, ?, ?, ?, ?)", (ident, i, provider, model, json.dumps(line), time.time()))
            self._db.execute("COMMIT")
            return self._db.total_changes - before

    def update(self, ident: str, **fields: Any) -> None:
        if "outputs" in fields and fields["outputs"] is not None:
            fields["outputs"] = json.dumps(fields["outputs"])
        fields["updated"] = time.time()
        names = ", ".join(f"{k}=?" for k in fields)
        self._exec(f"UPDATE lines SET {names} WHERE id=?", (*fields.values(), ident))

    def rows(self, state: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM lines" + (" WHERE state=?" if state else "") + " ORDER BY seq"
        with self._lock:
            cur = self._db.execute(sql, (state,) if state else ())
            names = [d[0] for d in cur.description]
            out = [dict(zip(names, r)) for r in cur.fetchall()]
        for row in out:
            row["line"] = json.loads(row["line"])
            row["outputs"] = json.loads(row["outputs"]) if row["outputs"] else []
        return out

    def iter_rows(self) -> Iterator[dict[str, Any]]:
        yield from self.rows()

    def done_with_hash(self, digest: str) -> dict[str, Any] | None:
        rows = self._exec("SELECT id, outputs, request_id FROM lines WHERE hash=? AND state='done' "
                          "ORDER BY seq LIMIT 1", (digest,))
        return {"id": rows[0][0], "outputs": json.loads(rows[0][1] or "[]"),
                "request_id": rows[0][2]} if rows else None

    def counts(self) -> dict[str, int]:
        rows = self._exec("SELECT state, COUNT(*) FROM lines GROUP BY state")
        return {state: 0 for state in STATES} | {s: n for s, n in rows}

    def mark_interrupted(self) -> int:
        """Lines left `sending` by a crash: their outcome is unknown (they may have been billed)."""
        with self._lock:
            cur = self._db.execute(
                "UPDATE lines SET state='unknown', error_type='OutcomeUnknown', error_message=?, "
                "updated=? WHERE state='sending'",
                ("the run stopped while this request was in flight: it may have been billed; "
                 "not re-sent (resume --retry-unknown sends it again)", time.time()))
            return cur.rowcount

    def retry_unknown(self) -> int:
        with self._lock:
            cur = self._db.execute("UPDATE lines SET state='pending', error_type=NULL, "
                                   "error_message=NULL WHERE state='unknown'")
            return cur.rowcount

    # -- native jobs
    def add_job(self, job_id: str, provider: str, token: str, data: dict[str, Any]) -> None:
        self._exec("INSERT OR REPLACE INTO jobs (job_id, provider, token, data) VALUES (?,?,?,?)",
                   (job_id, provider, token, json.dumps(data)))

    def jobs(self, state: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT job_id, provider, token, data, state FROM jobs" + (" WHERE state=?" if state else "")
        return [{"job_id": j, "provider": p, "token": t, "data": json.loads(d), "state": s}
                for j, p, t, d, s in self._exec(sql, (state,) if state else ())]

    def set_job_state(self, job_id: str, state: str) -> None:
        self._exec("UPDATE jobs SET state=? WHERE job_id=?", (state, job_id))


def atomic_write(path: Path, data: bytes) -> None:
    """Write via a temporary file and rename, so a file is either whole or absent."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
