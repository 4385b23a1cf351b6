"""An example async-job provider: configuration here, the wire format in `wire.py`.

Keep this module cheap to import (hosts import every plugin to build their provider list):
HTTP and image code is imported inside `edit`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import apiedit
from apiedit.modeltable import ModelTable

if TYPE_CHECKING:
    from apiedit.settings import ProviderSettings

MODELS = [
    apiedit.ModelInfo(
        id="example-image-1",
        label="Example Image 1",
        capabilities=apiedit.Capability.GENERATE | apiedit.Capability.EDIT
        | apiedit.Capability.MULTI_IMAGE | apiedit.Capability.SEED,
        max_input_images=4,
        max_n=4,
    )
]

# The curated entries describe models; the live list (GET /models) decides which exist.
TABLE = ModelTable(MODELS)


@apiedit.hookimpl
def provider_info() -> apiedit.ProviderInfo:
    return apiedit.ProviderInfo(
        id="example",
        label="Example",
        key_env_vars=("EXAMPLE_API_KEY",),
        default_base_url="https://api.example.invalid/v1",
    )


@apiedit.hookimpl
def list_models(refresh: bool, settings: ProviderSettings) -> list[apiedit.ModelInfo]:
    def fetch() -> list[apiedit.ModelInfo]:
        from .wire import fetch_models  # only a refresh needs HTTP: the stored list does not

        return fetch_models(settings)

    return TABLE.list_models(settings, refresh=refresh, fetch=fetch)


@apiedit.hookimpl
def model_info(model: str) -> apiedit.ModelInfo | None:
    return TABLE.describe(model)


@apiedit.hookimpl
def supports_conversation(model: str) -> bool:
    return False


@apiedit.hookimpl
def edit(request: apiedit.EditRequest, settings: ProviderSettings) -> apiedit.EditResult:
    from .wire import call

    return call(request, settings)
