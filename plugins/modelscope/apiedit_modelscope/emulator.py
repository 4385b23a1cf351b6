"""A loopback emulator of ModelScope API-Inference image generation (reference providers.md §5).

Routes: `POST /v1/images/generations` (async submit, billable), `GET /v1/tasks/{id}` (poll),
`GET /v1/models` (OpenAI-style list, no token needed). Tasks go PENDING -> RUNNING (or
PROCESSING) -> SUCCEED after `polls_until_done` status answers (or `task_seconds`), and the
output image is served by the emulator itself.

Per-test behaviour, by attribute or by a magic word in the prompt:
  emulate:blocked     the task FAILs with errors {code: 422, "inappropriate content"}
  emulate:fail        the task FAILs with errors {code: 500}
  emulate:slow        the task never finishes (cancel and deadline tests)
  emulate:processing  the running status is PROCESSING (third-party docs) instead of RUNNING
  emulate:empty       the task SUCCEEDs without output_images
The attributes `outcome` (every task) and `outcomes` (one per submit, in order) set the same
outcomes without touching the prompt. Submits are checked like the API's parameter table
(400 for an unknown model, a missing image on an editor, out-of-range values, and `n`, which the
API does not have); `accept_data_urls = False` refuses `data:` URLs in `image_url` (their real
support is UNCONFIRMED). Everything received is kept in `tasks`, in submit order, so tests can
check the order of input images.
"""

from __future__ import annotations

import hashlib
import io
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, ClassVar

from apiedit.testing.emulator import ERROR_KINDS, Emulator, Fault, RecordedRequest, Response, WireRecord

__all__ = ["EmulatedTask", "ModelScopeEmulator"]

_BIND_MESSAGE = "Please bind your Alibaba Cloud account before use."
_BLOCKED_MESSAGE = "Output data may contain inappropriate content."
_FAILED_MESSAGE = "Inference failed: internal error."
_OUTCOMES = ("blocked", "fail", "slow", "empty")
_SIZE = re.compile(r"^(\d+)x(\d+)$")


@dataclass
class EmulatedTask:
    """One submitted task and everything the emulator saw about it."""

    task_id: str
    request_id: str
    body: dict[str, Any]
    image_urls: list[str]  # as received, in order ("image_url" string -> one element)
    image_url_was_list: bool
    outcome: str  # "succeed" or one of _OUTCOMES
    running_status: str
    submitted_at: float  # time.monotonic() when the submit was answered
    poll_times: list[float] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)  # what each poll answered
    output_urls: list[str] = field(default_factory=list)

    @property
    def model(self) -> str:
        return str(self.body.get("model", ""))


class ModelScopeEmulator(Emulator):
    """ModelScope API-Inference on 127.0.0.1; see the module docstring for its knobs."""

    # No "compose": whether ModelScope takes several images per request is UNVERIFIED
    # (providers-2026-12.md), so the emulator takes one `image_url` string by default.
    demo_models: ClassVar[dict[str, str]] = {
        "generate": "Qwen/Qwen-Image",
        "edit": "Qwen/Qwen-Image-Edit",
    }

    # Image models it serves, with the most input images each takes (0 = text-to-image only).
    IMAGE_MODELS: ClassVar[dict[str, int]] = {
        "Qwen/Qwen-Image": 0,
        "Qwen/Qwen-Image-2512": 0,
        "MusePublic/489_ckpt_FLUX_1": 0,
        "Tongyi-MAI/Z-Image-Turbo": 0,
        "black-forest-labs/FLUX.1-Krea-dev": 0,
        "black-forest-labs/FLUX.1-Kontext-dev": 1,  # in the live list only: not curated
        "Qwen/Qwen-Image-Edit": 1,
        "Qwen/Qwen-Image-Edit-2509": 3,
        "Qwen/Qwen-Image-Edit-2511": 3,
    }
    # Chat models the live list also shows (most of the real list is LLMs, §5.2).
    chat_models: tuple[str, ...] = (
        "Qwen/Qwen3-32B", "Qwen/Qwen2.5-VL-72B-Instruct", "deepseek-ai/DeepSeek-V3.2",
    )
    edit_only = ("Edit", "Kontext")  # ids containing these need image_url

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.image_models = dict(self.IMAGE_MODELS)  # per instance: tests add models
        self.polls_until_done: int | None = 2  # non-terminal answers before the end; None = never
        self.task_seconds: float | None = None  # alternatively: ends this long after the submit
        self.running_status = "RUNNING"
        self.outcome: str | None = None  # force an outcome for every task ("blocked", "slow"...)
        self.outcomes: list[str] = []  # or one per submit, in order ("slow", "succeed", ...)
        self.require_async_header = True  # False: a submit without it gets the legacy sync answer
        self.require_task_type_header = True
        self.accept_data_urls = True
        # One `image_url` string, as ModelScope's own code sends (providers-2026-12.md); a list
        # is UNVERIFIED and refused unless a test switches this on.
        self.accept_image_url_list = False
        self.account_bound = True
        self.output_size = (256, 256)  # when the request has no size
        self.daily_limit = 2000
        self.model_daily_limit = 500
        self.tasks: list[EmulatedTask] = []
        self._by_id: dict[str, EmulatedTask] = {}
        self._used: dict[str, int] = {}
        self._task_lock = threading.Lock()

    # ------------------------------------------------------------------------------ routes

    def setup_routes(self) -> None:
        self.route("POST", r"/v1/images/generations", self._submit, billable=True)
        self.route("GET", r"/v1/tasks/(?P<task_id>[^/]+)", self._poll)
        self.route("GET", r"/v1/models", self._models)

    def task(self, task_id: str) -> EmulatedTask:
        with self._task_lock:
            return self._by_id[task_id]

    # --------------------------------------------------------------------------- answers

    @staticmethod
    def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
        return Response.json({"error": {"message": message}, "request_id": uuid.uuid4().hex}, status, headers)

    def _rate_headers(self, model: str | None) -> dict[str, str]:
        total = sum(self._used.values())
        headers = {
            "modelscope-ratelimit-requests-limit": str(self.daily_limit),
            "modelscope-ratelimit-requests-remaining": str(max(0, self.daily_limit - total)),
        }
        if model:
            headers["modelscope-ratelimit-model-requests-limit"] = str(self.model_daily_limit)
            headers["modelscope-ratelimit-model-requests-remaining"] = str(
                max(0, self.model_daily_limit - self._used.get(model, 0))
            )
        return headers

    def _auth_error(self, request: RecordedRequest) -> Response | None:
        auth = request.headers.get("authorization", "")
        if not auth.lower().startswith("bearer ") or not auth[7:].strip():
            return self._error(401, "Authentication failed: a valid access token is required.")
        if not self.account_bound:
            return self._error(401, _BIND_MESSAGE)
        return None

    def error_response(self, kind: str) -> Response:
        rid = uuid.uuid4().hex
        if kind == "auth":
            return self._error(401, _BIND_MESSAGE)
        if kind == "quota":
            headers = {
                "modelscope-ratelimit-requests-limit": str(self.daily_limit),
                "modelscope-ratelimit-requests-remaining": "0",
            }
            return self._error(429, "You have exceeded today's quota of API-Inference calls.", headers)
        if kind == "rate_limit":
            return self._error(429, "Too many requests, please try again later.", self._rate_headers(None))
        if kind == "blocked":
            # a task that failed on content: valid as the submit answer and as a poll answer
            return Response.json({
                "task_id": uuid.uuid4().hex, "request_id": rid, "task_status": "FAILED",
                "errors": {"code": 422, "message": _BLOCKED_MESSAGE},
            })
        if kind == "bad_request":
            return self._error(400, "Invalid parameter: size must look like 1024x1024.")
        if kind == "overloaded":
            return self._error(503, "The service is busy, please try again later.")
        if kind == "server_error":
            return self._error(500, "Internal server error.")
        raise ValueError(f"unknown error kind {kind!r}")

    def extra_fault(self, kind: str, **kw: Any) -> Fault:
        """Faults beyond the common kinds: "insufficient_balance" (429, 1008), "real_name" (403)."""
        if kind == "insufficient_balance":
            body = {"error": {"message": "insufficient balance (1008)"}, "request_id": uuid.uuid4().hex}
            return Fault(status=429, body=body, **kw)
        if kind == "real_name":
            body = {"error": {"message": "Real-name verification is required."},
                    "request_id": uuid.uuid4().hex}
            return Fault(status=403, body=body, **kw)
        return self.fault_for(kind, **kw)

    # ---------------------------------------------------------------------------- models

    def _models(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        ids = [*self.chat_models, *self.image_models]  # answers without a token too (§5.2)
        data = [{"id": i, "object": "model", "created": 1735689600, "owned_by": "system"} for i in ids]
        return Response.json({"object": "list", "data": data})

    # ---------------------------------------------------------------------------- submit

    def _submit(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        refused = self._auth_error(request)
        if refused is not None:
            return refused
        try:
            body = request.json()
        except ValueError:
            return self._error(400, "The request body is not valid JSON.")
        if not isinstance(body, dict):
            return self._error(400, "The request body must be a JSON object.")
        problem = self._check_body(body)
        if problem:
            return self._error(400, problem)
        urls, was_list, problem = self._image_urls(body)
        if problem:
            return self._error(400, problem)
        is_async = request.headers.get("x-modelscope-async-mode", "").lower() == "true"
        if not is_async and self.require_async_header:
            return self._error(
                400, "This model supports asynchronous calls only: set X-ModelScope-Async-Mode: true."
            )
        model = body["model"]
        with self._task_lock:
            self._used[model] = self._used.get(model, 0) + 1
        headers = self._rate_headers(model)
        task = EmulatedTask(
            task_id=str(uuid.uuid4()),
            request_id=uuid.uuid4().hex,
            body=body,
            image_urls=urls,
            image_url_was_list=was_list,
            outcome=self._outcome_for(body),
            running_status="PROCESSING" if "emulate:processing" in body["prompt"] else self.running_status,
            submitted_at=time.monotonic(),
        )
        with self._task_lock:
            self.tasks.append(task)
            self._by_id[task.task_id] = task
        self.record_wire(self._wire(request, body, urls))
        if not is_async:  # the legacy synchronous answer (older official client, §5.3)
            self._finish(task)
            images = [{"url": u} for u in task.output_urls]
            return Response.json({"images": images, "request_id": task.request_id}, headers=headers)
        return Response.json({"task_id": task.task_id, "request_id": task.request_id}, headers=headers)

    def _wire(self, request: RecordedRequest, body: dict[str, Any], urls: list[str]) -> WireRecord:
        """The neutral record of one submit (`Emulator.wire`); inputs decoded from their URLs."""
        images = []
        for url in urls:
            try:
                images.append(self.image_bytes(url))
            except ValueError:  # a link elsewhere: the real service would fetch it
                images.append(b"")
        knobs = {k: v for k, v in body.items() if k not in (
            "model", "prompt", "image_url", "seed", "size", "negative_prompt", "steps", "guidance")}
        return WireRecord(
            "submit", model=body.get("model"), prompt=body.get("prompt"), images=images,
            seed=body.get("seed"), size=body.get("size"), negative_prompt=body.get("negative_prompt"),
            steps=body.get("steps"), guidance=body.get("guidance"), extra=knobs,
            headers=request.headers,
        )

    serves_output_urls = True  # finished tasks list output_images URLs

    def fail_next_answer(self, kind: str) -> str | None:
        """The next submitted task ends FAILED: "blocked" with ModelScope's 422 inappropriate-
        content error, "server_error" with its 500 inference failure."""
        if kind not in ERROR_KINDS:
            raise ValueError(f"unknown error kind {kind!r}")
        if kind not in ("blocked", "server_error"):
            super().fail_next_answer(kind)
        with self._task_lock:
            self.outcomes.append("blocked" if kind == "blocked" else "fail")
        return _BLOCKED_MESSAGE if kind == "blocked" else _FAILED_MESSAGE

    def _check_body(self, body: dict[str, Any]) -> str | None:
        model, prompt = body.get("model"), body.get("prompt")
        if not isinstance(model, str) or not model:
            return "model is required."
        if model not in self.image_models:
            return f"Model id '{model}' does not exist or does not support API-Inference."
        if not isinstance(prompt, str) or not prompt.strip():
            return "prompt is required."
        if len(prompt) >= 2000 or len(body.get("negative_prompt") or "") >= 2000:
            return "prompt and negative_prompt must be shorter than 2000 characters."
        if "n" in body:
            return "Unsupported parameter: n (one image per call)."
        size = body.get("size")
        if size is not None:
            found = _SIZE.match(str(size))
            if not found or not all(64 <= int(side) <= 2048 for side in found.groups()):
                return f"Invalid size {size!r}: use WxH between 64x64 and 2048x2048."
        seed = body.get("seed")
        if seed is not None and (not isinstance(seed, int) or not 0 <= seed <= 2**31 - 1):
            return "seed must be an integer in [0, 2147483647]."
        steps = body.get("steps")
        if steps is not None and (not isinstance(steps, int) or not 1 <= steps <= 100):
            return "steps must be an integer in [1, 100]."
        guidance = body.get("guidance")
        if guidance is not None and (not isinstance(guidance, (int, float)) or not 1.5 <= guidance <= 20):
            return "guidance must be a number in [1.5, 20]."
        return None

    def _image_urls(self, body: dict[str, Any]) -> tuple[list[str], bool, str | None]:
        model = body["model"]
        raw = body.get("image_url")
        was_list = isinstance(raw, list)
        found: list[Any] = raw if isinstance(raw, list) else ([raw] if raw is not None else [])
        if was_list and not self.accept_image_url_list:
            return [], was_list, "image_url must be a URL string."
        if not all(isinstance(u, str) and u for u in found):
            return [], was_list, "image_url must be a URL string or a list of URL strings."
        urls: list[str] = found
        limit = self.image_models[model]
        needs_image = any(word in model for word in self.edit_only)
        if needs_image and not urls:
            return urls, was_list, f"image_url is required for the image-editing model {model}."
        if urls and len(urls) > max(limit, 1 if needs_image else 0):
            return urls, was_list, f"{model} takes at most {limit} image(s); got {len(urls)}."
        for url in urls:
            if url.startswith("data:"):
                if not self.accept_data_urls:
                    return urls, was_list, "image_url must be a publicly reachable http(s) URL."
                problem = _check_data_url(url)
                if problem:
                    return urls, was_list, problem
            elif not url.startswith(("http://", "https://")):
                return urls, was_list, f"image_url {url[:40]!r} is not an http(s) URL."
        return urls, was_list, None

    def _outcome_for(self, body: dict[str, Any]) -> str:
        with self._task_lock:
            if self.outcomes:
                return self.outcomes.pop(0)
        if self.outcome:
            return self.outcome
        prompt = body["prompt"]
        for outcome in _OUTCOMES:
            if f"emulate:{outcome}" in prompt:
                return outcome
        return "succeed"

    # ------------------------------------------------------------------------------ poll

    def _poll(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        refused = self._auth_error(request)
        if refused is not None:
            return refused
        task_type = request.headers.get("x-modelscope-task-type")
        if self.require_task_type_header and task_type != "image_generation":
            return self._error(400, "Missing header X-ModelScope-Task-Type: image_generation.")
        with self._task_lock:
            task = self._by_id.get(match["task_id"])
        if task is None:
            return self._error(404, f"Task {match['task_id']} not found.")
        now = time.monotonic()
        with self._task_lock:
            task.poll_times.append(now)
            polls = len(task.poll_times)
        answer: dict[str, Any] = {"task_id": task.task_id, "request_id": task.request_id}
        if not self._finished(task, polls, now):
            status = "PENDING" if polls == 1 else task.running_status
        elif task.outcome == "blocked":
            status = "FAILED"
            answer["errors"] = {"code": 422, "message": _BLOCKED_MESSAGE}
        elif task.outcome == "fail":
            status = "FAILED"
            answer["errors"] = {"code": 500, "message": _FAILED_MESSAGE}
        else:
            status = "SUCCEED"
            self._finish(task)
            answer["output_images"] = list(task.output_urls)
        task.statuses.append(status)
        answer["task_status"] = status
        return Response.json(answer, headers=self._rate_headers(task.model))

    def _finished(self, task: EmulatedTask, polls: int, now: float) -> bool:
        if task.outcome == "slow":
            return False
        if self.task_seconds is not None:
            return now - task.submitted_at >= self.task_seconds
        return self.polls_until_done is not None and polls > self.polls_until_done

    def _finish(self, task: EmulatedTask) -> None:
        if task.output_urls or task.outcome == "empty":
            return
        task.output_urls = [self.output_url(self._render(task), "image/png")]

    def present(self) -> ModelScopeEmulator:
        """Storybook pictures, and tasks that finish at the first poll (the demo shows no queue)."""
        super().present()
        self.polls_until_done = 0
        return self

    def _render(self, task: EmulatedTask) -> bytes:
        """A solid PNG whose colour depends on model, prompt, seed and inputs (distinct outputs)."""
        from PIL import Image

        found = _SIZE.match(str(task.body.get("size") or ""))
        size = (int(found[1]), int(found[2])) if found else self.output_size
        if self.storybook:
            from apiedit.testing.chat_emulator import decode_data_url

            inputs = [decode_data_url(u) if u.startswith("data:") else self.served(u)
                      for u in task.image_urls]
            return self.storybook_picture(task.body["prompt"], inputs, size)
        parts = (task.model, task.body["prompt"], task.body.get("seed"), task.image_urls, task.task_id)
        digest = hashlib.sha256(repr(parts).encode()).digest()
        buf = io.BytesIO()
        Image.new("RGB", size, (digest[0], digest[1], digest[2])).save(buf, "PNG")
        return buf.getvalue()


def _check_data_url(url: str) -> str | None:
    from apiedit.errors import InvalidInputError
    from apiedit.images import open_image, parse_data_url

    try:
        open_image(parse_data_url(url).data)
    except InvalidInputError as exc:
        return f"image_url holds a data URL that is not a valid image: {exc}"
    return None


if __name__ == "__main__":  # `python -m apiedit_modelscope.emulator` runs it, as `apiedit emulate modelscope`
    from apiedit.console.emulate import module_main

    module_main("modelscope")
