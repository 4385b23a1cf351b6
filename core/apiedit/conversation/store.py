"""The conversation store: SQLite (WAL) for turns, content-addressed files for their images.

Turn k of a conversation is its k-th exchange: the user's message and the answer, always
written, pruned and copied together. One writer at a time (`BEGIN IMMEDIATE` plus a busy
timeout), readers never block, and it is safe across threads and processes. Each
conversation keeps its newest turns within a message and an image budget (20 and 10 by
default); image files no turn of any conversation refers to any more are deleted.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Iterable, Mapping

import attrs

from ..errors import ConfigurationError, InvalidInputError, ProviderError
from ..paths import data_dir
from ..redact import get_logger
from ..types import ImageData, Turn
from . import jsoncodec
from .database import SCHEMA_VERSION, Database
from .imagefiles import ImageFiles
from .lazyimage import StoredImage

__all__ = [
    "DEFAULT_MAX_IMAGES",
    "DEFAULT_MAX_MESSAGES",
    "SCHEMA_VERSION",
    "ConversationStore",
    "ConversationSummary",
    "Exchange",
    "TurnHead",
    "check_name",
    "default_store",
    "store_at",
]

log = get_logger("apiedit.conversation")

DEFAULT_MAX_MESSAGES = 20
DEFAULT_MAX_IMAGES = 10
DB_FILE_NAME = "conversations.sqlite3"
_READ_RETRIES = 3  # a pruning writer may delete a file between our snapshot and our read

@attrs.frozen
class Exchange:
    """Turn `turn` of a conversation: the user's message and the answer to it.

    `request_key` identifies the request that produced it (see `Conversation.send`), and
    `parent_key` is the key of the turn it continued from (None for a first turn).
    """

    turn: int
    user: Turn
    assistant: Turn
    request_key: str
    parent_key: str | None = None
    info: Mapping[str, Any] = attrs.field(factory=dict, converter=dict, eq=False)
    created_at: float = 0.0

    @property
    def messages(self) -> tuple[Turn, Turn]:
        return (self.user, self.assistant)


@attrs.frozen
class TurnHead:
    """A stored turn without its images or state (`ConversationStore.heads`)."""

    turn: int
    provider: str
    model: str
    request_key: str
    parent_key: str | None


@attrs.frozen
class ConversationSummary:
    """One line of `apiedit conversations list`."""

    name: str
    turns: int
    first_turn: int | None
    last_turn: int | None
    images: int
    updated_at: float


def check_name(name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInputError("A conversation needs a name (any non-empty text).")
    return name.strip()


def _check_limit(value: int | None, what: str, minimum: int) -> int | None:
    if value is not None and (not isinstance(value, int) or value < minimum):
        raise ValueError(f"{what} must be an integer >= {minimum}, not {value!r}")
    return value


def _limit(value: int, what: str, minimum: int) -> int:
    _check_limit(value, what, minimum)
    return value


class ConversationStore:
    """Conversations in one SQLite file, their images in `<file stem>-images/` beside it.

    The default file is `data_dir()/conversations.sqlite3` (`APIEDIT_DATA_DIR`). One store
    object may be shared by any number of threads; any number of processes may open the same
    file. Limits given here are the defaults for conversations that set none of their own.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        max_messages: int = DEFAULT_MAX_MESSAGES,
        max_images: int = DEFAULT_MAX_IMAGES,
        busy_timeout: float = 30.0,
    ) -> None:
        self.path = Path(path).expanduser() if path is not None else data_dir() / DB_FILE_NAME
        self.images = ImageFiles(self.path.parent / f"{self.path.stem}-images")
        self.max_messages = _limit(max_messages, "max_messages", 2)
        self.max_images = _limit(max_images, "max_images", 1)
        # Crash leftovers (files of writers killed before their commit) go at the first use.
        self._db = Database(self.path, busy_timeout=busy_timeout, on_first_use=self.collect_garbage)

    def __repr__(self) -> str:
        return f"ConversationStore({str(self.path)!r})"

    def __enter__(self) -> ConversationStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection; the store reopens it on next use."""
        self._db.close()

    # ---- lookups -------------------------------------------------------------------------
    @staticmethod
    def _conversation_id(conn: sqlite3.Connection, name: str) -> int | None:
        row = conn.execute("SELECT id FROM conversations WHERE name = ?", (name,)).fetchone()
        return None if row is None else int(row[0])

    def _ensure_conversation(self, conn: sqlite3.Connection, name: str) -> int:
        """The conversation's id, creating it (inside the caller's write transaction)."""
        cid = self._conversation_id(conn, name)
        if cid is not None:
            return cid
        now = time.time()
        cursor = conn.execute(
            "INSERT INTO conversations (name, created_at, updated_at) VALUES (?, ?, ?)",
            (name, now, now),
        )
        return int(cursor.lastrowid or 0)

    def _limits(self, conn: sqlite3.Connection, cid: int) -> tuple[int, int]:
        row = conn.execute(
            "SELECT max_messages, max_images FROM conversations WHERE id = ?", (cid,)
        ).fetchone()
        return (row[0] or self.max_messages, row[1] or self.max_images)

    def names(self) -> list[str]:
        """Every conversation's name, sorted (an emptied one stays until deleted)."""
        with self._db.read() as conn:
            return [r[0] for r in conn.execute("SELECT name FROM conversations ORDER BY name")]

    def exists(self, name: str) -> bool:
        with self._db.read() as conn:
            return self._conversation_id(conn, check_name(name)) is not None

    def summaries(self) -> list[ConversationSummary]:
        """Name, turn count and range, distinct images and last change of every conversation."""
        query = """
            SELECT c.name, c.updated_at,
                   (SELECT COUNT(*) FROM exchanges e WHERE e.conversation_id = c.id),
                   (SELECT MIN(turn) FROM exchanges e WHERE e.conversation_id = c.id),
                   (SELECT MAX(turn) FROM exchanges e WHERE e.conversation_id = c.id),
                   (SELECT COUNT(DISTINCT mi.sha256) FROM message_images mi
                      JOIN exchanges e ON e.id = mi.exchange_id WHERE e.conversation_id = c.id)
            FROM conversations c ORDER BY c.name
        """
        with self._db.read() as conn:
            return [
                ConversationSummary(name, count, first, last, images, updated)
                for name, updated, count, first, last, images in conn.execute(query)
            ]

    def limits(self, name: str) -> tuple[int, int]:
        """The (max_messages, max_images) that apply to `name`."""
        with self._db.read() as conn:
            cid = self._conversation_id(conn, check_name(name))
            return (self.max_messages, self.max_images) if cid is None else self._limits(conn, cid)

    def exchanges(self, name: str, *, last: int | None = None, lazy: bool = False) -> list[Exchange]:
        """The stored turns of `name`, oldest first (only the newest `last` ones if given).

        With `lazy`, images are `StoredImage`s read from their files only when a provider uses
        their bytes, and image text in the state is an `ImageText` (see `lazyimage`): a turn
        that sends a few of many history images reads only those.
        """
        name = check_name(name)
        for attempt in range(_READ_RETRIES):
            try:
                with self._db.read() as conn:
                    return self._load(conn, name, last, lazy)
            except FileNotFoundError as exc:
                missing = exc
                time.sleep(0.01 * (attempt + 1))
        raise ConfigurationError(
            f"The conversation {name!r} refers to an image file that is missing ({missing.filename}); "
            "it was deleted outside apiedit. Reset or delete the conversation."
        )

    def heads(self, name: str) -> list[TurnHead]:
        """Every stored turn's number, keys and provider, oldest first, without loading any
        image or state: enough to decide which turns a request needs."""
        with self._db.read() as conn:
            cid = self._conversation_id(conn, check_name(name))
            if cid is None:
                return []
            rows = conn.execute(
                "SELECT e.turn, m.provider, m.model, e.request_key, e.parent_key FROM exchanges e "
                "JOIN messages m ON m.exchange_id = e.id AND m.position = 0 "
                "WHERE e.conversation_id = ? ORDER BY e.turn",
                (cid,),
            ).fetchall()
        return [TurnHead(*row) for row in rows]

    def last_answer_image(self, name: str) -> ImageData | None:
        """The newest answer's first image, reading that one file only (None: no answer image)."""
        name = check_name(name)
        for attempt in range(_READ_RETRIES):
            with self._db.read() as conn:
                cid = self._conversation_id(conn, name)
                row = None if cid is None else conn.execute(
                    "SELECT mi.sha256, mi.mime_type, i.ext FROM exchanges e "
                    "JOIN message_images mi ON mi.exchange_id = e.id AND mi.message = 1 "
                    "AND mi.position = 0 JOIN images i ON i.sha256 = mi.sha256 "
                    "WHERE e.conversation_id = ? ORDER BY e.turn DESC LIMIT 1",
                    (cid,),
                ).fetchone()
            if row is None:
                return None
            sha256, mime, ext = row
            try:
                return ImageData(self.images.read(sha256, ext), mime)
            except FileNotFoundError as exc:  # pruned between the query and the read
                missing = exc
                time.sleep(0.01 * (attempt + 1))
            except ValueError:
                raise ConfigurationError(
                    f"The image file {self.images.path(sha256, ext)} of conversation {name!r} "
                    "is damaged. Reset or delete the conversation."
                ) from None
        raise ConfigurationError(
            f"The conversation {name!r} refers to an image file that is missing ({missing.filename}); "
            "it was deleted outside apiedit. Reset or delete the conversation."
        )

    def last_exchange(self, name: str) -> Exchange | None:
        found = self.exchanges(name, last=1)
        return found[-1] if found else None

    def history(self, name: str) -> list[Turn]:
        """The stored messages of `name`, oldest first: two per turn (user, then assistant)."""
        return [message for exchange in self.exchanges(name) for message in exchange.messages]

    def _load(self, conn: sqlite3.Connection, name: str, last: int | None,
              lazy: bool = False) -> list[Exchange]:
        cid = self._conversation_id(conn, name)
        if cid is None:
            return []
        rows = conn.execute(
            "SELECT id, turn, request_key, parent_key, info, created_at FROM exchanges "
            "WHERE conversation_id = ? ORDER BY turn DESC" + (" LIMIT ?" if last else ""),
            (cid, last) if last else (cid,),
        ).fetchall()
        rows.reverse()
        out = []
        shared: dict[str, StoredImage] = {}  # lazy: one object (one read) per distinct image
        for eid, turn, key, parent, info, created in rows:
            refs: dict[int, list[ImageData]] = {0: [], 1: []}
            for message, sha256, mime, ext in conn.execute(
                "SELECT mi.message, mi.sha256, mi.mime_type, i.ext FROM message_images mi "
                "JOIN images i ON i.sha256 = mi.sha256 WHERE mi.exchange_id = ? "
                "ORDER BY mi.message, mi.position",
                (eid,),
            ):
                if lazy:
                    image = shared.get(f"{sha256}/{mime}")
                    if image is None:
                        image = shared[f"{sha256}/{mime}"] = StoredImage(
                            self.images.path(sha256, ext), sha256, mime, f"conversation {name!r}")
                    refs[message].append(image)
                    continue
                try:
                    data = self.images.read(sha256, ext)
                except ValueError:
                    raise ConfigurationError(
                        f"The image file {self.images.path(sha256, ext)} of conversation {name!r} "
                        "is damaged. Reset or delete the conversation."
                    ) from None
                refs[message].append(ImageData(data, mime))
            messages = [
                Turn(role=role, text=text, images=refs[position], provider=provider, model=model,
                     state=self._decode_state(state, refs[position], name, lazy))
                for position, role, text, provider, model, state in conn.execute(
                    "SELECT position, role, text, provider, model, state FROM messages "
                    "WHERE exchange_id = ? ORDER BY position",
                    (eid,),
                )
            ]
            out.append(Exchange(turn, messages[0], messages[1], key, parent,
                                jsoncodec.loads(info), created))
        return out

    # ---- writes --------------------------------------------------------------------------
    def append(
        self,
        name: str,
        user: Turn,
        assistant: Turn,
        *,
        request_key: str | None = None,
        parent_key: str | None = None,
        info: Mapping[str, Any] | None = None,
    ) -> Exchange:
        """Store one turn (the user's message and the answer) atomically, then prune.

        When `request_key` equals the key of the conversation's newest turn, nothing is written
        and that turn is returned: re-sending the same turn never stores it twice.
        `parent_key` defaults to the newest turn's key at the time of writing.
        """
        name = check_name(name)
        if user.role != "user" or assistant.role != "assistant":
            raise ValueError("append takes the user's message, then the assistant's answer")
        encoded = [
            (m.role, m.text, m.provider, m.model, self._encode_state(m)) for m in (user, assistant)
        ]
        info_json = _info_json(info or {})
        # The slow part (hashing, writing, fsync) happens before taking the write lock.
        files = [[(*self.images.write(i.data), i) for i in m.images] for m in (user, assistant)]
        key = request_key or uuid.uuid4().hex
        created = time.time()
        with self._db.write() as conn:
            cid = self._ensure_conversation(conn, name)
            newest = conn.execute(
                "SELECT id, turn, request_key FROM exchanges WHERE conversation_id = ? "
                "ORDER BY turn DESC LIMIT 1",
                (cid,),
            ).fetchone()
            if request_key is not None and newest is not None and newest[2] == request_key:
                duplicate = self._load(conn, name, 1)[-1]
                pruned = {sha for images in files for sha, _, _ in images}  # written for nothing?
            else:
                duplicate = None
                turn = newest[1] + 1 if newest else 1
                if parent_key is None and newest is not None:
                    parent_key = newest[2]
                cursor = conn.execute(
                    "INSERT INTO exchanges (conversation_id, turn, request_key, parent_key, info, "
                    "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (cid, turn, key, parent_key, info_json, created),
                )
                eid = cursor.lastrowid
                for position, (row, images) in enumerate(zip(encoded, files, strict=False)):
                    conn.execute(
                        "INSERT INTO messages (exchange_id, position, role, text, provider, model, "
                        "state) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (eid, position, *row),
                    )
                    for index, (sha256, ext, image) in enumerate(images):
                        self._reference(conn, sha256, ext, image)
                        conn.execute(
                            "INSERT INTO message_images (exchange_id, message, position, sha256, "
                            "mime_type) VALUES (?, ?, ?, ?, ?)",
                            (eid, position, index, sha256, image.mime_type),
                        )
                conn.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (created, cid))
                pruned = self._prune(conn, cid)
        self._collect(pruned)
        if duplicate is not None:
            log.info("Conversation %r: turn %d is already stored for this request; not stored "
                     "again.", name, duplicate.turn)
            return duplicate
        return Exchange(turn, user, assistant, key, parent_key, info or {}, created)

    def _decode_state(self, text: str, images: list[ImageData], name: str, lazy: bool = False) -> Any:
        try:
            return jsoncodec.loads(text, images, lazy=lazy)
        except ValueError as exc:
            raise ConfigurationError(
                f"A stored turn of conversation {name!r} is damaged ({exc}). Reset or delete "
                "the conversation."
            ) from None

    @staticmethod
    def _encode_state(message: Turn) -> str:
        """The state as JSON; copies of the message's own images become references."""
        try:
            return jsoncodec.dumps(message.state, message.images)
        except (TypeError, ValueError) as exc:
            who = message.provider or "the provider"
            raise ProviderError(
                f"The conversation state {who} returned is not JSON data ({exc}), so the turn "
                f"cannot be stored. This is a bug in the {who} plugin; please report it.",
                provider=message.provider or None,
            ) from None

    def _reference(self, conn: sqlite3.Connection, sha256: str, ext: str, image: ImageData) -> None:
        """Register an image inside the write lock, rewriting its file if a collector removed it
        between our pre-write and now (collectors delete files only while holding the lock)."""
        conn.execute(
            "INSERT OR IGNORE INTO images (sha256, ext, size) VALUES (?, ?, ?)",
            (sha256, ext, len(image.data)),
        )
        self.images.ensure(sha256, ext, image.data)

    def _prune(self, conn: sqlite3.Connection, cid: int) -> set[str]:
        """Drop the oldest turns beyond the limits; return the image hashes they referred to.

        The newest turn is always kept, and the kept turns are always the newest contiguous run.
        Images are counted once per distinct content (an answer fed back as the next input
        counts once).
        """
        max_messages, max_images = self._limits(conn, cid)
        rows = conn.execute(
            "SELECT e.id, mi.sha256 FROM exchanges e LEFT JOIN message_images mi "
            "ON mi.exchange_id = e.id WHERE e.conversation_id = ? ORDER BY e.turn DESC",
            (cid,),
        ).fetchall()
        order: list[int] = []
        shas: dict[int, set[str]] = {}
        for eid, sha256 in rows:
            if eid not in shas:
                order.append(eid)
                shas[eid] = set()
            if sha256 is not None:
                shas[eid].add(sha256)
        kept: set[str] = set()
        drop: list[int] = []
        for index, eid in enumerate(order):
            seen = kept | shas[eid]
            if index and ((index + 1) * 2 > max_messages or len(seen) > max_images):
                drop = order[index:]
                break
            kept = seen
        return self._delete_exchanges(conn, drop)

    @staticmethod
    def _delete_exchanges(conn: sqlite3.Connection, ids: Iterable[int]) -> set[str]:
        ids = list(ids)
        shas: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            shas.update(r[0] for r in conn.execute(
                f"SELECT DISTINCT sha256 FROM message_images WHERE exchange_id IN ({marks})", chunk))
            conn.execute(f"DELETE FROM exchanges WHERE id IN ({marks})", chunk)
        return shas

    def _collect(self, candidates: Iterable[str]) -> int:
        """Delete the images among `candidates` that no turn of any conversation refers to.

        Runs in its own write transaction after the one that dropped the references, so a
        crash in between leaves only an orphaned file (see `collect_garbage`), never a turn
        whose image is gone.
        """
        candidates = sorted(set(candidates))
        if not candidates:
            return 0
        removed = 0
        with self._db.write() as conn:
            for sha256 in candidates:
                if conn.execute("SELECT 1 FROM message_images WHERE sha256 = ? LIMIT 1",
                                (sha256,)).fetchone():
                    continue
                row = conn.execute("SELECT ext FROM images WHERE sha256 = ?", (sha256,)).fetchone()
                conn.execute("DELETE FROM images WHERE sha256 = ?", (sha256,))
                for ext in {*([row[0]] if row else []), *self._exts_on_disk(sha256)}:
                    self.images.remove(sha256, ext)
                removed += 1
        return removed

    def _exts_on_disk(self, sha256: str) -> list[str]:
        folder = self.images.root / sha256[:2]
        return [p.name.split(".", 1)[1] for p in folder.glob(f"{sha256}.*")] if folder.is_dir() else []

    def collect_garbage(self) -> int:
        """Delete every image file and row no turn refers to (leftovers of a crashed writer).

        Runs by itself once per store and process, at the first use. Safe while others write:
        a writer registers its files under the same lock and rewrites any that a collection
        removed before it committed (see _reference).
        """
        with self._db.write() as conn:
            referenced = {r[0] for r in conn.execute("SELECT DISTINCT sha256 FROM message_images")}
            rows = conn.execute("SELECT sha256, ext FROM images").fetchall()
            orphans = {(sha, ext) for sha, ext in rows if sha not in referenced}
            conn.executemany("DELETE FROM images WHERE sha256 = ?", [(sha,) for sha, _ in orphans])
            orphans |= {(sha, ext) for sha, ext in self.images.stored() if sha not in referenced}
            for sha256, ext in orphans:
                self.images.remove(sha256, ext)
        return len(orphans)

    def reset(self, name: str) -> None:
        """Forget every turn of `name` (its limits stay); the next turn is turn 1 again."""
        name = check_name(name)
        with self._db.write() as conn:
            cid = self._conversation_id(conn, name)
            pruned = self._clear(conn, cid) if cid is not None else set()
        self._collect(pruned)

    def _clear(self, conn: sqlite3.Connection, cid: int) -> set[str]:
        ids = [r[0] for r in conn.execute("SELECT id FROM exchanges WHERE conversation_id = ?", (cid,))]
        conn.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (time.time(), cid))
        return self._delete_exchanges(conn, ids)

    def delete(self, name: str) -> bool:
        """Remove `name` and its turns; False if there was no such conversation."""
        name = check_name(name)
        with self._db.write() as conn:
            cid = self._conversation_id(conn, name)
            if cid is None:
                return False
            pruned = self._clear(conn, cid)
            conn.execute("DELETE FROM conversations WHERE id = ?", (cid,))
        self._collect(pruned)
        return True

    def apply_reset_switch(self, name: str, flag: bool) -> bool:
        """Reset `name` when `flag` is on now and was off (or never given) on the previous call.

        For a "reset conversation" switch in a UI that is left on: only the first run with the
        switch on resets; a later run with it off re-arms it. Returns whether it reset.
        """
        name = check_name(name)
        flag = bool(flag)
        with self._db.write() as conn:
            cid = self._ensure_conversation(conn, name)
            previous = conn.execute(
                "SELECT reset_switch FROM conversations WHERE id = ?", (cid,)
            ).fetchone()[0]
            reset = flag and not previous
            pruned = self._clear(conn, cid) if reset else set()
            conn.execute("UPDATE conversations SET reset_switch = ? WHERE id = ?", (int(flag), cid))
        self._collect(pruned)
        if reset:
            log.info("Conversation %r reset by its reset switch.", name)
        return reset

    def set_limits(
        self, name: str, *, max_messages: int | None = None, max_images: int | None = None
    ) -> None:
        """Give `name` its own limits (None: keep the current one) and prune to them now."""
        name = check_name(name)
        _check_limit(max_messages, "max_messages", 2)
        _check_limit(max_images, "max_images", 1)
        with self._db.write() as conn:
            cid = self._ensure_conversation(conn, name)
            conn.execute(
                "UPDATE conversations SET max_messages = COALESCE(?, max_messages), "
                "max_images = COALESCE(?, max_images) WHERE id = ?",
                (max_messages, max_images, cid),
            )
            pruned = self._prune(conn, cid)
        self._collect(pruned)

    def fork(self, name: str, at_turn: int, new_name: str) -> None:
        """Copy turns up to and including `at_turn` of `name` into a new conversation.

        The images are shared, not copied; each conversation prunes independently.
        """
        name, new_name = check_name(name), check_name(new_name)
        if name == new_name:
            raise InvalidInputError("Fork into a new name: the source and target are the same.")
        with self._db.write() as conn:
            source = self._conversation_id(conn, name)
            turns = [] if source is None else [r[0] for r in conn.execute(
                "SELECT turn FROM exchanges WHERE conversation_id = ? ORDER BY turn", (source,))]
            if at_turn not in turns:
                have = f"turns {turns[0]}-{turns[-1]}" if turns else "no turns"
                raise InvalidInputError(
                    f"Conversation {name!r} has no turn {at_turn} to fork from (it has {have})."
                )
            target, _ = self._prepare_target(conn, new_name, replace=False)
            conn.execute(
                "UPDATE conversations SET (max_messages, max_images) = (SELECT max_messages, "
                "max_images FROM conversations WHERE id = ?) WHERE id = ?",
                (source, target),
            )
            for (eid,) in conn.execute(
                "SELECT id FROM exchanges WHERE conversation_id = ? AND turn <= ? ORDER BY turn",
                (source, at_turn),
            ).fetchall():
                new_id = conn.execute(
                    "INSERT INTO exchanges (conversation_id, turn, request_key, parent_key, info, "
                    "created_at) SELECT ?, turn, request_key, parent_key, info, created_at "
                    "FROM exchanges WHERE id = ?",
                    (target, eid),
                ).lastrowid
                conn.execute(
                    "INSERT INTO messages SELECT ?, position, role, text, provider, model, state "
                    "FROM messages WHERE exchange_id = ?",
                    (new_id, eid),
                )
                conn.execute(
                    "INSERT INTO message_images SELECT ?, message, position, sha256, mime_type "
                    "FROM message_images WHERE exchange_id = ?",
                    (new_id, eid),
                )

    def _prepare_target(
        self, conn: sqlite3.Connection, name: str, *, replace: bool
    ) -> tuple[int, set[str]]:
        """An empty conversation `name` to copy into (one with turns is an error unless
        `replace`), and the image hashes of the turns it dropped."""
        cid = self._ensure_conversation(conn, name)
        has_turns = conn.execute(
            "SELECT 1 FROM exchanges WHERE conversation_id = ? LIMIT 1", (cid,)
        ).fetchone()
        if has_turns and not replace:
            raise InvalidInputError(
                f"A conversation named {name!r} already exists with turns. Pick another name, "
                "or delete or reset it first."
            )
        return cid, (self._clear(conn, cid) if has_turns else set())

    def restore(
        self,
        name: str,
        exchanges: Iterable[Exchange],
        *,
        max_messages: int | None = None,
        max_images: int | None = None,
        replace: bool = False,
    ) -> None:
        """Write whole turns as given (turn numbers, keys and times kept): for imports."""
        name = check_name(name)
        exchanges = sorted(exchanges, key=lambda e: e.turn)
        prepared = []
        for exchange in exchanges:
            encoded = [(m.role, m.text, m.provider, m.model, self._encode_state(m))
                       for m in exchange.messages]
            files = [[(*self.images.write(i.data), i) for i in m.images] for m in exchange.messages]
            prepared.append((exchange, encoded, files, _info_json(exchange.info)))
        with self._db.write() as conn:
            cid, replaced = self._prepare_target(conn, name, replace=replace)
            conn.execute(
                "UPDATE conversations SET max_messages = ?, max_images = ?, updated_at = ? "
                "WHERE id = ?",
                (_check_limit(max_messages, "max_messages", 2),
                 _check_limit(max_images, "max_images", 1), time.time(), cid),
            )
            for exchange, encoded, files, info_json in prepared:
                eid = conn.execute(
                    "INSERT INTO exchanges (conversation_id, turn, request_key, parent_key, info, "
                    "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (cid, exchange.turn, exchange.request_key, exchange.parent_key, info_json,
                     exchange.created_at),
                ).lastrowid
                for position, (row, images) in enumerate(zip(encoded, files, strict=False)):
                    conn.execute("INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, ?)", (eid, position, *row))
                    for index, (sha256, ext, image) in enumerate(images):
                        self._reference(conn, sha256, ext, image)
                        conn.execute(
                            "INSERT INTO message_images VALUES (?, ?, ?, ?, ?)",
                            (eid, position, index, sha256, image.mime_type),
                        )
            pruned = self._prune(conn, cid)
        self._collect(replaced | pruned)

    def check(self) -> list[str]:
        """Problems found in the store (empty when healthy): SQLite's integrity check, turns
        without both messages, image references whose file is missing or damaged."""
        problems = []
        with self._db.read() as conn:
            result = [r[0] for r in conn.execute("PRAGMA integrity_check")]
            if result != ["ok"]:
                problems.extend(result)
            for eid, count in conn.execute(
                "SELECT e.id, COUNT(m.position) FROM exchanges e LEFT JOIN messages m "
                "ON m.exchange_id = e.id GROUP BY e.id HAVING COUNT(m.position) != 2"
            ):
                problems.append(f"turn row {eid} has {count} messages")
            refs = conn.execute(
                "SELECT DISTINCT mi.sha256, i.ext FROM message_images mi "
                "LEFT JOIN images i ON i.sha256 = mi.sha256"
            ).fetchall()
        for sha256, ext in refs:
            if ext is None:
                problems.append(f"image {sha256} is referenced but not registered")
                continue
            try:
                self.images.read(sha256, ext)
            except (OSError, ValueError) as exc:
                problems.append(f"image {sha256}: {exc}")
        return problems


def _info_json(info: Mapping[str, Any]) -> str:
    """Turn metadata as JSON text; anything that is not JSON data (an SDK object in usage...)
    becomes its text."""
    try:
        return jsoncodec.dumps(info)
    except (TypeError, ValueError):
        import json

        return jsoncodec.dumps(json.loads(json.dumps(info, default=str)))


_shared: dict[Path, ConversationStore] = {}
_shared_lock = threading.Lock()


def store_at(path: str | os.PathLike[str]) -> ConversationStore:
    """The process-wide store for the file at `path` (one connection per file and process)."""
    resolved = Path(path).expanduser().absolute()
    with _shared_lock:
        store = _shared.get(resolved)
        if store is None:
            store = _shared[resolved] = ConversationStore(resolved)
        return store


def default_store() -> ConversationStore:
    """The process-wide store at `data_dir()/conversations.sqlite3` (follows APIEDIT_DATA_DIR)."""
    return store_at(data_dir() / DB_FILE_NAME)
