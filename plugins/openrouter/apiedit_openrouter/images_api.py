"""OpenRouter's dedicated Image API: `POST /images` and `GET /images/models`.

Documented since 2026-07-21 in OpenRouterTeam/docs' image-generation guide (see
providers-2026-12.md): `model`, `prompt`, `n` 1-10, `input_references` (up to 16
`{type: "image_url", image_url: {url}}`, http(s) or data URLs), `resolution` (512/1K/2K/4K),
`aspect_ratio`, `size`, `quality`, `output_format`, `background`, `seed`, `provider`; the
answer is `{created, data: [{b64_json, media_type}], usage{..., cost}}` and a failed
generation answers 502 unbilled. It is used for one-shot requests to models the Image API's
own list serves; conversations and chat-only models stay on chat completions.

UNVERIFIED: the shape of `GET /images/models` (read here as an OpenAI-style `data` list of
`{id}`), and OpenRouter's slugs for Google's GA image models.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from apiedit.protocols.openai_chat import error_mapper, image_part
from apiedit.protocols.openai_images import parse_images_response
from apiedit.types import EditRequest, EditResult, ModelInfo

if TYPE_CHECKING:
    from apiedit.settings import ProviderSettings

__all__ = ["IMAGES_MODELS_PATH", "IMAGES_PATH", "edit_via_images", "fetch_image_api_ids", "serves"]

IMAGES_PATH = "images"
IMAGES_MODELS_PATH = "images/models"
MAX_N = 10
MAX_REFERENCES = 16
_RESOLUTION = {"0.5K": "512", "512": "512", "1K": "1K", "2K": "2K", "4K": "4K"}
_OPTIONS = ("quality", "output_format", "background", "provider")


def fetch_image_api_ids(settings: ProviderSettings, headers: dict[str, str],
                        map_error: Any) -> set[str]:
    """The ids the Image API serves (a free GET); an empty set when the route is absent."""
    from apiedit.errors import ProviderError

    try:
        body = settings.http.get_json(
            IMAGES_MODELS_PATH, headers={"Authorization": f"Bearer {settings.require_key()}",
                                         **headers}, map_error=map_error,
        )
    except ProviderError as exc:
        if exc.status == 404:  # an older relay or proxy without the Image API
            return set()
        raise
    data = body.get("data") if isinstance(body, dict) else None
    return {str(m["id"]) for m in data or () if isinstance(m, dict) and m.get("id")}


def serves(model: ModelInfo | None, request: EditRequest) -> bool:
    """Whether this request goes to `POST /images`: a one-shot call to a model the Image API
    lists, with no chat-only option asked for."""
    return (model is not None and bool(model.extra.get("image_api")) and not request.history
            and "modalities" not in request.extra and "image_config" not in request.extra)


def request_body(request: EditRequest, model: ModelInfo) -> dict[str, Any]:
    body: dict[str, Any] = {"model": request.model, "prompt": request.prompt, "n": request.n}
    if request.images:
        body["input_references"] = [
            image_part(image, max_pixels=model.max_input_pixels) for image in request.images
        ]
    if request.aspect_ratio:
        body["aspect_ratio"] = request.aspect_ratio
    if request.resolution:
        body["resolution"] = _RESOLUTION.get(request.resolution, request.resolution)
    if request.quality:
        body["quality"] = request.quality
    if request.seed is not None:
        body["seed"] = request.seed
    for key in _OPTIONS:
        if key in request.extra and key != "quality":
            body[key] = request.extra[key]
    return body


def edit_via_images(request: EditRequest, settings: ProviderSettings, model: ModelInfo,
                    headers: dict[str, str], warnings: list[str]) -> EditResult:
    """One paid `POST /images` for all `n` images (sent once; 502/503 are unbilled, resent)."""
    from apiedit.errors import UnsupportedFeatureError

    if request.n > MAX_N or len(request.images) > MAX_REFERENCES:
        raise UnsupportedFeatureError(
            f"OpenRouter's Image API makes at most {MAX_N} images from at most "
            f"{MAX_REFERENCES} references per call; {request.n} images from "
            f"{len(request.images)} references were asked for."
        )
    settings.report(f"{settings.label}: generating with {request.model} (Image API)")
    response = settings.http.request(
        "POST", IMAGES_PATH, billable=True, timeout=request.timeout_s,
        map_error=error_mapper(settings, retryable_statuses=frozenset({502, 503})),
        headers={"Authorization": f"Bearer {settings.require_key()}", **headers},
        json=request_body(request, model),
    )
    answer = parse_images_response(response, settings)
    if len(answer.images) < request.n:
        warnings.append(f"Asked for {request.n} images; OpenRouter returned {len(answer.images)}.")
    return EditResult(
        images=answer.images, provider=settings.provider, model=request.model,
        text=answer.text, request_id=answer.request_id, usage=answer.usage,
        warnings=tuple(warnings), info={**answer.info, "endpoint": "images"}, raw=answer.raw,
    )
