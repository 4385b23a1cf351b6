"""One ModelScope call: submit one task per image, poll each, download the results.

A submit is paid and never resent once it may have run (core's HTTP policy); a task whose
polling fails is polled again, never resubmitted (core's `poll_task`).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import attrs
from apiedit import (
    ApiEditError,
    CancelledError,
    EditRequest,
    EditResult,
    ImageData,
    InvalidInputError,
    ModelInfo,
    NoImageReturnedError,
    ProviderError,
    ProviderUnavailableError,
    UnsupportedFeatureError,
)
from apiedit.download import download_image
from apiedit.errormap import json_object
from apiedit.images import normalize_output, parse_data_url, prepare_upload, to_data_url
from apiedit.protocols.async_tasks import TaskState, poll_task
from apiedit.redact import get_logger

from . import models, wire

if TYPE_CHECKING:
    from apiedit.settings import ProviderSettings

__all__ = ["fetch_models", "forget_urls", "resolve_model", "run"]

log = get_logger("apiedit_modelscope")

FIRST_POLL_DELAY: float | None = None  # None: core's default poll schedule
LAST_LOOK_S = 3.0
POLL_READ_TIMEOUT = 30.0  # one status check; the task as a whole has the call's deadline
UPLOAD_FORMATS = ("image/png", "image/jpeg")

# Output URLs of recent results, by (base URL, image hash): when an output is fed back as the
# next input (conversation by last image, §5.5) the provider's own public URL is sent instead of
# re-uploading it. How long such URLs stay valid is UNCONFIRMED, so they are reused briefly only.
_URL_TTL = 30 * 60.0
_URL_CACHE_SIZE = 64
_known_urls: OrderedDict[tuple[str, str], tuple[str, float]] = OrderedDict()
_known_lock = threading.Lock()


def _remember_url(base_url: str, image: ImageData, url: str) -> None:
    with _known_lock:
        _known_urls[(base_url, image.sha256)] = (url, time.monotonic())
        _known_urls.move_to_end((base_url, image.sha256))
        while len(_known_urls) > _URL_CACHE_SIZE:
            _known_urls.popitem(last=False)


def _known_url(base_url: str, image: ImageData) -> str | None:
    with _known_lock:
        found = _known_urls.get((base_url, image.sha256))
    if found is None or time.monotonic() - found[1] > _URL_TTL:
        return None
    return found[0]


def forget_urls() -> None:
    """Drop remembered output URLs (tests, or after switching accounts)."""
    with _known_lock:
        _known_urls.clear()


# ------------------------------------------------------------------------------------ models


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def fetch_models(settings: ProviderSettings) -> list[ModelInfo]:
    """The live list's image models (`GET /v1/models`, recognised by name)."""
    key = settings.require_key()
    body = settings.http.get_json(
        wire.api_path(settings, "models"),
        headers=_auth(key),
        map_error=wire.http_error_mapper(settings),
        timeout=POLL_READ_TIMEOUT,
    )
    return models.live_models(body)


def resolve_model(model_id: str, settings: ProviderSettings) -> ModelInfo:
    """The listed entry, else the table's or its family's, else limits guessed from the id."""
    return models.TABLE.find_model(model_id, settings) or models.infer(model_id)


# ------------------------------------------------------------------------------------ inputs


def _input_urls(
    request: EditRequest, model: ModelInfo, settings: ProviderSettings
) -> tuple[list[str], list[str]]:
    """The `image_url` values in order, and how each was sent (url, previous_output, data_url)."""
    explicit = list(request.extra.get("image_urls") or ())
    urls: list[str] = []
    sources: list[str] = []
    for index, image in enumerate(request.images):
        given = explicit[index] if index < len(explicit) else None
        if given:
            if not str(given).startswith(("https://", "http://")):
                raise InvalidInputError(
                    f"extra['image_urls'][{index}] must be an http(s) URL the provider can fetch."
                )
            urls.append(str(given))
            sources.append("url")
            continue
        known = _known_url(settings.base_url, image)
        if known is not None:
            urls.append(known)
            sources.append("previous_output")
            continue
        if not model.extra.get("accepts_data_urls"):
            raise UnsupportedFeatureError(
                f"ModelScope model {model.id!r} takes input images only as public URLs. Pass "
                "them as extra['image_urls'] (one per image, in order), or use a Qwen-Image-Edit "
                "model, which takes local images."
            )
        prepared = prepare_upload(
            image, max_pixels=model.max_input_pixels, formats=UPLOAD_FORMATS, prefer="image/jpeg"
        )
        urls.append(to_data_url(prepared))
        sources.append("data_url")
    return urls, sources


def _seed_for(seed: int | None, index: int) -> int | None:
    """Each extra image gets the next seed: the same seed twice would pay for the same image."""
    if seed is None:
        return None
    return (seed + index) % (wire.MAX_SEED + 1)


# ------------------------------------------------------------------------------------- tasks


@attrs.define
class _Task:
    task_id: str
    request_id: str | None
    seed: int | None
    final: dict[str, Any] | None = None  # the submit answer already ended the task


def _submit(
    settings: ProviderSettings, key: str, body: dict[str, Any], seed: int | None, limits: dict[str, Any]
) -> _Task:
    response = settings.http.request(
        "POST",
        wire.api_path(settings, "images/generations"),
        billable=True,
        map_error=wire.http_error_mapper(settings),
        json=body,
        headers={**_auth(key), **wire.SUBMIT_HEADERS},
    )
    limits.update(wire.rate_limit_info(response.headers))
    data = json_object(response, settings.label, settings.provider, expected="a JSON object",
                       hint="If this is a proxy, check its base URL.")
    request_id = data.get("request_id") if isinstance(data.get("request_id"), str) else None
    task_id = str(data.get("task_id") or "")
    if "task_status" in data and wire.task_state(data) in (TaskState.SUCCEEDED, TaskState.FAILED):
        return _Task(task_id or "(none)", request_id, seed, data)
    if not task_id and wire.output_urls(data):  # the legacy synchronous answer (§5.3)
        return _Task("(sync)", request_id, seed, {**data, "task_status": "SUCCEED"})
    if not task_id:
        raise ProviderError(
            f"{settings.label} accepted the request but returned no task id, so its result cannot "
            "be fetched; it may have been billed. Check your ModelScope account before retrying.",
            provider=settings.provider,
            request_id=request_id,
            details=data,
        )
    log.debug("ModelScope task %s submitted for %s", task_id, body.get("model"))
    return _Task(task_id, request_id, seed)


def _wait(
    settings: ProviderSettings, key: str, task: _Task, end: float, limits: dict[str, Any], first_delay: float | None
) -> dict[str, Any]:
    if task.final is not None:
        if wire.task_state(task.final) is TaskState.FAILED:
            raise wire.task_error(settings, task.task_id, task.final)
        return task.final

    def fetch_status() -> tuple[TaskState, dict[str, Any]]:
        response = settings.http.request(
            "GET",
            wire.api_path(settings, f"tasks/{task.task_id}"),
            billable=False,
            map_error=wire.http_error_mapper(settings),
            timeout=min(settings.read_timeout, POLL_READ_TIMEOUT),
            headers={**_auth(key), **wire.POLL_HEADERS},
        )
        limits.update(wire.rate_limit_info(response.headers))
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict):  # a proxy's error page: poll again
            raise ProviderUnavailableError(
                f"{settings.label} answered a status check with something that is not JSON.",
                provider=settings.provider,
            )
        return wire.task_state(payload), payload

    return poll_task(
        settings,
        fetch_status,
        task_id=task.task_id,
        first_delay=first_delay,
        deadline=max(0.0, end - time.monotonic()),
        on_failure=lambda payload: wire.task_error(settings, task.task_id, payload),
    )


def _download(
    settings: ProviderSettings, task: _Task, payload: dict[str, Any]
) -> tuple[list[ImageData], list[str]]:
    urls = wire.output_urls(payload)
    if not urls:
        raise NoImageReturnedError(
            f"{settings.label} task {task.task_id} finished without an output image. Try again, "
            "or try another model.",
            provider=settings.provider,
            request_id=task.request_id,
        )
    images = []
    for url in urls:
        if url.startswith("data:"):
            found = parse_data_url(url)
            image = normalize_output(found.data, found.mime_type)
        else:
            image = download_image(url, settings)
            _remember_url(settings.base_url, image, url)
        images.append(image)
    return images, urls


# --------------------------------------------------------------------------------------- run


def run(request: EditRequest, settings: ProviderSettings) -> EditResult:
    """Generate or edit: `request.n` tasks, submitted first, then waited for in order."""
    key = settings.require_key()
    model = resolve_model(request.model, settings)
    warnings: list[str] = []
    wire.check_ranges(request)
    size = wire.pick_size(request, model, warnings)
    image_urls, sources = _input_urls(request, model, settings)
    if len(image_urls) > 1:
        # providers-2026-12.md: ModelScope's own code sends ONE image_url string; a list is
        # UNVERIFIED, so say so wherever the result goes.
        warnings.append(
            f"{len(image_urls)} images were sent as an image_url list; ModelScope documents one "
            "image per request, so whether all were used is unverified."
        )
    end = time.monotonic() + settings.read_timeout
    limits: dict[str, Any] = {}
    problems: list[ApiEditError] = []

    tasks: list[_Task] = []
    for index in range(request.n):
        seed = _seed_for(request.seed, index)
        body = wire.submit_body(request, model, image_urls=image_urls, size=size, seed=seed)
        try:
            tasks.append(_submit(settings, key, body, seed, limits))
        except ApiEditError as exc:
            if not tasks or isinstance(exc, CancelledError):
                raise
            problems.append(exc)
            break
        settings.report(f"{settings.label}: submitted {index + 1}/{request.n}")

    images: list[ImageData] = []
    output_urls: list[str] = []
    for index, task in enumerate(tasks):
        # Later tasks ran while the first was awaited: look at them almost at once, and at
        # least once even if the first used up the time (they are paid for already).
        first_delay = FIRST_POLL_DELAY if index == 0 else 0.1
        task_end = end if index == 0 else max(end, time.monotonic() + LAST_LOOK_S)
        try:
            payload = _wait(settings, key, task, task_end, limits, first_delay)
            got, urls = _download(settings, task, payload)
        except CancelledError:
            raise
        except ApiEditError as exc:
            problems.append(exc)
            continue
        images.extend(got)
        output_urls.extend(urls)
    if not images:
        raise problems[0]
    warnings.extend(
        f"Only {len(images)} of {request.n} images were made: {problem}" for problem in problems
    )

    info: dict[str, Any] = {"task_ids": [t.task_id for t in tasks], "inputs": sources}
    if limits:
        info["rate_limit"] = limits
    if size:
        info["size"] = size
    if request.seed is not None:
        info["seeds"] = [t.seed for t in tasks]
    return EditResult(
        images=tuple(images),
        provider=settings.provider,
        model=request.model,
        request_id=tasks[0].request_id,
        usage={"images": len(images), "tasks": len(tasks)},
        warnings=tuple(warnings),
        info=info,
        state={"task_ids": [t.task_id for t in tasks], "output_urls": output_urls},
    )
