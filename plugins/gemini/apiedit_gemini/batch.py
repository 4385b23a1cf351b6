"""Gemini Batch Mode for image models: half price, target 24 h, results as a JSONL file.

Wire (google-genai 3.6.1 source: `files.upload`, `batches.create/get/list/cancel`,
`files.download`; providers-2026-12.md "Batch APIs"):
  - the input is a JSONL file, one `{"key": custom_id, "request": GenerateContentRequest}` a
    line (the body the interactive path builds), uploaded with the resumable protocol:
    `POST {root}/upload/{v}/files` with `X-Goog-Upload-Protocol: resumable`,
    `X-Goog-Upload-Command: start`, `X-Goog-Upload-Header-Content-Length/-Type`, then the bytes
    in `MAX_CHUNK` chunks to the `x-goog-upload-url` it answers (`upload`, last
    `upload, finalize`, `X-Goog-Upload-Offset`);
  - input images above `INLINE_LIMIT` bytes are uploaded the same way and referenced as
    `fileData {mimeType, fileUri}`; smaller ones stay inline base64;
  - `POST {v}/models/{model}:batchGenerateContent` `{batch: {displayName: token,
    inputConfig: {fileName}}}` creates the job (the paid step); `GET {v}/batches/{name}`,
    `GET {v}/batches?pageSize&pageToken`, `POST {v}/batches/{name}:cancel`; the results are
    `metadata.output.responsesFile`, read streamed from `GET {v}/files/{id}:download?alt=media`.

Never a second paid job: the job's displayName is core's token and `submit_batch` lists jobs
first. The input file carries displayName `{token}.jsonl`: a resume within its 48 h life
reuses it; after expiry (or if it is gone) the inputs are uploaded again. The job's `state`
keeps the file names and expiry times.
"""

from __future__ import annotations

import datetime
import json
import os
import tempfile
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

import requests
from requests.structures import CaseInsensitiveDict

from apiedit.batch.kit import unanswered_items
from apiedit.batch.types import BatchItem, BatchJob, BatchLine, BatchState, BatchStatus
from apiedit.errors import ApiEditError, InvalidInputError, ProviderError
from apiedit.types import EditResult

from . import models, wire
from .generate import model_info

if TYPE_CHECKING:
    from apiedit.settings import ProviderSettings

__all__ = ["INLINE_LIMIT", "MAX_CHUNK", "MAX_FILE_BYTES", "cancel_batch", "fetch_batch_results",
           "poll_batch", "submit_batch", "supports_batch"]

INLINE_LIMIT = 1024 * 1024  # input images above this go through the Files API as fileData
MAX_CHUNK = 8 * 1024 * 1024  # resumable upload chunk (the SDK's CHUNK_SIZE)
MAX_FILE_BYTES = 2 * 1024 ** 3  # Files API limit per file
_PAGE = 100
# google-genai's t_job_state maps BATCH_STATE_* to JOB_STATE_*; accept both and bare words.
_STATES = {
    "QUEUED": BatchState.QUEUED, "PENDING": BatchState.QUEUED, "RUNNING": BatchState.RUNNING,
    "SUCCEEDED": BatchState.SUCCEEDED, "PARTIALLY_SUCCEEDED": BatchState.PARTIALLY_SUCCEEDED,
    "FAILED": BatchState.FAILED, "CANCELLING": BatchState.CANCELLING,
    "CANCELLED": BatchState.CANCELLED, "EXPIRED": BatchState.EXPIRED,
}
# The cookbook's batch image models, and their families by the model table's rules.
_BATCH_FAMILIES = {"nano-banana", "gemini-3.1-flash-image", "gemini-3-image",
                   "gemini-2.5-flash-image"}


def supports_batch(model: str) -> bool:
    """Image models whose family Batch Mode takes (cookbook list, providers-2026-12.md); a
    retired id is refused."""
    known = models.curated_model(model)
    return bool(known and not known.retired and known.extra.get("family") in _BATCH_FAMILIES)


# ---- plumbing -------------------------------------------------------------------------------


def _headers(settings: ProviderSettings, **extra: str) -> dict[str, str]:
    return {"x-goog-api-key": settings.require_key(), **extra}


def _mapper(settings: ProviderSettings) -> Callable[[requests.Response], ApiEditError]:
    return lambda response: wire.map_error(response, settings.label)


def _once(settings: ProviderSettings) -> Callable[[requests.Response], ApiEditError]:
    """The error mapping for creating a job: never retried, even on a 5xx (Google's 500 can
    come after the job was made; a retry would make a second, paid job)."""
    def mapped(response: requests.Response) -> ApiEditError:
        error = wire.map_error(response, settings.label)
        error.retryable = False
        return error
    return mapped


def _url(settings: ProviderSettings, path: str, upload: str = "") -> str:
    root, version = wire.endpoint(settings.base_url)
    return f"{root}/{upload}{version}/{path}"


def _get(settings: ProviderSettings, path: str, **params: Any) -> dict[str, Any]:
    return settings.http.get_json(_url(settings, path), params=params or None,
                                  headers=_headers(settings), map_error=_mapper(settings))


def _future(stamp: str | None, now: datetime.datetime | None = None) -> bool:
    """Whether an RFC 3339 expiry lies ahead (a missing one counts as expired)."""
    if not stamp:
        return False
    try:
        when = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return False
    return when > (now or datetime.datetime.now(datetime.timezone.utc))


def upload_file(settings: ProviderSettings, path: str, mime: str, display_name: str) -> dict[str, Any]:
    """The resumable upload as google-genai does it; returns the File (name, uri, expiry)."""
    size = os.path.getsize(path)
    start = settings.http.request(
        "POST", _url(settings, "files", upload="upload/"), billable=False,
        map_error=_mapper(settings),
        headers=_headers(settings, **{
            "Content-Type": "application/json", "X-Goog-Upload-Protocol": "resumable",
            "X-Goog-Upload-Command": "start", "X-Goog-Upload-Header-Content-Length": str(size),
            "X-Goog-Upload-Header-Content-Type": mime}),
        data=json.dumps({"file": {"displayName": display_name, "mimeType": mime}}))
    target = start.headers.get("x-goog-upload-url")
    if not target:
        raise ProviderError(f"{settings.label} did not give an upload URL for the batch file. "
                            "Check the base URL.", provider=settings.provider)
    offset = 0
    answer: requests.Response | None = None
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(MAX_CHUNK)
            command = "upload, finalize" if offset + len(chunk) >= size else "upload"
            answer = settings.http.request(
                "POST", target, billable=False, map_error=_mapper(settings),
                headers=_headers(settings, **{"X-Goog-Upload-Command": command,
                                              "X-Goog-Upload-Offset": str(offset)}),
                data=chunk)
            offset += len(chunk)
            if "finalize" in command:
                break
    body = answer.json() if answer is not None else {}
    return dict(body.get("file") or body)


def _as_response(status: int, body: Any) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    response.headers = CaseInsensitiveDict({"content-type": "application/json"})
    return response


# ---- submit ---------------------------------------------------------------------------------


def _write_input(lines: Sequence[BatchLine], model: str, path: str,
                 settings: ProviderSettings, token: str) -> list[dict[str, Any]]:
    """Write the JSONL input; upload big images as files. Returns the image files made."""
    image_files: list[dict[str, Any]] = []
    total = 0
    info = model_info(model)
    with open(path, "w", encoding="utf-8") as out, tempfile.TemporaryDirectory() as scratch:
        for line in lines:
            try:
                body, _ = wire.build_body(line.request, info)
            except ApiEditError as exc:
                raise type(exc)(f"Batch line {line.custom_id!r}: {exc.fact}",
                                provider="gemini", hint=exc.hint) from None
            for content in body["contents"]:
                for i, part in enumerate(content.get("parts", [])):
                    inline = part.get("inlineData")
                    data = getattr(inline.get("data"), "raw", None) if isinstance(inline, dict) else None
                    if data is None or len(data) <= INLINE_LIMIT:
                        continue
                    tmp = os.path.join(scratch, "image")
                    with open(tmp, "wb") as fh:
                        fh.write(data)
                    made = upload_file(settings, tmp, inline["mimeType"], f"{token}-image")
                    image_files.append({"name": made.get("name"),
                                        "expires": made.get("expirationTime")})
                    content["parts"][i] = {"fileData": {"mimeType": inline["mimeType"],
                                                        "fileUri": made.get("uri")}}
            text = json.dumps({"key": line.custom_id, "request": body}, separators=(",", ":")) + "\n"
            total += len(text)
            if total > MAX_FILE_BYTES:
                raise InvalidInputError("The batch input is over the Files API's 2 GB limit; "
                                        "split the manifest.")
            out.write(text)
    return image_files


def _listed(settings: ProviderSettings, path: str, key: str) -> Iterator[dict[str, Any]]:
    """Every item of a paged list (`pageSize`/`pageToken`), page by page."""
    page_token = None
    while True:
        params: dict[str, Any] = {"pageSize": _PAGE}
        if page_token:
            params["pageToken"] = page_token
        page = _get(settings, path, **params)
        yield from page.get(key) or []
        page_token = page.get("nextPageToken")
        if not page_token:
            return


def _find_job(settings: ProviderSettings, token: str) -> dict[str, Any] | None:
    return next((op for op in _listed(settings, "batches", "operations")
                 if (op.get("metadata") or {}).get("displayName") == token), None)


def _find_input(settings: ProviderSettings, token: str) -> dict[str, Any] | None:
    """An unexpired input file of an earlier attempt with this token (uploading is free, but
    a resume need not send gigabytes again)."""
    return next((f for f in _listed(settings, "files", "files")
                 if f.get("displayName") == f"{token}.jsonl" and _future(f.get("expirationTime"))),
                None)


def _job(model: str, token: str, op: dict[str, Any], lines: Sequence[BatchLine],
         state: dict[str, Any]) -> BatchJob:
    return BatchJob(provider="gemini", model=model, job_id=str(op["name"]), token=token,
                    custom_ids=tuple(line.custom_id for line in lines), state=state)


def submit_batch(model: str, lines: Sequence[BatchLine], token: str,
                 journal: Callable[[BatchJob], None], settings: ProviderSettings) -> list[BatchJob]:
    """One job for all `lines` (display name = token), reusing one that already exists."""
    settings.require_key()
    if not lines:
        return []
    existing = _find_job(settings, token)
    if existing is not None:
        meta = existing.get("metadata") or {}
        input_name = ((meta.get("inputConfig") or {}).get("fileName"))
        return [_job(model, token, existing, lines, {"input_file": input_name})]
    state: dict[str, Any] = {}
    reused = _find_input(settings, token)
    if reused is not None:
        state.update(input_file=reused["name"], input_expires=reused.get("expirationTime"),
                     reused_input=True)
    else:
        with tempfile.TemporaryDirectory(prefix="apiedit-gemini-batch-") as workdir:
            path = os.path.join(workdir, "input.jsonl")
            image_files = _write_input(lines, model, path, settings, token)
            settings.report(f"{settings.label}: uploading the batch file ({len(lines)} requests)")
            made = upload_file(settings, path, "application/jsonl", f"{token}.jsonl")
        state.update(input_file=made.get("name"), input_expires=made.get("expirationTime"),
                     image_files=image_files)
    settings.check_cancelled()
    bare = model.removeprefix("models/")
    response = settings.http.request(
        "POST", _url(settings, f"models/{bare}:batchGenerateContent"), billable=True,
        map_error=_once(settings), headers=_headers(settings, **{"Content-Type": "application/json"}),
        data=json.dumps({"batch": {"displayName": token,
                                   "inputConfig": {"fileName": state["input_file"]}}}))
    job = _job(model, token, response.json(), lines, state)
    journal(job)
    return [job]


# ---- poll / cancel / fetch ------------------------------------------------------------------


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _status(op: dict[str, Any]) -> BatchStatus:
    meta = op.get("metadata") or {}
    word = str(meta.get("state") or "")
    bare = word.removeprefix("BATCH_STATE_").removeprefix("JOB_STATE_")
    stats = meta.get("batchStats") or {}
    failed = _int(stats.get("failedRequestCount"))
    done = _int(stats.get("successfulRequestCount"))
    state = _STATES.get(bare, BatchState.RUNNING)
    if state is BatchState.SUCCEEDED and failed:
        state = BatchState.PARTIALLY_SUCCEEDED if done else BatchState.FAILED
    error = op.get("error") or {}
    return BatchStatus(state=state, total=_int(stats.get("requestCount")), succeeded=done,
                       failed=failed, provider_state=word, message=str(error.get("message") or ""))


def poll_batch(job: BatchJob, settings: ProviderSettings) -> BatchStatus:
    """One GET of the job (its Operation), mapped onto core's states."""
    return _status(_get(settings, job.job_id))


def cancel_batch(job: BatchJob, settings: ProviderSettings) -> BatchStatus:
    """Ask Gemini to cancel; the answer is empty, so the job is read again for its state."""
    settings.http.request("POST", _url(settings, f"{job.job_id}:cancel"), billable=False,
                          map_error=_mapper(settings), headers=_headers(settings))
    return poll_batch(job, settings)


def _item(obj: dict[str, Any], job: BatchJob, settings: ProviderSettings) -> BatchItem:
    custom_id = str(obj.get("key"))
    error = obj.get("error")
    if isinstance(error, dict):
        status = _int(error.get("code")) or 500
        return BatchItem(custom_id, error=wire.map_error(_as_response(status, {"error": error}),
                                                         settings.label))
    try:
        answer = wire.parse_answer(obj.get("response"))
    except ApiEditError as exc:
        return BatchItem(custom_id, error=exc)
    return BatchItem(custom_id, result=EditResult(
        images=tuple(answer.images), provider=wire.PROVIDER, model=job.model, text=answer.text,
        request_id=answer.request_id, usage=answer.usage, warnings=tuple(answer.warnings),
        info={**answer.info, "batch": job.job_id}, state=answer.state))


def fetch_batch_results(job: BatchJob, settings: ProviderSettings) -> Iterator[BatchItem]:
    """Every line's outcome, streamed from the responses file; missing lines are errors."""
    op = _get(settings, job.job_id)
    status = _status(op)
    meta = op.get("metadata") or {}
    output = (meta.get("output") or {}).get("responsesFile") or \
        ((op.get("response") or {}).get("responsesFile"))
    wanted = set(job.custom_ids)
    seen: set[str] = set()
    if output:
        response = settings.http.request(
            "GET", _url(settings, f"{output}:download") + "?alt=media", billable=False,
            map_error=_mapper(settings), headers=_headers(settings), stream=True)
        with response:
            for raw in response.iter_lines():
                if not raw.strip():
                    continue
                obj = json.loads(raw)
                key = str(obj.get("key"))
                if key in wanted and key not in seen:
                    seen.add(key)
                    yield _item(obj, job, settings)
    yield from unanswered_items(job, seen, status, settings)
