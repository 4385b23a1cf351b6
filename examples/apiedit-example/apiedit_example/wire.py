"""The example job API on the wire: one paid `POST /jobs`, free `GET /jobs/{id}` polls, and the
finished job's images fetched from the URLs it lists.

What core does for us, so this file stays short and safe:
  * `settings.http.request(..., billable=True)` sends the submit once: never resent after an
    unknown outcome (a timeout after sending may have been billed);
  * `poll_task` waits (schedule, deadline, cancellation, progress lines, transient poll
    failures), with `STATES` mapping the API's words onto `TaskState`;
  * `failed_task_error` turns a failed job into a typed error (a refusal is ContentBlockedError);
  * `download_image` fetches each output: http(s) only, size-capped, private addresses refused
    unless the base URL is private too. Never fetch a provider's URL with plain `requests`.
"""

from __future__ import annotations

from typing import Any

import requests

import apiedit
from apiedit.download import download_image
from apiedit.errormap import Envelope, error_from_response
from apiedit.images import b64encode
from apiedit.protocols.async_tasks import TaskState, failed_task_error, poll_task
from apiedit.settings import ProviderSettings

# The API's job-state words in core's terms (poll_task matches them case-insensitively).
STATES = {"queued": TaskState.QUEUED, "running": TaskState.RUNNING,
          "succeeded": TaskState.SUCCEEDED, "failed": TaskState.FAILED}

_KINDS = ("auth", "quota", "rate_limit", "blocked", "bad_request", "overloaded", "server_error")


def envelope(body: Any) -> Envelope | None:
    """The API's error envelope, {"error": {"message", "code"}}: a code naming an error kind
    ("blocked", "quota"...) decides the error class, whatever the HTTP status."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None
    code = error.get("code")
    code = str(code) if code is not None else None
    return Envelope(message=str(error.get("message") or ""), code=code,
                    kind=code if code in _KINDS else None)


def _map_error(response: requests.Response, settings: ProviderSettings) -> apiedit.ApiEditError:
    """Core's status mapping with this API's envelope; its "unknown model" code is UnknownModelError."""
    error = error_from_response(response, settings.label, provider=settings.provider, envelope=envelope)
    if error.code == "model_not_found":  # every provider's "unknown model" is UnknownModelError
        return apiedit.UnknownModelError(str(error), provider=settings.provider, status=error.status)
    return error


def _auth(settings: ProviderSettings) -> dict[str, str]:
    return {"Authorization": f"Bearer {settings.require_key()}"}


def fetch_models(settings: ProviderSettings) -> list[apiedit.ModelInfo]:
    """The live list; ids the curated table does not describe are marked unverified."""
    body = settings.http.get_json("models", headers=_auth(settings),
                                  map_error=lambda r: _map_error(r, settings))
    return [apiedit.ModelInfo(id=m["id"], verified=False) for m in body.get("data", [])]


def submit_body(request: apiedit.EditRequest) -> dict[str, Any]:
    """The submit's JSON: the input images base64-encoded, in the order given."""
    return {
        "model": request.model,
        "prompt": request.prompt,
        "images": [b64encode(image.data) for image in request.images],
        "n": request.n,
        "seed": request.seed,
    }


def fetch_output(url: str, settings: ProviderSettings) -> apiedit.ImageData:
    """One finished image, through core's safe downloader."""
    return download_image(url, settings)


def call(request: apiedit.EditRequest, settings: ProviderSettings) -> apiedit.EditResult:
    """Submit once (billable), poll until the job ends, download its images in order."""
    headers = _auth(settings)
    settings.report(f"{settings.label}: submitting to {request.model}")
    response = settings.http.request("POST", "jobs", billable=True, json=submit_body(request),
                                     headers=headers, map_error=lambda r: _map_error(r, settings))
    job_id = str(response.json()["id"])

    def status() -> tuple[str, dict[str, Any]]:
        job = settings.http.get_json(f"jobs/{job_id}", headers=headers,
                                     map_error=lambda r: _map_error(r, settings))
        return str(job.get("status")), job

    job = poll_task(
        settings, status, task_id=job_id, states=STATES, deadline=request.timeout_s or 300.0,
        on_failure=lambda payload: failed_task_error(settings, payload, task_id=job_id, envelope=envelope),
    )
    urls = [str(url) for url in job.get("outputs") or ()]
    return apiedit.EditResult(
        images=[fetch_output(url, settings) for url in urls],
        provider=settings.provider,
        model=request.model,
        text=str(job.get("text") or ""),
        request_id=response.headers.get("x-request-id") or job_id,
    )
