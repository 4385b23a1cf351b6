"""ModelScope API-Inference on the wire: request bodies, task states, errors, rate-limit headers.

Everything here follows reference providers.md §5; quirks are commented where they are handled.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from apiedit import (
    ApiEditError,
    AuthenticationError,
    Capability,
    ContentBlockedError,
    EditRequest,
    InvalidInputError,
    ModelInfo,
    ProviderError,
    QuotaExceededError,
    UnknownModelError,
    UnsupportedFeatureError,
)
from apiedit.errormap import error_from_status, error_message, parse_retry_after, request_id_from
from apiedit.protocols.async_tasks import TaskState

if TYPE_CHECKING:
    import requests
    from apiedit.settings import ProviderSettings

__all__ = [
    "POLL_HEADERS",
    "SUBMIT_HEADERS",
    "api_path",
    "check_ranges",
    "http_error_mapper",
    "output_urls",
    "pick_size",
    "rate_limit_info",
    "submit_body",
    "task_error",
    "task_state",
]

SUBMIT_HEADERS = {"X-ModelScope-Async-Mode": "true"}  # without it the call is sync or fails (§5.3)
POLL_HEADERS = {"X-ModelScope-Task-Type": "image_generation"}

MAX_PROMPT_CHARS = 2000  # "length < 2000" for prompt and negative_prompt
MIN_SIDE = 64
MAX_SEED = 2**31 - 1

_SUCCEEDED = {"SUCCEED", "SUCCEEDED", "SUCCESS"}
# The documented terminal failure is FAILED; the others are seen in third-party clients and
# would otherwise be polled until the deadline.
_FAILED = {"FAILED", "FAIL", "ERROR", "CANCELED", "CANCELLED", "TIMEOUT"}
_QUEUED = {"PENDING", "QUEUED", "QUEUING", "WAITING", "SUBMITTED"}

_RATE_LIMIT_PREFIX = "modelscope-ratelimit-"
_UNKNOWN_MODEL = re.compile(r"model(?: id)? '?\S+'? (?:does not exist|not found)|does not support "
                            r"API-Inference", re.IGNORECASE)
_BIND = re.compile(r"bind|alibaba|aliyun|阿里云", re.IGNORECASE)
_REAL_NAME = re.compile(r"real.?name|实名", re.IGNORECASE)
# Daily and balance exhaustion: retrying today will not help (retired models answer 1008, §7).
_QUOTA = re.compile(r"balance|\b1008\b|quota|daily|per day|today|余额|额度|今日", re.IGNORECASE)
_BLOCKED = re.compile(r"inappropriate|sensitive|unsafe|moderation|违规|敏感", re.IGNORECASE)
_SIZE = re.compile(r"^(\d+)x(\d+)$")


# --------------------------------------------------------------------------------- requests


def api_path(settings: ProviderSettings, path: str) -> str:
    """`v1/<path>`, or `<path>` when the configured base URL already ends in /v1."""
    if settings.base_url.rstrip("/").endswith("/v1"):
        return path
    return f"v1/{path}"


def pick_size(request: EditRequest, model: ModelInfo, warnings: list[str]) -> str | None:
    """The `size` to send: the request's, or the model's native size for the aspect ratio."""
    ratio_sizes: Mapping[str, str] = model.extra.get("aspect_ratio_sizes") or {}
    size = request.size if request.size != "auto" else None
    if request.aspect_ratio:
        if size:
            warnings.append(
                f"ModelScope takes a size or an aspect ratio, not both; size {size} was used and "
                f"aspect ratio {request.aspect_ratio} was not sent."
            )
        elif request.aspect_ratio in ratio_sizes:
            size = ratio_sizes[request.aspect_ratio]
    if size is None:
        return None
    match = _SIZE.match(size)
    if match is None:  # pragma: no cover - EditRequest validates the shape
        raise InvalidInputError(f"Size {size!r} must look like 1024x1024.")
    max_side = model.extra.get("max_side")
    low = min(int(match[1]), int(match[2]))
    high = max(int(match[1]), int(match[2]))
    if low < MIN_SIDE or (max_side and high > max_side):
        top = f"{max_side}x{max_side}" if max_side else "the model's limit"
        raise UnsupportedFeatureError(
            f"ModelScope model {model.id!r} makes sizes from {MIN_SIDE}x{MIN_SIDE} to {top}; "
            f"{size} was asked for."
        )
    return size


def check_ranges(request: EditRequest) -> None:
    """The API's documented parameter ranges, checked before anything is paid for."""
    if len(request.prompt) >= MAX_PROMPT_CHARS:
        raise InvalidInputError(
            f"The prompt has {len(request.prompt)} characters; ModelScope takes fewer than "
            f"{MAX_PROMPT_CHARS}. Shorten it."
        )
    if len(request.negative_prompt) >= MAX_PROMPT_CHARS:
        raise InvalidInputError(
            f"The negative prompt has {len(request.negative_prompt)} characters; ModelScope takes "
            f"fewer than {MAX_PROMPT_CHARS}. Shorten it."
        )
    if request.seed is not None and not 0 <= request.seed <= MAX_SEED:
        raise InvalidInputError(f"ModelScope seeds run from 0 to {MAX_SEED}; {request.seed} was given.")
    if request.steps is not None and not 1 <= request.steps <= 100:
        raise InvalidInputError(f"ModelScope takes 1 to 100 steps; {request.steps} were given.")
    if request.guidance is not None and not 1.5 <= request.guidance <= 20:
        raise InvalidInputError(f"ModelScope takes a guidance from 1.5 to 20; {request.guidance} was given.")


def submit_body(
    request: EditRequest,
    model: ModelInfo,
    *,
    image_urls: list[str],
    size: str | None,
    seed: int | None,
) -> dict[str, Any]:
    """The JSON for `POST /v1/images/generations` (there is no `n`: one image per task)."""
    body: dict[str, Any] = {"model": request.model, "prompt": request.prompt}
    # knobs the model lacks are left out; the host already warned about them
    if request.negative_prompt and model.supports(Capability.NEGATIVE_PROMPT):
        body["negative_prompt"] = request.negative_prompt
    if size:
        body["size"] = size
    if seed is not None and model.supports(Capability.SEED):
        body["seed"] = seed
    if request.steps is not None and model.supports(Capability.STEPS):
        body["steps"] = request.steps
    if request.guidance is not None and model.supports(Capability.GUIDANCE):
        body["guidance"] = request.guidance
    if image_urls:
        # Documented as one URL string; the multi-image editors take a list (§5.3, UNCONFIRMED).
        # One image: one string, as ModelScope's own code sends; several: a list (UNVERIFIED,
        # providers-2026-12.md; the result carries a warning saying so).
        several = len(image_urls) > 1 and model.extra.get("image_url_list")
        body["image_url"] = image_urls if several else image_urls[0]
    return body


# -------------------------------------------------------------------------------- responses


def task_state(payload: Any) -> TaskState:
    """Map `task_status`; anything unknown counts as still running (§5.4)."""
    status = str(payload.get("task_status", "") if isinstance(payload, dict) else "").upper()
    if status in _SUCCEEDED:
        return TaskState.SUCCEEDED
    if status in _FAILED:
        return TaskState.FAILED
    if status in _QUEUED:
        return TaskState.QUEUED
    return TaskState.RUNNING


def output_urls(payload: Mapping[str, Any]) -> list[str]:
    """`output_images` of a finished task (or `images[].url` of the legacy sync answer)."""
    found = payload.get("output_images")
    if found is None and isinstance(payload.get("images"), list):
        found = [i.get("url") if isinstance(i, dict) else i for i in payload["images"]]
    if isinstance(found, str):
        found = [found]
    return [u for u in (found or []) if isinstance(u, str) and u.strip()]


def rate_limit_info(headers: Mapping[str, str]) -> dict[str, int | str]:
    """`modelscope-ratelimit-*` headers as {"requests_limit": 2000, "requests_remaining": ...}."""
    info: dict[str, int | str] = {}
    for name, value in headers.items():
        lower = name.lower()
        if lower.startswith(_RATE_LIMIT_PREFIX):
            key = lower[len(_RATE_LIMIT_PREFIX):].replace("-", "_")
            info[key] = int(value) if value.strip().isdigit() else value
    return info


def _daily_limit_spent(limits: Mapping[str, int | str]) -> bool:
    return any(limits.get(k) == 0 for k in ("requests_remaining", "model_requests_remaining"))


def http_error_mapper(settings: ProviderSettings) -> Callable[[requests.Response], ApiEditError]:
    """Typed errors for ModelScope's `{"error":{"message"},"request_id"}` answers (§5.6)."""
    label = settings.label

    def map_error(response: requests.Response) -> ApiEditError:
        try:
            body = response.json()
        except ValueError:
            body = None
        message, code = error_message(body, response.text if body is None else "")
        status = response.status_code
        limits = rate_limit_info(response.headers)
        kw: dict[str, Any] = {
            "provider": settings.provider,
            "code": code,
            "request_id": request_id_from(response.headers, body),
            "details": {"body": body, "rate_limit": limits} if limits else body,
        }
        said = f"{label} said: {message}" if message else f"{label} gave no reason"
        if status == 401 and _BIND.search(message):
            return AuthenticationError(
                f"{label} refused the call because the account is not bound to an Alibaba Cloud "
                f"account (HTTP 401). {said}. Bind a real-name-verified Alibaba Cloud account in "
                "your ModelScope account settings, then try again.",
                status=status,
                **kw,
            )
        if status == 403 and _REAL_NAME.search(message):
            return AuthenticationError(
                f"{label} needs real-name verification for this account (HTTP 403). {said}. "
                "Complete it in your ModelScope account settings, then try again.",
                status=status,
                **kw,
            )
        if status == 429 and (_QUOTA.search(message) or _daily_limit_spent(limits)):
            return QuotaExceededError(
                f"{label} quota is used up (HTTP 429). {said}. Wait for the daily quota to reset "
                "or use another model; a retired model also answers this way.",
                status=status,
                **kw,
            )
        if status in (400, 404) and _UNKNOWN_MODEL.search(message):
            # "Model id 'x' does not exist or does not support API-Inference."
            return UnknownModelError(
                f"{label} does not serve this model through API-Inference (HTTP {status}). {said}.",
                status=status,
                **kw,
            )
        retry_after = parse_retry_after(response.headers)
        return error_from_status(label, status, message, retry_after=retry_after, **kw)

    return map_error


def task_error(settings: ProviderSettings, task_id: str, payload: Any) -> ApiEditError:
    """The typed error for a FAILED task: 422 is a content refusal (§5.4), never retried."""
    label = settings.label
    body = payload if isinstance(payload, dict) else {}
    errors = body.get("errors") or body.get("error") or {}
    if not isinstance(errors, dict):
        errors = {"message": str(errors)}
    message = str(errors.get("message") or body.get("message") or "").strip()
    raw_code = errors.get("code", body.get("code"))
    code = str(raw_code) if raw_code not in (None, "") else None
    kw: dict[str, Any] = {
        "provider": settings.provider,
        "request_id": body.get("request_id") if isinstance(body.get("request_id"), str) else None,
        "code": code,
        "details": {"task_id": task_id, "errors": errors},
    }
    said = f"{code}: {message}" if code and message else (message or code or "no reason given")
    if code == "422" or _BLOCKED.search(message):
        return ContentBlockedError(
            f"{label} refused to make this image ({said}; task {task_id}). Rephrase the prompt, "
            "change the input images, or use another model.",
            reason=message or code,
            **kw,
        )
    if _UNKNOWN_MODEL.search(message):
        return UnknownModelError(f"{label} does not serve this model ({said}; task {task_id}).", **kw)
    if code and code.isdigit() and 400 <= int(code) < 500:
        return InvalidInputError(
            f"{label} could not run task {task_id} ({said}). Check the model, size and input "
            "images; the task was not resubmitted.",
            status=int(code),
            **kw,
        )
    return ProviderError(
        f"{label} task {task_id} failed ({said}). It was not resubmitted; try again, or try "
        "another model.",
        **kw,
    )
