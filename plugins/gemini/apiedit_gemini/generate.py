"""One `edit` call: the request on the wire, the answer back as an EditResult."""

from __future__ import annotations

from apiedit import EditRequest, EditResult, ModelInfo
from apiedit.settings import ProviderSettings

from . import models, transport, wire
from .files import history_files


def model_info(model_id: str) -> ModelInfo:
    """The table's entry or family, else the conservative limits a live-only model gets."""
    return models.curated_model(model_id) or models.live_model_info({"name": model_id})


def generate_images(request: EditRequest, settings: ProviderSettings) -> EditResult:
    settings.require_key()
    model = model_info(request.model)
    files = history_files(settings, request.history)
    body, warnings = wire.build_body(request, model, files)
    settings.report(f"{settings.label}: generating with {request.model}")
    try:
        data, used, version = transport.generate(settings, request.model, body)
    except wire.FileGoneError:
        # Refused before it ran (not billed): a history file expired early or was deleted.
        # Upload what is gone and send the turn once more; a second refusal is the user's.
        if files is None or not files.forget_gone():
            raise
        body, warnings = wire.build_body(request, model, files)
        data, used, version = transport.generate(settings, request.model, body)
        warnings.append("A history image had expired on Gemini's side; it was uploaded again.")
    answer = wire.parse_answer(data)
    info = {**answer.info, "transport": used, "api_version": version}
    state = answer.state
    if request.history:
        info["conversation"] = "native"
    if files is not None:
        # kept with the turn, so the next one refers to the same files (see files.py)
        state = {**state, "files": files.used}
        if files.unavailable:
            warnings.append(files.unavailable)
        info["history_files"] = {"referred": len(files.used), "uploaded": len(files.uploaded)}
    return EditResult(
        images=tuple(answer.images),
        provider=wire.PROVIDER,
        model=request.model,
        text=answer.text,
        request_id=answer.request_id,
        usage=answer.usage,
        warnings=(*warnings, *answer.warnings),
        info=info,
        state=state,
        raw=data,
    )
