"""The Files API and Batch Mode of the Gemini emulator (mixed into `GeminiEmulator`).

Serves (any base path, v1 or v1beta), as google-genai 3.6.1 calls them:
  POST upload/{v}/files                 resumable start (`X-Goog-Upload-Command: start`),
                                        answers `x-goog-upload-url`
  POST /_upload/{id}                    `upload` / `upload, finalize` chunks at `X-Goog-Upload-Offset`
  GET  {v}/files, {v}/files/{id}        File objects (expired files are gone: 404, not listed)
  GET  {v}/files/{id}:download?alt=media (also under download/{v}/...) the bytes
  POST {v}/models/{m}:batchGenerateContent  {batch: {displayName, inputConfig: {fileName}}}
  GET  {v}/batches, {v}/batches/{id}    Operations (metadata.state BATCH_STATE_*, batchStats,
                                        output.responsesFile)
  POST {v}/batches/{id}:cancel
Each line runs through the emulator's own generateContent handler (`fileData` parts are read
from the stored files), so a prompt's `emulate:<variant>` fails that line alone.

State machine (advanced when a job is read): PENDING → RUNNING → SUCCEEDED (with
failedRequestCount > 0 when some lines failed) / FAILED / EXPIRED / CANCELLED. Switches:
  batch_validate_s, batch_run_s   seconds pending / running (0 = at the next read)
  batch_hold_after                run only this many lines, then stay RUNNING (None = all)
  batch_outcome                   "failed" or "expired" for jobs created from now on
  batch_create_error_after        answer this many creates with a 500 AFTER creating the job
  seed_batches(n)                 n jobs of someone else, so that a lookup has to page
  expire_files()                  every stored file passes its 48 h expiry (then 404)
  forget_files(*names)            delete stored files (all when none is named)
  result_padding                  bytes of filler added to each result line (big result files
                                  without rendering big images; clients ignore the field)
Billing: `batch_lines_billed` counts the lines run; the create route is billable too.
"""

from __future__ import annotations

import base64
import datetime
import json
import re
import threading
import time
import uuid
from typing import Any

from apiedit.testing.emulator import RecordedRequest, Response

__all__ = ["BatchRoutes"]

_V = r"(?P<prefix>(?:/[^/]+)*?)/(?P<version>v1|v1beta)"
_GENERATE = re.compile(_V + r"/models/(?:models/)?(?P<model>[^/:]+):generateContent")
FILE_TTL_S = 48 * 3600


def _stamp(seconds_from_now: float = 0.0) -> str:
    when = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds_from_now)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _gerr(status: int, word: str, message: str) -> Response:
    return Response.json({"error": {"code": status, "message": message, "status": word}}, status)


class BatchRoutes:
    """Files + Batch Mode state; needs the host emulator's `_auth` and `_generate`."""

    def init_batches(self) -> None:
        self.batch_validate_s = 0.0
        self.batch_run_s = 0.0
        self.batch_hold_after: int | None = None
        self.batch_outcome: str | None = None
        self.batch_create_error_after = 0
        self.batch_lines_billed = 0
        self.result_padding = 0
        self.stored_files: dict[str, dict[str, Any]] = {}  # "files/x" -> File + "_data", "_expires"
        self.jobs: dict[str, dict[str, Any]] = {}  # "batches/x" -> Operation + private fields
        self._sessions: dict[str, dict[str, Any]] = {}
        self._batch_lock = threading.RLock()

    def batch_routes(self) -> None:
        route = self.route  # type: ignore[attr-defined]
        route("POST", r"(?P<prefix>(?:/[^/]+)*?)/upload/(?P<version>v1|v1beta)/files", self._start_upload)
        route("POST", r"/_upload/(?P<sid>[0-9a-f]{32})", self._upload_chunk)
        route("GET", _V + r"/files", self._list_files)
        route("GET", _V + r"/files/(?P<id>[a-z0-9]+)", self._get_file)
        route("GET", r"(?:/[^/]+)*?(?:/download)?/(?:v1|v1beta)/files/(?P<id>[a-z0-9]+):download",
              self._download)
        route("POST", _V + r"/models/(?:models/)?(?P<model>[^/:]+):batchGenerateContent",
              self._create_job, billable=True)
        route("GET", _V + r"/batches", self._list_jobs)
        route("GET", _V + r"/batches/(?P<id>[a-z0-9]+)", self._get_job)
        route("POST", _V + r"/batches/(?P<id>[a-z0-9]+):cancel", self._cancel_job)

    def _refused(self, request: RecordedRequest) -> Response | None:
        return self._auth(request)[0]  # type: ignore[attr-defined]

    # ---- files ------------------------------------------------------------------------------
    def _live_file(self, name: str) -> dict[str, Any] | None:
        with self._batch_lock:
            found = self.stored_files.get(name)
        if found is None or found["_expires"] <= time.time():
            return None
        return found

    def _public(self, obj: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in obj.items() if not k.startswith("_")}

    def store_file(self, data: bytes, mime: str, display_name: str = "") -> dict[str, Any]:
        fid = uuid.uuid4().hex[:16]
        obj = {"name": f"files/{fid}", "displayName": display_name, "mimeType": mime,
               "sizeBytes": str(len(data)), "createTime": _stamp(), "updateTime": _stamp(),
               "expirationTime": _stamp(FILE_TTL_S),
               "uri": f"{self.base_url}/v1beta/files/{fid}",  # type: ignore[attr-defined]
               "state": "ACTIVE", "source": "UPLOADED",
               "_data": data, "_expires": time.time() + FILE_TTL_S}
        with self._batch_lock:
            self.stored_files[obj["name"]] = obj
        return obj

    def forget_files(self, *names: str) -> None:
        """Delete the named stored files (every one when none is named), as a user deleting
        them or Google dropping them early would: requests naming them get 403 from then on."""
        with self._batch_lock:
            for name in names or list(self.stored_files):
                self.stored_files.pop(name, None)

    def expire_files(self) -> None:
        """Every stored file passes its expiry (as 48 h later): it is gone from then on."""
        with self._batch_lock:
            for obj in self.stored_files.values():
                obj["_expires"] = time.time() - 1
                obj["expirationTime"] = _stamp(-1)

    def _start_upload(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        refused = self._refused(request)
        if refused:
            return refused
        h = {k.lower(): v for k, v in request.headers.items()}
        if h.get("x-goog-upload-protocol") != "resumable" or h.get("x-goog-upload-command") != "start":
            return _gerr(400, "INVALID_ARGUMENT", "Only the resumable upload protocol is emulated.")
        try:
            meta = (json.loads(request.body or b"{}").get("file") or {})
        except ValueError:
            return _gerr(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
        sid = uuid.uuid4().hex
        with self._batch_lock:
            self._sessions[sid] = {
                "size": int(h.get("x-goog-upload-header-content-length") or 0),
                "mime": h.get("x-goog-upload-header-content-type") or meta.get("mimeType") or "",
                "display": meta.get("displayName") or meta.get("display_name") or "",
                "data": bytearray()}
        url = f"{self.base_url}/_upload/{sid}"  # type: ignore[attr-defined]
        return Response(200, b"", {"x-goog-upload-url": url, "X-Goog-Upload-Status": "active"})

    def _upload_chunk(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        # the session id in the URL is the credential (no key is sent with the chunks)
        h = {k.lower(): v for k, v in request.headers.items()}
        with self._batch_lock:
            session = self._sessions.get(match["sid"])
            if session is None:
                return _gerr(404, "NOT_FOUND", "No such upload session.")
            if int(h.get("x-goog-upload-offset") or -1) != len(session["data"]):
                return _gerr(400, "INVALID_ARGUMENT", "Upload offset does not match.")
            session["data"] += request.body
            if "finalize" not in h.get("x-goog-upload-command", ""):
                return Response(200, b"", {"X-Goog-Upload-Status": "active"})
            del self._sessions[match["sid"]]
        data = bytes(session["data"])
        if session["size"] and session["size"] != len(data):
            return _gerr(400, "INVALID_ARGUMENT", "The upload's size differs from the declared size.")
        obj = self.store_file(data, session["mime"], session["display"])
        return Response.json({"file": self._public(obj)}, 200, {"X-Goog-Upload-Status": "final"})

    def _page(self, request: RecordedRequest, items: list[dict[str, Any]], key: str) -> Response:
        size = int((request.query.get("pageSize") or ["10"])[0])
        start = int((request.query.get("pageToken") or ["0"])[0])
        chunk = items[start:start + size]
        body: dict[str, Any] = {key: [self._public(i) for i in chunk]}
        if start + size < len(items):
            body["nextPageToken"] = str(start + size)
        return Response.json(body)

    def _list_files(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        refused = self._refused(request)
        if refused:
            return refused
        with self._batch_lock:
            live = [f for f in reversed(list(self.stored_files.values())) if f["_expires"] > time.time()]
        return self._page(request, live, "files")

    def _get_file(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        refused = self._refused(request)
        if refused:
            return refused
        found = self._live_file(f"files/{match['id']}")
        if found is None:
            return _gerr(403, "PERMISSION_DENIED", f"You do not have permission to access the File "
                         f"{match['id']} or it may not exist.")
        return Response.json(self._public(found))

    def _download(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        refused = self._refused(request)
        if refused:
            return refused
        found = self._live_file(f"files/{match['id']}")
        if found is None:
            return _gerr(404, "NOT_FOUND", f"File {match['id']} not found.")
        return Response(200, found["_data"], content_type="application/octet-stream")

    # ---- jobs -------------------------------------------------------------------------------
    def _create_job(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        refused = self._refused(request)
        if refused:
            return refused
        try:
            body = json.loads(request.body).get("batch") or {}
        except (ValueError, AttributeError):
            return _gerr(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
        file_name = (body.get("inputConfig") or body.get("input_config") or {}).get("fileName")
        if file_name is None or self._live_file(file_name) is None:
            return _gerr(400, "INVALID_ARGUMENT", f"Input file {file_name!r} not found or expired.")
        jid = uuid.uuid4().hex[:20]
        op = {"name": f"batches/{jid}", "done": False, "metadata": {
            "@type": "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch",
            "model": f"models/{match['model']}", "displayName": body.get("displayName") or "",
            "inputConfig": {"fileName": file_name}, "createTime": _stamp(), "updateTime": _stamp(),
            "state": "BATCH_STATE_PENDING", "name": f"batches/{jid}",
            "batchStats": {"requestCount": "0", "pendingRequestCount": "0"}},
            "_key": request.headers.get("x-goog-api-key", ""), "_since": time.monotonic(),
            "_outcome": self.batch_outcome, "_done": [], "_version": match["version"],
            "_cancel": False}
        with self._batch_lock:
            self.jobs[op["name"]] = op
            fail_after = self.batch_create_error_after > 0
            if fail_after:
                self.batch_create_error_after -= 1
        if fail_after:
            return _gerr(500, "INTERNAL", "An internal error has occurred. Please retry or report "
                         "in https://developers.generativeai.google/guide/troubleshooting")
        return Response.json(self._public(op))

    def seed_batches(self, n: int) -> None:
        """`n` finished jobs of someone else, listed before (newer than) the test's own."""
        with self._batch_lock:
            for _ in range(n):
                jid = uuid.uuid4().hex[:20]
                self.jobs[f"batches/{jid}"] = {"name": f"batches/{jid}", "done": True, "metadata": {
                    "displayName": "someone else's job", "state": "BATCH_STATE_SUCCEEDED"}}

    def _list_jobs(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        refused = self._refused(request)
        if refused:
            return refused
        with self._batch_lock:
            ordered = list(reversed(list(self.jobs.values())))
        for op in ordered:
            self._advance(op)
        return self._page(request, ordered, "operations")

    def _get_job(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        refused = self._refused(request)
        if refused:
            return refused
        with self._batch_lock:
            op = self.jobs.get(f"batches/{match['id']}")
        if op is None:
            return _gerr(404, "NOT_FOUND", f"Batch batches/{match['id']} not found.")
        self._advance(op)
        return Response.json(self._public(op))

    def _cancel_job(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        refused = self._refused(request)
        if refused:
            return refused
        with self._batch_lock:
            op = self.jobs.get(f"batches/{match['id']}")
            if op is None:
                return _gerr(404, "NOT_FOUND", f"Batch batches/{match['id']} not found.")
            self._advance(op)
            if op["done"]:
                return _gerr(400, "FAILED_PRECONDITION", "The batch has already finished.")
            op["_cancel"] = True
        return Response.json({})

    # ---- the state machine ------------------------------------------------------------------
    def _lines(self, op: dict[str, Any]) -> list[dict[str, Any]]:
        found = self.stored_files.get(op["metadata"]["inputConfig"]["fileName"])
        data = found["_data"] if found else b""
        return [json.loads(raw) for raw in data.splitlines() if raw.strip()]

    def _resolve_files(self, request: dict[str, Any]) -> str | None:
        """Replace fileData parts by inline data; the name of a missing file, if any."""
        for content in request.get("contents") or []:
            for i, part in enumerate(content.get("parts") or []):
                ref = part.get("fileData") or part.get("file_data")
                if not ref:
                    continue
                uri = str(ref.get("fileUri") or ref.get("file_uri") or "")
                name = "files/" + uri.rsplit("/files/", 1)[-1]
                found = self._live_file(name)
                if found is None:
                    return name
                content["parts"][i] = {"inlineData": {"mimeType": ref.get("mimeType") or found["mimeType"],
                                                      "data": base64.b64encode(found["_data"]).decode()}}
        return None

    def _run_line(self, op: dict[str, Any], line: dict[str, Any]) -> dict[str, Any]:
        key = line.get("key")
        request = line.get("request") or {}
        missing = self._resolve_files(request)
        if missing:
            return {"key": key, "error": {"code": 400, "status": "INVALID_ARGUMENT",
                                          "message": f"File {missing} not found or expired."}}
        path = f"/{op['_version']}/{op['metadata']['model']}:generateContent"
        fake = RecordedRequest("POST", path, {}, {"x-goog-api-key": op["_key"],
                                                  "content-type": "application/json"},
                               json.dumps(request).encode(), True)
        answer = self._generate(fake, _GENERATE.fullmatch(path))  # type: ignore[attr-defined]
        with self._batch_lock:
            self.batch_lines_billed += 1
        body = json.loads(answer.body)
        if answer.status >= 400:
            return {"key": key, "error": body.get("error") or {"code": answer.status}}
        return {"key": key, "response": body}

    def _finish(self, op: dict[str, Any], state: str) -> None:
        done: list[dict[str, Any]] = op["_done"]
        meta = op["metadata"]
        ok = sum(1 for d in done if "response" in d)
        total = int(meta["batchStats"]["requestCount"])
        meta["batchStats"] = {"requestCount": str(total), "successfulRequestCount": str(ok),
                              "failedRequestCount": str(len(done) - ok),
                              "pendingRequestCount": str(total - len(done))}
        if done:
            pad = {"padding": "x" * self.result_padding} if self.result_padding else {}
            data = b"".join(json.dumps({**d, **pad}).encode() + b"\n" for d in done)
            made = self.store_file(data, "application/jsonl", "batch-results")
            meta["output"] = {"responsesFile": made["name"]}
        meta["state"], meta["endTime"], op["done"] = state, _stamp(), True
        if state == "BATCH_STATE_FAILED":
            op["error"] = {"code": 400, "message": "The batch input is not valid (emulated)."}

    def _advance(self, op: dict[str, Any]) -> None:
        with self._batch_lock:
            if "_since" not in op or op["done"]:
                return
            meta = op["metadata"]
            now = time.monotonic()
            if meta["state"] == "BATCH_STATE_PENDING":
                if op["_cancel"]:
                    self._finish(op, "BATCH_STATE_CANCELLED")
                    return
                if now - op["_since"] < self.batch_validate_s:
                    return
                lines = self._lines(op)
                meta["batchStats"] = {"requestCount": str(len(lines)),
                                      "pendingRequestCount": str(len(lines))}
                if op["_outcome"] == "failed" or not lines:
                    self._finish(op, "BATCH_STATE_FAILED")
                    return
                meta["state"], op["_since"] = "BATCH_STATE_RUNNING", now
            lines = self._lines(op)
            if op["_cancel"]:
                self._finish(op, "BATCH_STATE_CANCELLED")
                return
            limit = len(lines) if self.batch_hold_after is None else self.batch_hold_after
            if op["_outcome"] == "expired":
                limit = min(limit, self.batch_hold_after or 0)
            for line in lines[len(op["_done"]):limit]:
                op["_done"].append(self._run_line(op, line))
            if now - op["_since"] < self.batch_run_s:
                return
            if op["_outcome"] == "expired":
                self._finish(op, "BATCH_STATE_EXPIRED")
            elif len(op["_done"]) == len(lines):
                self._finish(op, "BATCH_STATE_SUCCEEDED")
