"""One `edit` call: the request on the wire, the answer back as an EditResult."""

from __future__ import annotations

from apiedit import EditRequest, EditResult, ModelInfo
from apiedit.settings import ProviderSettings

from . import models, transport, wire


def model_info(model_id: str) -> ModelInfo:
    """The table's entry or family, else the conservative limits a live-only model gets."""
    return models.curated_model(model_id) or models.live_model_info({"name": model_id})


def generate_images(request: EditRequest, settings: ProviderSettings) -> EditResult:
    settings.require_key()
    model = model_info(request.model)
    body, warnings = wire.build_body(request, model)
    settings.report(f"{settings.label}: generating with {request.model}")
    data, used, version = transport.generate(settings, request.model, body)
    answer = wire.parse_answer(data)
    info = {**answer.info, "transport": used, "api_version": version}
    if request.history:
        info["conversation"] = "native"
    return EditResult(
        images=tuple(answer.images),
        provider=wire.PROVIDER,
        model=request.model,
        text=answer.text,
        request_id=answer.request_id,
        usage=answer.usage,
        warnings=(*warnings, *answer.warnings),
        info=info,
        state=answer.state,
        raw=data,
    )
