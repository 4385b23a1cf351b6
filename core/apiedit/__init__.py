"""apiedit: create and edit images through cloud APIs, one plugin per provider.

    import apiedit
    result = apiedit.edit("openai", model="gpt-image-2.5-flare", prompt="a red fox in snow")
    open("fox.png", "wb").write(result.images[0].data)

Importing this package loads no plugin, no provider SDK and no HTTP stack; plugins are found
through the `apiedit` entry-point group on first use.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Callable, Iterable

from .errors import (
    ApiEditError,
    AuthenticationError,
    CancelledError,
    ConfigurationError,
    ContentBlockedError,
    InvalidInputError,
    MissingKeyError,
    NoImageReturnedError,
    PluginLoadError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    QuotaExceededError,
    RateLimitError,
    UnknownModelError,
    UntrustedBaseURLError,
    UnknownProviderError,
    UnsupportedFeatureError,
)

if TYPE_CHECKING:
    from .hookspecs import hookimpl
    from .types import (
        Capability,
        ConversationMode,
        EditRequest,
        EditResult,
        ImageData,
        ModelInfo,
        ProviderInfo,
        Turn,
    )

__version__ = "0.1.0"
API_VERSION = 1

__all__ = [
    "API_VERSION",
    "ApiEditError",
    "AuthenticationError",
    "CancelledError",
    "Capability",
    "ConfigurationError",
    "ContentBlockedError",
    "Conversation",
    "CostEstimate",
    "ConversationMode",
    "EditRequest",
    "EditResult",
    "ImageData",
    "InvalidInputError",
    "MissingKeyError",
    "ModelInfo",
    "NoImageReturnedError",
    "PluginLoadError",
    "Price",
    "ProviderError",
    "ProviderInfo",
    "ProviderTimeoutError",
    "ProviderUnavailableError",
    "QuotaExceededError",
    "RateLimitError",
    "Turn",
    "UnknownModelError",
    "UntrustedBaseURLError",
    "UnknownProviderError",
    "UnsupportedFeatureError",
    "default_model",
    "edit",
    "estimate_cost",
    "get_provider",
    "hookimpl",
    "list_models",
    "plugin_failures",
    "plugins",
    "providers",
    "reported_cost",
    "supports_conversation",
]


# Imported on first use: the record types (attrs writes their methods, ~12 ms) and `hookimpl`
# (pluggy) are not needed by callers that only read settings or paths, such as ComfyUI's start
# when it builds the node from its stored schema data (`apiedit_comfy.schema_data`).
_LAZY = {
    **dict.fromkeys(("Capability", "ConversationMode", "EditRequest", "EditResult", "ImageData",
                     "ModelInfo", "ProviderInfo", "Turn"), "apiedit.types"),
    "hookimpl": "apiedit.hookspecs",
    "Conversation": "apiedit.conversation",
    "CostEstimate": "apiedit.pricing",
    "Price": "apiedit.pricing",
    "estimate_cost": "apiedit.pricing",
    "reported_cost": "apiedit.pricing",
}


def __getattr__(name: str) -> Any:
    """`apiedit.Conversation`, the pricing names, the record types and `hookimpl` are imported
    on first use, so `import apiedit` needs no sqlite3, attrs or pluggy and loads no host."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'apiedit' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def _host() -> Any:
    from .host import default_host

    return default_host()


def providers() -> dict[str, ProviderInfo]:
    """The providers whose plugins loaded, by id."""
    return _host().providers()


def get_provider(provider: str) -> ProviderInfo:
    """One provider's info; `UnknownProviderError` if no plugin provides it."""
    return _host().get_provider(provider)


def list_models(provider: str, *, refresh: bool = False, **options: Any) -> list[ModelInfo]:
    """A provider's image models (cached; `refresh=True` asks the provider)."""
    return _host().list_models(provider, refresh=refresh, **options)


def default_model(provider: str, **options: Any) -> ModelInfo | None:
    """The model a UI should preselect: the newest current model of the provider's recommended
    family (never one past its shutdown date), from the stored list."""
    return _host().default_model(provider, **options)


def supports_conversation(provider: str, model: str) -> bool:
    """Whether the model keeps a native multi-turn conversation."""
    return _host().supports_conversation(provider, model)


def plugins() -> list[Any]:
    """Every plugin found (loaded, failed or disabled) as `PluginRecord`s."""
    return _host().records()


def plugin_failures() -> list[Any]:
    """Plugins that failed to load, with their distribution, version and error."""
    return _host().failures()


def edit(
    provider: str,
    request: EditRequest | None = None,
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    allow_unlisted: bool = False,
    cancel: threading.Event | None = None,
    progress: Callable[[str], None] | None = None,
    images: Iterable[ImageData | bytes] = (),
    cache: bool | None = None,
    **fields: Any,
) -> EditResult:
    """Generate or edit images with `provider`.

    Pass an `EditRequest`, or its fields as keywords (`model=`, `prompt=`, `images=`...);
    raw bytes in `images` are accepted and their type is sniffed. Any model id is sent, listed
    or not; `allow_unlisted` is accepted for compatibility and ignored (deprecated since 0.2).
    An identical request with a fixed `seed` answered before (also in an earlier run) returns
    the cached result without calling the provider (`info["cached"]` is True);
    `cache=False` (or `APIEDIT_RESULT_CACHE=0`) always asks, `cache=True` caches unseeded
    requests too.
    """
    from .types import EditRequest, ImageData

    if request is None:
        from .images import sniff_mime

        wrapped = tuple(
            i if isinstance(i, ImageData) else ImageData(bytes(i), sniff_mime(bytes(i)) or "image/png")
            for i in images
        )
        request = EditRequest(images=wrapped, **fields)
    elif fields or images:
        raise TypeError("pass either an EditRequest or its fields, not both")
    from .resultcache import cached_edit

    return cached_edit(
        _host(), provider, request, cache=cache, api_key=api_key, base_url=base_url,
        allow_unlisted=allow_unlisted, cancel=cancel, progress=progress,
    )
