"""OpenAI's Batch API for image generations and edits: half price, results within 24 h.

Wire (openai-openapi spec, `CreateBatchRequest`, `Batch`, `BatchRequestInput`/`Output`;
providers-2026-12.md "Batch APIs"): the lines go as JSONL
`{custom_id, method: "POST", url: "/v1/images/generations" | "/v1/images/edits", body}`,
uploaded with `POST /files` (`purpose=batch`), one endpoint per file and at most
`MAX_LINES` lines / `MAX_FILE_BYTES` bytes per file; then `POST /batches` with
`completion_window: "24h"`. Edits use the JSON body (`images: [{image_url: data URL}]`, `mask`
likewise), so one line carries its inputs. Results are read streamed, line by line, from the
output and error files (`GET /files/{id}/content`).

Never a second paid job: each job carries `metadata.apiedit_token` (core's token) and
`metadata.apiedit_part` (which slice of the submission it is). `submit_batch` lists existing
batches first and reuses a part already created, so a resume after a crash (or after a 5xx
on create whose outcome is unknown) creates only the parts that do not exist.

Decisions: every line is checked and encoded before anything is uploaded; a line that cannot
be sent (bad size, too many images...) fails the submission with that line's typed error and
its custom_id, before any cost. Batch support is assumed for every GPT image model (the
reference verifies it for gpt-image-2; the Batch API takes both image endpoints), not DALL-E.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Callable, Iterator, Sequence

import requests
from requests.structures import CaseInsensitiveDict

from apiedit.batch.kit import unanswered_items
from apiedit.batch.types import BatchItem, BatchJob, BatchLine, BatchState, BatchStatus
from apiedit.errors import ApiEditError, InvalidInputError, ProviderError
from apiedit.images import image_size
from apiedit.protocols import openai_images as api
from apiedit.types import EditResult

from .models import family_of
from .wire import _check, _markup, _options, _prepare_image, _prepare_mask, resolve_size

if TYPE_CHECKING:
    from apiedit.settings import ProviderSettings

__all__ = [
    "MAX_FILE_BYTES", "MAX_LINES", "cancel_batch", "encode_line", "fetch_batch_results",
    "poll_batch", "submit_batch", "supports_batch",
]

MAX_LINES = 50_000  # requests per batch input file (Batch API limit)
MAX_FILE_BYTES = 200 * 1024 * 1024  # bytes per batch input file (Batch API limit)
COMPLETION_WINDOW = "24h"
TOKEN_KEY = "apiedit_token"
PART_KEY = "apiedit_part"
ENDPOINTS = {"generations": "/v1/images/generations", "edits": "/v1/images/edits"}
_LIST_PAGE = 100

_STATES = {
    "validating": BatchState.QUEUED,
    "in_progress": BatchState.RUNNING,
    "finalizing": BatchState.RUNNING,
    "cancelling": BatchState.CANCELLING,
    "cancelled": BatchState.CANCELLED,
    "failed": BatchState.FAILED,
    "expired": BatchState.EXPIRED,
}


def supports_batch(model: str) -> bool:
    """GPT image models (gpt-image-*, chatgpt-image-*); DALL-E is not sent to batches."""
    return not family_of(model).name.startswith("dall-e")


# ---- encoding -------------------------------------------------------------------------------


def encode_line(line: BatchLine) -> tuple[str, dict[str, Any]]:
    """(endpoint key, JSONL object) for one line, with the interactive path's checks."""
    request = line.request
    fam = family_of(request.model)
    _check(request, fam)
    if _markup(request, fam) is not None:
        raise InvalidInputError("markup is sent as a file upload, which the Batch API's JSON "
                                "edit body cannot carry; run this line live.")
    size, _ = resolve_size(request, fam)
    editing = bool(request.images)
    options, _ = _options(request, fam, editing)
    options.pop("markup", None)
    common: dict[str, Any] = {"model": request.model, "prompt": request.prompt, "n": request.n,
                              "size": size, "quality": request.quality, "options": options}
    if editing:
        if fam.square_png_only:
            raise InvalidInputError(f"{request.model} edits are multipart only; the Batch API "
                                    "takes JSON edits (GPT image models).")
        images = [_prepare_image(img, fam, i) for i, img in enumerate(request.images, 1)]
        mask = None
        if request.mask is not None:
            mask = _prepare_mask(request.mask, image_size(images[0].data))
        body = api.edit_json_body(images=images, mask=mask, **common)
        endpoint = "edits"
    else:
        body = api.generation_body(**common)
        endpoint = "generations"
    return endpoint, {"custom_id": line.custom_id, "method": "POST", "url": ENDPOINTS[endpoint],
                      "body": body}


@dataclass
class _Part:
    """One batch input file being written: one endpoint, within the line and byte limits."""

    index: int
    endpoint: str
    handle: IO[bytes]
    custom_ids: list[str] = field(default_factory=list)
    size: int = 0


def _write_parts(lines: Sequence[BatchLine], workdir: str) -> list[_Part]:
    """Split `lines` into input files on disk (by endpoint, then by the limits), in order.

    Deterministic for the same lines, so a resume numbers its parts as the first run did.
    """
    parts: list[_Part] = []
    open_parts: dict[str, _Part] = {}
    for line in lines:
        try:
            endpoint, obj = encode_line(line)
        except ApiEditError as exc:
            raise type(exc)(f"Batch line {line.custom_id!r}: {exc.fact}", provider="openai",
                            hint=exc.hint) from None
        data = (json.dumps(obj, separators=(",", ":")) + "\n").encode()
        if len(data) > MAX_FILE_BYTES:
            raise InvalidInputError(f"Batch line {line.custom_id!r} is {len(data) / 1e6:.0f} MB "
                                    "encoded, over the Batch API's file limit; use smaller images.")
        part = open_parts.get(endpoint)
        if part is None or len(part.custom_ids) >= MAX_LINES or part.size + len(data) > MAX_FILE_BYTES:
            if part is not None:
                part.handle.close()
            handle = open(os.path.join(workdir, f"part-{len(parts)}.jsonl"), "w+b")
            part = _Part(len(parts), endpoint, handle)
            parts.append(part)
            open_parts[endpoint] = part
        part.handle.write(data)
        part.custom_ids.append(line.custom_id)
        part.size += len(data)
    for part in parts:
        part.handle.close()
    return parts


# ---- submit ---------------------------------------------------------------------------------


def _existing(settings: ProviderSettings, token: str) -> dict[int, dict[str, Any]]:
    """Batches already carrying `token`, by part index (newest wins; all pages are read)."""
    found: dict[int, dict[str, Any]] = {}
    after: str | None = None
    while True:
        params: dict[str, Any] = {"limit": _LIST_PAGE}
        if after:
            params["after"] = after
        page = settings.http.get_json("batches", params=params, headers=api.auth_headers(settings),
                                      map_error=api.error_mapper(settings))
        data = page.get("data") or []
        for batch in data:
            meta = batch.get("metadata") or {}
            if meta.get(TOKEN_KEY) == token and str(meta.get(PART_KEY, "")).isdigit():
                found.setdefault(int(meta[PART_KEY]), batch)
        if not page.get("has_more") or not data:
            return found
        after = page.get("last_id") or data[-1].get("id")


def _upload(settings: ProviderSettings, path: str, name: str) -> str:
    with open(path, "rb") as fh:
        response = settings.http.request(
            "POST", "files", billable=False, map_error=api.error_mapper(settings),
            headers=api.auth_headers(settings),
            data={"purpose": "batch"}, files={"file": (name, fh, "application/jsonl")},
        )
    return str(response.json()["id"])


def _job(model: str, token: str, batch: dict[str, Any], part: _Part) -> BatchJob:
    return BatchJob(provider="openai", model=model, job_id=str(batch["id"]), token=token,
                    custom_ids=tuple(part.custom_ids),
                    state={"endpoint": part.endpoint, "part": part.index,
                           "input_file_id": batch.get("input_file_id")})


def submit_batch(model: str, lines: Sequence[BatchLine], token: str,
                 journal: Callable[[BatchJob], None], settings: ProviderSettings) -> list[BatchJob]:
    """Create the jobs for `lines` (reusing parts that already carry `token`); journal each."""
    settings.require_key()
    if not lines:
        return []
    with tempfile.TemporaryDirectory(prefix="apiedit-openai-batch-") as workdir:
        parts = _write_parts(lines, workdir)
        existing = _existing(settings, token)
        jobs: list[BatchJob] = []
        for part in parts:
            batch = existing.get(part.index)
            if batch is None:
                settings.check_cancelled()
                settings.report(f"{settings.label}: uploading batch file {part.index + 1}/"
                                f"{len(parts)} ({len(part.custom_ids)} requests)")
                file_id = _upload(settings, part.handle.name, f"{token}-{part.index}.jsonl")
                body = {"input_file_id": file_id, "endpoint": ENDPOINTS[part.endpoint],
                        "completion_window": COMPLETION_WINDOW,
                        "metadata": {TOKEN_KEY: token, PART_KEY: str(part.index)}}
                response = settings.http.request(
                    "POST", "batches", billable=True, map_error=api.error_mapper(settings),
                    headers=api.auth_headers(settings), json=body)
                batch = response.json()
                job = _job(model, token, batch, part)
                journal(job)
            else:
                job = _job(model, token, batch, part)
            jobs.append(job)
        return jobs


# ---- poll / cancel --------------------------------------------------------------------------


def _status(batch: dict[str, Any]) -> BatchStatus:
    word = str(batch.get("status") or "")
    counts = batch.get("request_counts") or {}
    failed = counts.get("failed")
    done = counts.get("completed")
    if word == "completed":
        state = BatchState.PARTIALLY_SUCCEEDED if failed else BatchState.SUCCEEDED
        if failed and not done:
            state = BatchState.FAILED
    else:
        state = _STATES.get(word, BatchState.RUNNING)
    errors = ((batch.get("errors") or {}).get("data")) or []
    message = "; ".join(str(e.get("message") or e.get("code")) for e in errors if isinstance(e, dict))
    return BatchStatus(state=state, total=counts.get("total"), succeeded=done, failed=failed,
                       provider_state=word, message=message)


def _get(job: BatchJob, settings: ProviderSettings) -> dict[str, Any]:
    return settings.http.get_json(f"batches/{job.job_id}", headers=api.auth_headers(settings),
                                  map_error=api.error_mapper(settings))


def poll_batch(job: BatchJob, settings: ProviderSettings) -> BatchStatus:
    """One GET of the batch, mapped onto core's states."""
    return _status(_get(job, settings))


def cancel_batch(job: BatchJob, settings: ProviderSettings) -> BatchStatus:
    """Ask OpenAI to cancel; requests already done stay in the output file."""
    response = settings.http.request("POST", f"batches/{job.job_id}/cancel", billable=False,
                                     map_error=api.error_mapper(settings),
                                     headers=api.auth_headers(settings))
    return _status(response.json())


# ---- results --------------------------------------------------------------------------------


def _as_response(status: int, body: Any, request_id: str | None) -> requests.Response:
    """A `requests.Response` for one result line, so the interactive parsing and error mapping
    apply unchanged."""
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    response.headers = CaseInsensitiveDict({"content-type": "application/json"})
    if request_id:
        response.headers["x-request-id"] = request_id
    return response


def _item(obj: dict[str, Any], job: BatchJob, settings: ProviderSettings) -> BatchItem:
    custom_id = str(obj.get("custom_id"))
    answer = obj.get("response") or {}
    error = obj.get("error")
    status = answer.get("status_code")
    request_id = answer.get("request_id")
    if isinstance(status, int) and 200 <= status < 300 and not error:
        try:
            parsed = api.parse_images_response(_as_response(status, answer.get("body"), request_id),
                                               settings)
        except ApiEditError as exc:
            return BatchItem(custom_id, error=exc)
        return BatchItem(custom_id, result=EditResult(
            images=parsed.images, provider=settings.provider, model=job.model, text=parsed.text,
            request_id=parsed.request_id, usage=parsed.usage,
            info={**parsed.info, "endpoint": job.state.get("endpoint"), "batch_id": job.job_id},
            raw=parsed.raw))
    if isinstance(status, int) and status >= 400:
        return BatchItem(custom_id, error=api.map_error(
            _as_response(status, answer.get("body"), request_id), settings.label, settings.provider))
    err = error if isinstance(error, dict) else {}
    code = str(err.get("code") or "batch_error")
    return BatchItem(custom_id, error=ProviderError(
        f"{settings.label} did not run this batch request ({code}): "
        f"{err.get('message') or 'no detail given'}. Submit the line again.",
        provider=settings.provider, code=code, request_id=request_id))


def _stream_file(file_id: str, settings: ProviderSettings) -> Iterator[dict[str, Any]]:
    response = settings.http.request("GET", f"files/{file_id}/content", billable=False,
                                     map_error=api.error_mapper(settings),
                                     headers=api.auth_headers(settings), stream=True)
    with response:
        for raw in response.iter_lines():
            if raw.strip():
                yield json.loads(raw)


def fetch_batch_results(job: BatchJob, settings: ProviderSettings) -> Iterator[BatchItem]:
    """Every line's outcome, read streamed from the output then the error file; a line in
    neither (the job failed, expired or was cancelled first) comes back as an error."""
    batch = _get(job, settings)
    status = _status(batch)
    wanted = set(job.custom_ids)
    seen: set[str] = set()
    for key in ("output_file_id", "error_file_id"):
        file_id = batch.get(key)
        if not file_id:
            continue
        for obj in _stream_file(str(file_id), settings):
            custom_id = str(obj.get("custom_id"))
            if custom_id not in wanted or custom_id in seen:
                continue
            seen.add(custom_id)
            yield _item(obj, job, settings)
    yield from unanswered_items(job, seen, status, settings)
