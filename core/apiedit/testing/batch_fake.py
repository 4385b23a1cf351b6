"""A tiny provider with a native batch API, for testing the batch runner without a real plugin.

`BatchFakeEmulator` keeps jobs (queued -> running -> succeeded after `polls_until_done` polls)
and answers results as a JSONL stream; creating a job is its only billable route, and a job
can be looked up by its token, like Gemini's display name and OpenAI's metadata.
`BatchFakePlugin(base_url)` implements the optional batch hooks against it (plain urllib:
it stands in for a plugin, it is not one).
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import urllib.request
from typing import Any, Iterator, Sequence

from ..hookspecs import hookimpl
from ..types import EditRequest, EditResult, ImageData, ModelInfo, ProviderInfo, Capability
from ..batch.types import BatchItem, BatchJob, BatchLine, BatchState, BatchStatus
from ..errors import ContentBlockedError, ProviderError
from .emulator import Emulator, RecordedRequest, Response

__all__ = ["BatchFakeEmulator", "BatchFakePlugin", "PNG"]

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg==")


class BatchFakeEmulator(Emulator):
    """Jobs in memory; a prompt containing "blocked" fails its line."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.jobs: dict[str, dict[str, Any]] = {}
        self.polls_until_done = 1
        self._ids = itertools.count(1)

    def setup_routes(self) -> None:
        self.route("POST", r"/batches", self._create, billable=True)
        self.route("GET", r"/batches", self._find)
        self.route("GET", r"/batches/(?P<id>[^/]+)", self._get)
        self.route("GET", r"/batches/(?P<id>[^/]+)/results", self._results)
        self.route("POST", r"/batches/(?P<id>[^/]+)/cancel", self._cancel)

    def error_response(self, kind: str) -> Response:
        return Response.json({"error": kind}, 429 if kind == "rate_limit" else 500)

    def _create(self, request: RecordedRequest, _m: re.Match[str]) -> Response:
        body = request.json()
        job_id = f"job-{next(self._ids)}"
        self.jobs[job_id] = {"id": job_id, "token": body["token"], "lines": body["lines"],
                             "polls": 0, "state": "queued"}
        return Response.json({"id": job_id})

    def _find(self, request: RecordedRequest, _m: re.Match[str]) -> Response:
        token = request.query.get("token", [""])[0]
        return Response.json([j["id"] for j in self.jobs.values() if j["token"] == token])

    def _get(self, _r: RecordedRequest, m: re.Match[str]) -> Response:
        job = self.jobs[m["id"]]
        if job["state"] not in ("succeeded", "cancelled"):
            job["polls"] += 1
            job["state"] = "succeeded" if job["polls"] > self.polls_until_done else "running"
        return Response.json({"state": job["state"], "total": len(job["lines"])})

    def _results(self, _r: RecordedRequest, m: re.Match[str]) -> Response:
        out = []
        for line in self.jobs[m["id"]]["lines"]:
            if "blocked" in line["prompt"]:
                out.append({"custom_id": line["custom_id"], "error": "blocked"})
            else:
                out.append({"custom_id": line["custom_id"], "image": base64.b64encode(PNG).decode()})
        return Response(200, "\n".join(json.dumps(o) for o in out).encode(),
                        {"Content-Type": "application/jsonl"})

    def _cancel(self, _r: RecordedRequest, m: re.Match[str]) -> Response:
        self.jobs[m["id"]]["state"] = "cancelled"
        return Response.json({"state": "cancelled"})


class BatchFakePlugin:
    """Provider `fakebatch`: every hook a native-batch plugin has, against `BatchFakeEmulator`."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def _json(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base_url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as answer:
            return json.loads(answer.read())

    @hookimpl
    def provider_info(self) -> ProviderInfo:
        return ProviderInfo(id="fakebatch", label="FakeBatch", default_base_url=self.base_url,
                            needs_key=False)

    @hookimpl
    def list_models(self, refresh: bool, settings: Any) -> list[ModelInfo]:
        return [ModelInfo(id="fake-1", capabilities=Capability.GENERATE)]

    @hookimpl
    def edit(self, request: EditRequest, settings: Any) -> EditResult:
        raise ProviderError("fakebatch has no live mode")

    @hookimpl
    def supports_batch(self, model: str, settings: Any) -> bool:
        return model == "fake-1"

    @hookimpl
    def submit_batch(self, model: str, lines: Sequence[BatchLine], token: str, journal: Any,
                     settings: Any) -> list[BatchJob]:
        ids = [line.custom_id for line in lines]
        existing = self._json("GET", f"/batches?token={token}")
        if existing:
            return [BatchJob("fakebatch", model, job_id, token, ids) for job_id in existing]
        body = {"token": token, "lines": [{"custom_id": l.custom_id, "prompt": l.request.prompt}
                                          for l in lines]}
        job = BatchJob("fakebatch", model, self._json("POST", "/batches", body)["id"], token, ids)
        journal(job)
        return [job]

    @hookimpl
    def poll_batch(self, job: BatchJob, settings: Any) -> BatchStatus:
        data = self._json("GET", f"/batches/{job.job_id}")
        return BatchStatus(BatchState(data["state"]), total=data["total"],
                           provider_state=data["state"])

    @hookimpl
    def fetch_batch_results(self, job: BatchJob, settings: Any) -> Iterator[BatchItem]:
        req = urllib.request.Request(f"{self.base_url}/batches/{job.job_id}/results")
        with urllib.request.urlopen(req, timeout=30) as answer:
            for raw in answer:  # one line at a time: never the whole file in memory
                if not raw.strip():
                    continue
                item = json.loads(raw)
                if "error" in item:
                    yield BatchItem(item["custom_id"], error=ContentBlockedError(
                        "The provider blocked this prompt.", provider="fakebatch"))
                else:
                    yield BatchItem(item["custom_id"], result=EditResult(
                        images=(ImageData(base64.b64decode(item["image"])),),
                        provider="fakebatch", model=job.model))

    @hookimpl
    def cancel_batch(self, job: BatchJob, settings: Any) -> BatchStatus:
        data = self._json("POST", f"/batches/{job.job_id}/cancel", {})
        return BatchStatus(BatchState(data["state"]))
