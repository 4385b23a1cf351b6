"""Gemini's Files API for conversation history: upload each history image once, refer to it later.

Without it every turn resends every kept history image inline (15.9 MB at turn 20 at 1024²,
benchmarks/README.md). With it a turn sends `fileData {mimeType, fileUri}` parts and uploads only
images it has no live file for (normally the previous answer). Facts, from google-genai
1.40.0's `files.py` / `_api_client.py` (`Files.upload`, `BaseApiClient.upload_file`) and
https://ai.google.dev/gemini-api/docs/files:
  - start: `POST {root}/upload/{v}/files` with `X-Goog-Upload-Protocol: resumable`,
    `X-Goog-Upload-Command: start`, `X-Goog-Upload-Header-Content-Length/-Type` and the JSON
    `{"file": {displayName, mimeType}}`; the answer's `x-goog-upload-url` takes the bytes with
    `X-Goog-Upload-Command: upload, finalize` at `X-Goog-Upload-Offset: 0` (8 MB chunks; an
    image is one) and answers `{"file": File}` (`name`, `uri`, `mimeType`, `expirationTime`);
  - `GET {v}/files/{id}` reads a File; files live 48 h, then are deleted; 20 GB per project,
    2 GB per file, "available at no cost" (ai.google.dev/tutorials/prompting_with_media);
  - a request naming a file that is gone (expired, deleted, another project's) is refused with
    403 PERMISSION_DENIED "You do not have permission to access the File {id} or it may not
    exist." (googleapis/python-genai#1218, google-gemini/deprecated-generative-ai-python#692;
    after the 48 h: discuss.ai.google.dev/t/uploaded-files-missing-after-a-few-days/50428).
    Such a request did not run, so it is not billed: `generate` re-uploads the gone files and
    sends the turn once more.
Uploading is free (never billable; core's client may retry it). Both transports upload the
same way, through core's HttpClient; the SDK path then sends the `fileData` parts through
google-genai. Files of turns the store pruned are not deleted: they lapse after 48 h (the
Files API holds 20 GB per project).

Where the files are kept: each answer's `state["files"]` maps the sha256 of every history
image the request referred to (as stored, before any re-encode) to its File, so the next turn
finds it in the stored conversation (`Conversation` keeps the state with the turn) without a
call. An entry is reused while its expiry is more than `EXPIRY_MARGIN_S` away and it belongs
to the same API root; `APIEDIT_GEMINI_HISTORY_FILES` = `auto` (default: history images of at
least `AUTO_MIN_BYTES`), `always` (every history image), `off` (all inline, as before).
Only the `gemini` provider uses files: a relay speaking Gemini's protocol may lack the API
(and an endpoint answering 404/405/501 to the upload gets the history inline, with a warning).

A model turn is replayed with its image part as `fileData` and every other key (the
`thoughtSignature`) kept. UNCONFIRMED that Gemini checks such a part against its signature no
differently from the inline bytes: Google documents that a file can be reused across requests
(ai.google.dev/gemini-api/docs/vision, "Upload images by using the File API") and that Gemini
3 Pro Image does not reject a model turn without a signature (Vertex "Thought signatures"
page); the emulator resolves the URI and compares the bytes with what it issued. If a real
model refuses it, `APIEDIT_GEMINI_HISTORY_FILES=off` restores the inline replay.
"""

from __future__ import annotations

import datetime
import json
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from apiedit import ApiEditError, ConfigurationError, ProviderError

from . import wire

if TYPE_CHECKING:
    from apiedit.settings import ProviderSettings

__all__ = ["FILES_ENV", "HistoryFiles", "NoFilesApiError", "history_files", "upload_bytes"]

FILES_ENV = "APIEDIT_GEMINI_HISTORY_FILES"
AUTO_MIN_BYTES = 256 * 1024  # smaller images cost less inline than an upload's round trips
EXPIRY_MARGIN_S = 3600.0  # a file this close to its 48 h end is uploaded again
MAX_CHUNK = 8 * 1024 * 1024  # google-genai's CHUNK_SIZE


def _now() -> float:
    return time.time()


def files_mode() -> str:
    mode = os.environ.get(FILES_ENV, "").strip().lower() or "auto"
    if mode not in ("auto", "always", "off"):
        raise ConfigurationError(f"{FILES_ENV}={mode!r} is not valid; use auto, always or off.")
    return mode


def _expiry(stamp: Any) -> float:
    """Seconds since the epoch of an RFC 3339 time; 0 when missing or unreadable."""
    if not isinstance(stamp, str) or not stamp:
        return 0.0
    try:
        return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def _url(settings: ProviderSettings, path: str, upload: str = "") -> str:
    root, version = wire.endpoint(settings.base_url)
    return f"{root}/{upload}{version}/{path}"


def _mapper(settings: ProviderSettings) -> Any:
    return lambda response: wire.map_error(response, settings.label)


class NoFilesApiError(ProviderError):
    """The endpoint answered the upload, but not as the Files API does (no upload URL or URI)."""


def upload_bytes(settings: ProviderSettings, data: bytes, mime: str, display_name: str) -> dict[str, Any]:
    """One resumable upload, as google-genai does it; the File answered (name, uri, expiry)."""
    key = settings.require_key()
    start = settings.http.request(
        "POST", _url(settings, "files", upload="upload/"), billable=False,
        map_error=_mapper(settings),
        headers={"x-goog-api-key": key, "Content-Type": "application/json",
                 "X-Goog-Upload-Protocol": "resumable", "X-Goog-Upload-Command": "start",
                 "X-Goog-Upload-Header-Content-Length": str(len(data)),
                 "X-Goog-Upload-Header-Content-Type": mime},
        data=json.dumps({"file": {"displayName": display_name, "mimeType": mime}}).encode(),
    )
    target = start.headers.get("x-goog-upload-url")
    if not target:
        raise NoFilesApiError(f"{settings.label} did not give an upload URL for a history image. "
                            f"Check the base URL, or set {FILES_ENV}=off.", provider=wire.PROVIDER)
    answer = None
    for offset in range(0, max(len(data), 1), MAX_CHUNK):
        chunk = data[offset:offset + MAX_CHUNK]
        last = offset + MAX_CHUNK >= len(data)
        answer = settings.http.request(
            "POST", target, billable=False, map_error=_mapper(settings),
            headers={"x-goog-api-key": key, "X-Goog-Upload-Offset": str(offset),
                     "X-Goog-Upload-Command": "upload, finalize" if last else "upload"},
            data=chunk,
        )
    try:
        body = answer.json() if answer is not None else {}
    except ValueError:
        body = {}
    made = body.get("file") if isinstance(body, dict) else None
    if not isinstance(made, dict) or not made.get("uri"):
        raise NoFilesApiError(f"{settings.label}'s Files API answered an upload without a file URI. "
                            f"Check the base URL, or set {FILES_ENV}=off.", provider=wire.PROVIDER)
    return made


def file_is_live(settings: ProviderSettings, name: str) -> bool:
    """`files.get`: whether the file still exists (a 403/404 answer means it is gone)."""
    if not name.startswith("files/"):
        return False
    try:
        settings.http.get_json(_url(settings, name), headers={"x-goog-api-key": settings.require_key()},
                               map_error=_mapper(settings))
    except ApiEditError as exc:
        if getattr(exc, "status", None) in (403, 404):
            return False
        raise
    return True


class HistoryFiles:
    """The Files API entries one request refers to: reused, or uploaded on first need."""

    def __init__(self, settings: ProviderSettings, known: dict[str, dict[str, Any]], min_bytes: int) -> None:
        self.settings = settings
        self.root = wire.endpoint(settings.base_url)[0]
        self.known = known
        self.min_bytes = min_bytes
        self.used: dict[str, dict[str, Any]] = {}  # what this request refers to: the next state
        self.uploaded: list[str] = []  # sha256 of the images uploaded for this request
        self.unavailable: str | None = None  # why uploads stopped (no Files API at this URL)

    def _live(self, entry: dict[str, Any] | None) -> bool:
        return bool(entry and entry.get("uri") and entry.get("root") == self.root
                    and _expiry(entry.get("expires")) - _now() > EXPIRY_MARGIN_S)

    def wants(self, size: int | None) -> bool:
        """Whether an image of `size` bytes goes by file (None: size unknown until read)."""
        return self.unavailable is None and (size is None or size >= self.min_bytes)

    def part(self, sha256: str, read: Callable[[], tuple[bytes, str]]) -> dict[str, Any] | None:
        """A `fileData` part for the image `sha256`; `read()` gives the (bytes, MIME type) to
        upload, called only when no live file holds it. None: this endpoint has no Files API
        (404/405/501 on the upload), so the caller sends the image inline."""
        entry = self.known.get(sha256)
        mime = entry.get("mime") if entry else None
        if not self._live(entry):
            data, mime = read()
            self.settings.report(f"{self.settings.label}: uploading a history image "
                                 f"({len(data) // 1024} KB, once)")
            try:
                made = upload_bytes(self.settings, data, mime, f"apiedit-{sha256[:16]}")
            except ApiEditError as exc:
                status = getattr(exc, "status", None)
                if status not in (404, 405, 501) and not isinstance(exc, NoFilesApiError):
                    raise
                why = f"HTTP {status} on upload" if status in (404, 405, 501) else "no upload URL"
                self.unavailable = (f"{self.settings.label} has no Files API at this base URL "
                                    f"({why}), so history images were sent inline; set "
                                    f"{FILES_ENV}=off to skip trying.")
                return None
            entry = {"name": made.get("name"), "uri": made["uri"],
                     "mime": made.get("mimeType") or mime, "expires": made.get("expirationTime"),
                     "root": self.root}
            self.known[sha256] = entry
            self.uploaded.append(sha256)
        assert entry is not None
        self.used[sha256] = entry
        return {"fileData": {"mimeType": entry.get("mime") or mime or "image/png", "fileUri": entry["uri"]}}

    def forget_gone(self) -> int:
        """After a refusal naming a missing file: drop the reused entries that are gone
        (`files.get` tells), so the next build uploads them again. Returns how many."""
        gone = [sha for sha, entry in self.used.items() if sha not in self.uploaded
                and not file_is_live(self.settings, str(entry.get("name") or ""))]
        for sha in gone:
            self.known.pop(sha, None)
        self.used.clear()
        self.uploaded.clear()
        return len(gone)


def history_files(settings: ProviderSettings, history: Any) -> HistoryFiles | None:
    """The files of a conversation request, or None when history images stay inline."""
    if not history or settings.provider != wire.PROVIDER:
        return None
    mode = files_mode()
    if mode == "off":
        return None
    known: dict[str, dict[str, Any]] = {}
    for turn in history:  # oldest first: newer entries win
        entries = turn.state.get("files") if turn.role == "assistant" else None
        if isinstance(entries, dict):
            known.update({k: dict(v) for k, v in entries.items() if isinstance(v, dict)})
    return HistoryFiles(settings, known, 0 if mode == "always" else AUTO_MIN_BYTES)
