"""PixelWords on the wire: the relay's model list and its chat request; parsing is core's.

The request is what the original project sent and the relay answered (`providers.md` §6.1):
Bearer auth, one user message of text and `data:` image parts, no `modalities`. Everything
else is UNCONFIRMED, so the answer parser accepts every shape relays are known to use.
A conversation is replayed as text turns with the last image attached to the new turn: whether
a relay forwards assistant `images` upstream is unknown, so they are not resent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from apiedit.errors import UnsupportedFeatureError
from apiedit.protocols.openai_chat import build_messages, chat_edit, error_mapper, fetch_model_list
from apiedit.types import Capability, EditRequest, EditResult, ModelInfo

from .models import TABLE, model_from_listing

if TYPE_CHECKING:
    from apiedit.settings import ProviderSettings

__all__ = ["edit", "fetch_models", "request_body"]


def fetch_models(settings: ProviderSettings) -> list[ModelInfo]:
    """The relay's image models, when it serves an OpenAI-style `GET /models`."""
    return fetch_model_list(
        settings, parse=model_from_listing,
        hint="the relay may not list its models (the built-in list stays usable, marked "
        "stale) or the base URL may be wrong.",
    )


def find_model(model_id: str, settings: ProviderSettings) -> ModelInfo | None:
    return TABLE.find_model(model_id, settings)


def request_body(request: EditRequest, model: ModelInfo | None,
                 messages: list[dict[str, Any]]) -> dict[str, Any]:
    body: dict[str, Any] = {"model": request.model, "messages": messages}
    if request.seed is not None and (model is None or model.supports(Capability.SEED)):
        body["seed"] = request.seed
    for key in ("modalities", "image_config"):  # for relays that want them (UNCONFIRMED here)
        if key in request.extra:
            body[key] = request.extra[key]
    return body


def edit(request: EditRequest, settings: ProviderSettings) -> EditResult:
    settings.require_key()
    if request.size and request.size != "auto":
        raise UnsupportedFeatureError(
            f"{settings.label} chat models take no pixel size; describe the format in the "
            "prompt, or clear the size."
        )
    model = find_model(request.model, settings)
    warnings = []
    if request.quality:
        warnings.append(f"{settings.label} takes no quality setting; it was not sent.")
    messages = build_messages(
        request, provider=settings.provider,
        max_pixels=model.max_input_pixels if model else None,
        replay_assistant_images=False,
    )
    return chat_edit(
        request, settings, request_body(request, model, messages),
        map_error=error_mapper(settings), conversation="native", warnings=warnings,
    )
