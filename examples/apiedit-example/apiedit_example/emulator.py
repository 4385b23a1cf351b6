"""A loopback emulator of the example job API, on core's kit (`apiedit emulate example`, tests).

Routes: GET /models, POST /jobs (billable: answers a job id), GET /jobs/{id} (free polls). Jobs
run on `apiedit.testing.jobs.JobBoard` (queued -> running -> succeeded/failed; instant unless a
test sets `emulator.jobs.schedule`); each finished job lists its images as URLs this emulator
serves, painted by `apiedit.testing.painter` (input colours in order, index band per image).
Every submit is logged as a `WireRecord` for the conformance suite. A prompt containing
"blocked" is refused at submit; `fail_next_answer(kind)` makes the next job end failed.
"""

from __future__ import annotations

import re
import unittest

from apiedit.testing.emulator import Emulator, RecordedRequest, Response, WireRecord
from apiedit.testing.jobs import JobBoard
from apiedit.testing.painter import paint_output

_STATUS = {"auth": 401, "quota": 402, "rate_limit": 429, "blocked": 400,
           "bad_request": 400, "overloaded": 503, "server_error": 500}
_JOB_FAILURES = ("blocked", "bad_request", "quota", "server_error")  # what a job can end with


class ExampleEmulator(Emulator):
    demo_models = {"generate": "example-image-1", "edit": "example-image-1", "compose": "example-image-1"}
    models = ["example-image-1"]
    serves_output_urls = True

    def setup_routes(self) -> None:
        self.jobs = JobBoard(self)
        self.route("GET", r"/models", self.list_models)
        self.route("POST", r"/jobs", self.submit, billable=True)
        self.route("GET", r"/jobs/(?P<job>[^/]+)", self.poll)

    def error_response(self, kind: str) -> Response:
        return Response.json({"error": {"message": f"example {kind}", "code": kind}}, status=_STATUS[kind])

    def fail_next_answer(self, kind: str) -> str:
        """The next job is accepted, then ends `failed` with the error code `kind`; returns the
        message the failure carries (the plugin's error must repeat it)."""
        if kind not in _JOB_FAILURES:
            raise unittest.SkipTest(f"an example job does not fail with {kind!r}: the submit is refused")
        message = f"the example job ended with {kind}"
        self.jobs.fail_next({"message": message, "code": kind})
        return message

    @staticmethod
    def _authorised(request: RecordedRequest) -> bool:
        return request.headers.get("authorization", "").startswith("Bearer ")

    def list_models(self, request: RecordedRequest, _match: re.Match) -> Response:
        if not self._authorised(request):
            return self.error_response("auth")
        return Response.json({"data": [{"id": m} for m in self.models]})

    def submit(self, request: RecordedRequest, _match: re.Match) -> Response:
        if not self._authorised(request):
            return self.error_response("auth")
        body = request.json()
        inputs = [self.image_bytes(i) for i in body.get("images") or ()]
        prompt, count = str(body.get("prompt") or ""), body.get("n")
        self.record_wire(WireRecord(operation="submit", model=body.get("model"), prompt=prompt,
                                    images=inputs, count=count, seed=body.get("seed"),
                                    headers=request.headers))
        if body.get("model") not in self.models:
            return Response.json({"error": {"message": f"no model {body.get('model')}",
                                            "code": "model_not_found"}}, status=404)
        if "blocked" in prompt:
            return self.error_response("blocked")

        def render() -> list[bytes]:
            return [self.paint(prompt, inputs, i) for i in range(int(count or 1))]

        job = self.jobs.submit(render, data=body)
        return Response.json({"id": job.id}, headers={"x-request-id": f"ex-{job.id}"})

    def paint(self, prompt: str, inputs: list[bytes], index: int) -> bytes:
        """Output `index` of a job (a test subclass may paint its own)."""
        return paint_output(prompt, inputs, index=index, storybook=self.storybook, label="Example")

    def poll(self, request: RecordedRequest, match: re.Match) -> Response:
        if not self._authorised(request):
            return self.error_response("auth")
        job = self.jobs.poll(match["job"])
        if job is None:
            return Response.json({"error": {"message": "no such job", "code": "not_found"}}, status=404)
        answer = {"id": job.id, "status": self.jobs.word(job)}
        if job.failure is not None:
            answer["error"] = job.failure
        if job.outputs:
            answer["outputs"] = job.outputs
            answer["text"] = f"{len(job.data.get('images') or ())} inputs"
        return Response.json(answer)
