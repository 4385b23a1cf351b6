"""The Files and Batch endpoints of the OpenAI emulator (mixed into `OpenAIEmulator`).

Serves, relative to the base URL: `POST /files` (multipart `purpose`, `file`), `GET /files/{id}`,
`GET /files/{id}/content`, `POST /batches`, `GET /batches` (`limit`, `after`, newest first),
`GET /batches/{id}`, `POST /batches/{id}/cancel`; objects shaped as the openai-openapi spec's
`OpenAIFile`, `Batch` and `BatchRequestOutput`. Each line of a batch runs through the
emulator's own image handlers, so a batched request is checked exactly as a live one (and a
prompt's `emulate:<variant>` fails that line alone, into the error file).

State machine (advanced lazily, whenever a batch is read): validating → in_progress →
finalizing → completed, or failed / expired / cancelling → cancelled. Switches for tests:
  batch_validate_s, batch_run_s   seconds spent validating / running (0 = at the next read)
  batch_hold_after                run only this many lines, then stay in_progress (None = all)
  batch_outcome                   "failed" (validation error, nothing run) or "expired"
                                  (the unrun lines go to the error file as batch_expired) for
                                  batches created from now on
  batch_create_error_after        answer this many creates with a 500 AFTER creating the job
  seed_batches(n)                 n finished batches of someone else, to make the list page
Billing: `batch_lines_billed` counts every line run (what the account pays for); the
`POST /batches` route is also billable in the framework's counter.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from typing import Any

from apiedit.testing.emulator import RecordedRequest, Response

__all__ = ["BatchRoutes"]

# CreateBatchRequest.endpoint's enum; only the image endpoints are run, others fail per line.
_ENDPOINTS = {"/v1/images/generations": "/images/generations", "/v1/images/edits": "/images/edits",
              "/v1/chat/completions": None, "/v1/responses": None, "/v1/embeddings": None,
              "/v1/completions": None, "/v1/moderations": None, "/v1/videos": None}


def _err(status: int, message: str, param: str | None = None, code: str | None = None) -> Response:
    return Response.json({"error": {"message": message, "type": "invalid_request_error",
                                    "param": param, "code": code}}, status)


class BatchRoutes:
    """Files + Batch API state; needs the host emulator's `_guarded`, `_generations`, `_edits`."""

    def init_batches(self) -> None:
        self.batch_validate_s = 0.0
        self.batch_run_s = 0.0
        self.batch_hold_after: int | None = None
        self.batch_outcome: str | None = None
        self.batch_create_error_after = 0
        self.batch_lines_billed = 0
        self.uploads: dict[str, dict[str, Any]] = {}  # file id -> object + "_data"
        self.batches: dict[str, dict[str, Any]] = {}  # batch id -> Batch + private "_" fields
        self._batch_lock = threading.RLock()

    def batch_routes(self) -> None:
        route = self.route  # type: ignore[attr-defined]
        route("POST", r"/files", self._upload_file)
        route("GET", r"/files/(?P<id>file-[A-Za-z0-9]+)", self._file_object)
        route("GET", r"/files/(?P<id>file-[A-Za-z0-9]+)/content", self._file_content)
        route("POST", r"/batches", self._create_batch, billable=True)
        route("GET", r"/batches", self._list_batches)
        route("GET", r"/batches/(?P<id>batch_[A-Za-z0-9]+)", self._get_batch)
        route("POST", r"/batches/(?P<id>batch_[A-Za-z0-9]+)/cancel", self._cancel_batch)

    # ---- files ------------------------------------------------------------------------------
    def _store_file(self, data: bytes, filename: str, purpose: str) -> dict[str, Any]:
        obj = {"id": f"file-{uuid.uuid4().hex[:24]}", "object": "file", "bytes": len(data),
               "created_at": int(time.time()), "filename": filename, "purpose": purpose,
               "status": "processed", "expires_at": None, "status_details": None}
        with self._batch_lock:
            self.uploads[obj["id"]] = {**obj, "_data": data}
        return obj

    def _upload_file(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        def run() -> Response:
            parts = request.form()
            fields = {name: (value, filename) for name, value, filename, _ in parts}
            purpose = fields.get("purpose", ("", None))[0]
            purpose = purpose.decode() if isinstance(purpose, bytes) else purpose
            if "file" not in fields or not isinstance(fields["file"][0], bytes):
                return _err(400, "Missing required parameter: 'file'.", "file")
            if purpose not in ("batch", "assistants", "vision", "user_data", "fine-tune", "evals"):
                return _err(400, f"Invalid value for purpose: {purpose!r}.", "purpose")
            data, filename = fields["file"]
            if purpose == "batch":
                for number, raw in enumerate(data.splitlines(), 1):
                    try:
                        json.loads(raw)
                    except ValueError:
                        return _err(400, f"Invalid JSON on line {number} of the batch file.", "file")
            return Response.json(self._store_file(data, filename or "upload", purpose))
        return self._guarded(request, run)  # type: ignore[attr-defined]

    def _file_object(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        def run() -> Response:
            found = self.uploads.get(match["id"])
            if found is None:
                return _err(404, f"No such File object: {match['id']}", "id")
            return Response.json({k: v for k, v in found.items() if not k.startswith("_")})
        return self._guarded(request, run)  # type: ignore[attr-defined]

    def _file_content(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        def run() -> Response:
            found = self.uploads.get(match["id"])
            if found is None:
                return _err(404, f"No such File object: {match['id']}", "id")
            return Response(200, found["_data"], content_type="application/octet-stream")
        return self._guarded(request, run)  # type: ignore[attr-defined]

    # ---- batches ----------------------------------------------------------------------------
    def _public(self, batch: dict[str, Any]) -> dict[str, Any]:
        # unset fields are left out (the spec's Batch fields are not nullable)
        return {k: v for k, v in batch.items() if not k.startswith("_") and v is not None}

    def _create_batch(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        def run() -> Response:
            try:
                body = request.json()
            except ValueError:
                return _err(400, "We could not parse the JSON body of your request.")
            endpoint = body.get("endpoint")
            if endpoint not in _ENDPOINTS:
                return _err(400, f"Invalid value: {endpoint!r}.", "endpoint")
            if body.get("completion_window") != "24h":
                return _err(400, "Invalid value for completion_window: only '24h' is supported.",
                            "completion_window")
            file = self.uploads.get(str(body.get("input_file_id")))
            if file is None or file["purpose"] != "batch":
                return _err(400, f"Invalid input_file_id: {body.get('input_file_id')!r}.",
                            "input_file_id")
            metadata = body.get("metadata") or {}
            if not isinstance(metadata, dict) or len(metadata) > 16:
                return _err(400, "metadata must be an object of at most 16 pairs.", "metadata")
            now = int(time.time())
            batch = {
                "id": f"batch_{uuid.uuid4().hex[:24]}", "object": "batch", "endpoint": endpoint,
                "errors": None, "input_file_id": file["id"], "completion_window": "24h",
                "status": "validating", "output_file_id": None, "error_file_id": None,
                "created_at": now, "in_progress_at": None, "expires_at": now + 86400,
                "finalizing_at": None, "completed_at": None, "failed_at": None,
                "expired_at": None, "cancelling_at": None, "cancelled_at": None,
                "request_counts": {"total": 0, "completed": 0, "failed": 0},
                "metadata": metadata,
                "_auth": request.headers.get("authorization", ""), "_since": time.monotonic(),
                "_outcome": self.batch_outcome, "_done": [], "_order": len(self.batches),
            }
            with self._batch_lock:
                self.batches[batch["id"]] = batch
                fail_after = self.batch_create_error_after > 0
                if fail_after:
                    self.batch_create_error_after -= 1
            if fail_after:
                return Response.json({"error": {"message": "The server had an error while "
                                      "processing your request.", "type": "server_error"}}, 500)
            return Response.json(self._public(batch))
        return self._guarded(request, run)  # type: ignore[attr-defined]

    def seed_batches(self, n: int) -> None:
        """`n` completed batches that belong to someone else (other metadata), older than any
        batch a test creates, so a client has to page through the list."""
        with self._batch_lock:
            for i in range(n):
                bid = f"batch_seed{uuid.uuid4().hex[:20]}"
                self.batches[bid] = {
                    "id": bid, "object": "batch", "endpoint": "/v1/chat/completions",
                    "status": "completed", "created_at": 1_700_000_000 + i,
                    "completion_window": "24h", "input_file_id": "file-seed",
                    "request_counts": {"total": 1, "completed": 1, "failed": 0},
                    "metadata": {"owner": "someone else"}, "_order": -n + i,
                }

    def _list_batches(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        def run() -> Response:
            limit = int((request.query.get("limit") or ["20"])[0])
            after = (request.query.get("after") or [None])[0]
            with self._batch_lock:
                ordered = sorted(self.batches.values(), key=lambda b: b["_order"], reverse=True)
            for batch in ordered:
                self._advance(batch)
            if after:
                ids = [b["id"] for b in ordered]
                ordered = ordered[ids.index(after) + 1:] if after in ids else []
            page = [self._public(b) for b in ordered[:limit]]
            body: dict[str, Any] = {"object": "list", "data": page, "has_more": len(ordered) > limit}
            if page:  # first_id/last_id are optional strings in the spec: left out when empty
                body.update(first_id=page[0]["id"], last_id=page[-1]["id"])
            return Response.json(body)
        return self._guarded(request, run)  # type: ignore[attr-defined]

    def _found(self, bid: str) -> dict[str, Any] | None:
        with self._batch_lock:
            return self.batches.get(bid)

    def _get_batch(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        def run() -> Response:
            batch = self._found(match["id"])
            if batch is None:
                return _err(404, f"No batch found with id '{match['id']}'.", "batch_id")
            self._advance(batch)
            return Response.json(self._public(batch))
        return self._guarded(request, run)  # type: ignore[attr-defined]

    def _cancel_batch(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        def run() -> Response:
            batch = self._found(match["id"])
            if batch is None:
                return _err(404, f"No batch found with id '{match['id']}'.", "batch_id")
            with self._batch_lock:
                self._advance(batch)
                if batch["status"] not in ("validating", "in_progress", "finalizing"):
                    return _err(409, f"Cannot cancel a batch with status {batch['status']}.")
                batch["status"] = "cancelling"
                batch["cancelling_at"] = int(time.time())
                return Response.json(self._public(batch))
        return self._guarded(request, run)  # type: ignore[attr-defined]

    # ---- the state machine ------------------------------------------------------------------
    def _lines(self, batch: dict[str, Any]) -> list[dict[str, Any]]:
        data = self.uploads[batch["input_file_id"]]["_data"]
        return [json.loads(raw) for raw in data.splitlines() if raw.strip()]

    def _run_line(self, batch: dict[str, Any], line: dict[str, Any]) -> dict[str, Any]:
        path = _ENDPOINTS.get(str(line.get("url")))
        rid = f"req_{uuid.uuid4().hex}"
        if path is None or line.get("url") != batch["endpoint"]:
            problem = "The line's url is not the batch's endpoint (or is not emulated)."
            return {"id": f"batch_req_{uuid.uuid4().hex[:24]}", "custom_id": line.get("custom_id"),
                    "response": None, "error": {"code": "invalid_url", "message": problem}}
        fake = RecordedRequest("POST", path, {}, {"authorization": batch["_auth"],
                                                  "content-type": "application/json"},
                               json.dumps(line.get("body") or {}).encode(), True)
        host: Any = self
        handler = host._generations if path.endswith("generations") else host._edits
        answer = handler(fake, None)
        with self._batch_lock:
            self.batch_lines_billed += 1
        return {"id": f"batch_req_{uuid.uuid4().hex[:24]}", "custom_id": line.get("custom_id"),
                "response": {"status_code": answer.status, "request_id": rid,
                             "body": json.loads(answer.body)},
                "error": None}

    def _finish(self, batch: dict[str, Any], status: str, unrun_code: str | None) -> None:
        done: list[dict[str, Any]] = batch["_done"]
        ok = [d for d in done if d["response"] and d["response"]["status_code"] < 400]
        bad = [d for d in done if d not in ok]
        if unrun_code:
            message = {"batch_expired": "This request could not be executed before the "
                       "completion window expired.",
                       "batch_cancelled": "This request was not executed because the batch "
                       "was cancelled."}[unrun_code]
            seen = {d["custom_id"] for d in done}
            for line in self._lines(batch):
                if line.get("custom_id") not in seen:
                    bad.append({"id": f"batch_req_{uuid.uuid4().hex[:24]}",
                                "custom_id": line.get("custom_id"), "response": None,
                                "error": {"code": unrun_code, "message": message}})

        def jsonl(rows: list[dict[str, Any]]) -> bytes:
            return b"".join(json.dumps(r).encode() + b"\n" for r in rows)

        if ok:
            batch["output_file_id"] = self._store_file(jsonl(ok), "batch_output.jsonl",
                                                       "batch_output")["id"]
        if bad:
            batch["error_file_id"] = self._store_file(jsonl(bad), "batch_error.jsonl",
                                                      "batch_output")["id"]
        batch["request_counts"] = {"total": batch["request_counts"]["total"],
                                   "completed": len(ok), "failed": len(done) - len(ok)}
        batch["status"] = status
        batch[f"{status}_at"] = int(time.time())

    def _advance(self, batch: dict[str, Any]) -> None:
        """Move `batch` as far as its timings and the switches allow."""
        with self._batch_lock:
            if "_since" not in batch:
                return
            now = time.monotonic()
            if batch["status"] == "validating" and now - batch["_since"] >= self.batch_validate_s:
                if batch["_outcome"] == "failed":
                    batch["status"], batch["failed_at"] = "failed", int(time.time())
                    batch["errors"] = {"object": "list", "data": [{
                        "code": "invalid_request", "line": 1, "param": "body",
                        "message": "The batch input file is not valid (emulated)."}]}
                    return
                batch["request_counts"]["total"] = len(self._lines(batch))
                batch["status"], batch["in_progress_at"] = "in_progress", int(time.time())
                batch["_since"] = now
            if batch["status"] in ("in_progress", "cancelling"):
                lines = self._lines(batch)
                if batch["status"] == "in_progress":
                    limit = len(lines) if self.batch_hold_after is None else self.batch_hold_after
                    if batch["_outcome"] == "expired":
                        limit = min(limit, self.batch_hold_after or 0)
                    for line in lines[len(batch["_done"]):limit]:
                        batch["_done"].append(self._run_line(batch, line))
                    batch["request_counts"]["completed"] = len(batch["_done"])
                if batch["status"] == "cancelling":
                    self._finish(batch, "cancelled", "batch_cancelled")
                elif batch["_outcome"] == "expired" and now - batch["_since"] >= self.batch_run_s:
                    self._finish(batch, "expired", "batch_expired")
                elif len(batch["_done"]) == len(lines) and now - batch["_since"] >= self.batch_run_s:
                    batch["status"], batch["finalizing_at"] = "finalizing", int(time.time())
            if batch["status"] == "finalizing":
                self._finish(batch, "completed", None)
