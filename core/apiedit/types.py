"""The values that cross the plugin boundary: frozen attrs records, bytes in and bytes out.

Plugins and the host exchange only these types, so a provider never sees PIL or torch objects
and a result can be stored, hashed and replayed as-is.
"""

from __future__ import annotations

import enum
import hashlib
import re
from typing import Any, Literal, Mapping

import attrs

from .errors import InvalidInputError

__all__ = [
    "Capability",
    "ConversationMode",
    "EditRequest",
    "EditResult",
    "ImageData",
    "ModelInfo",
    "ProviderInfo",
    "Turn",
]

_SIZE_RE = re.compile(r"^(auto|\d+x\d+)$")
_RATIO_RE = re.compile(r"^\d+(\.\d+)?:\d+(\.\d+)?$")


class Capability(enum.Flag):
    """What a model can do; the host checks requests against these flags before any call."""

    NONE = 0
    GENERATE = enum.auto()  # text-to-image
    EDIT = enum.auto()  # one input image
    MULTI_IMAGE = enum.auto()  # several input images
    MASK = enum.auto()
    CONVERSATION = enum.auto()  # honours EditRequest.history natively
    SEED = enum.auto()
    NEGATIVE_PROMPT = enum.auto()
    STEPS = enum.auto()
    GUIDANCE = enum.auto()
    STRENGTH = enum.auto()
    WATERMARK = enum.auto()


class ConversationMode(str, enum.Enum):
    """How a provider continues a conversation."""

    NATIVE = "native"  # the provider receives the real history
    LAST_IMAGE = "last_image"  # the previous output image is fed back as input


def _freeze_mapping(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return dict(value or {})


def _image_repr(data: bytes) -> str:
    return f"<{len(data)} bytes sha256:{hashlib.sha256(data).hexdigest()[:12]}>"


@attrs.frozen
class ImageData:
    """An encoded image (PNG, JPEG, WebP, ...) and its MIME type."""

    data: bytes = attrs.field(repr=_image_repr)
    mime_type: str = "image/png"

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def _check_role(value: Any) -> None:
    if value not in ("user", "assistant"):
        raise InvalidInputError(f"A turn's role is 'user' or 'assistant', not {value!r}.")


def _images(value: Any) -> tuple[ImageData, ...]:
    return tuple(value or ())


@attrs.frozen
class Turn:
    """One message of a conversation; `state` is the provider's opaque data, kept verbatim."""

    role: Literal["user", "assistant"] = attrs.field(validator=lambda _i, _a, v: _check_role(v))
    text: str = ""
    images: tuple[ImageData, ...] = attrs.field(default=(), converter=_images)
    provider: str = ""
    model: str = ""
    state: Mapping[str, Any] = attrs.field(factory=dict, converter=_freeze_mapping, eq=False)


def _check_size(_inst: Any, _attr: attrs.Attribute, value: str | None) -> None:
    if value is not None and not _SIZE_RE.match(value):
        raise InvalidInputError(
            f"The size must look like 1024x1024 or auto, not {value!r}.", hint_id="bad_size"
        )


def _check_ratio(_inst: Any, _attr: attrs.Attribute, value: str | None) -> None:
    if value is not None and not _RATIO_RE.match(value):
        raise InvalidInputError(
            f"The aspect ratio must look like 16:9, not {value!r}.", hint_id="bad_aspect_ratio"
        )


def _check_count(_inst: Any, _attr: attrs.Attribute, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInputError(
            f"The number of images must be a whole number of at least 1, not {value!r}.",
            hint_id="bad_count",
        )


def _none_if_blank(value: str | None) -> str | None:
    return value.strip() or None if isinstance(value, str) else value


@attrs.frozen
class EditRequest:
    """One call: text-to-image when `images` is empty, edit or composition otherwise."""

    model: str
    prompt: str
    images: tuple[ImageData, ...] = attrs.field(default=(), converter=_images)
    mask: ImageData | None = None  # RGBA, same size as images[0]; transparent = area to edit
    negative_prompt: str = ""
    size: str | None = attrs.field(default=None, converter=_none_if_blank, validator=_check_size)
    aspect_ratio: str | None = attrs.field(
        default=None, converter=_none_if_blank, validator=_check_ratio
    )
    resolution: str | None = attrs.field(default=None, converter=_none_if_blank)  # "1K", "2K", "4K"
    n: int = attrs.field(default=1, validator=_check_count)
    seed: int | None = None
    steps: int | None = None
    guidance: float | None = None
    strength: float | None = None
    watermark: bool | None = None
    quality: str | None = attrs.field(default=None, converter=_none_if_blank)
    history: tuple[Turn, ...] = attrs.field(default=(), converter=tuple)
    extra: Mapping[str, Any] = attrs.field(factory=dict, converter=_freeze_mapping, eq=False)
    timeout_s: float | None = None


@attrs.frozen
class EditResult:
    """What a provider returned: at least one image, plus text, ids and provider state."""

    images: tuple[ImageData, ...] = attrs.field(converter=_images)
    provider: str
    model: str
    text: str = ""
    request_id: str | None = None
    usage: Mapping[str, Any] = attrs.field(factory=dict, converter=_freeze_mapping, eq=False)
    warnings: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    info: Mapping[str, Any] = attrs.field(factory=dict, converter=_freeze_mapping, eq=False)
    state: Mapping[str, Any] = attrs.field(factory=dict, converter=_freeze_mapping, eq=False)
    raw: Any = attrs.field(default=None, eq=False, repr=False)

    def info_record(self) -> dict[str, Any]:
        """A JSON-ready summary (provider, model, request id, usage, warnings, info)."""
        return {
            "provider": self.provider,
            "model": self.model,
            "request_id": self.request_id,
            "images": len(self.images),
            "usage": dict(self.usage),
            "warnings": list(self.warnings),
            **{k: v for k, v in self.info.items() if k not in ("provider", "model")},
        }


@attrs.frozen
class ModelInfo:
    """A model's identity and limits, as data: never inferred by trial calls."""

    id: str
    label: str = ""
    capabilities: Capability = Capability.GENERATE
    max_input_images: int = 0
    sizes: tuple[str, ...] = attrs.field(default=(), converter=tuple)  # empty = any size
    aspect_ratios: tuple[str, ...] = attrs.field(default=(), converter=tuple)  # empty = none
    resolutions: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    max_n: int = 1
    max_input_pixels: int | None = None  # inputs are downscaled to this budget
    max_prompt_chars: int | None = None  # longer prompts are refused before sending; None:
    # no published limit, the provider judges (its refusal comes back as a typed error)
    retired: bool = False
    replacement: str | None = None  # what to use instead when retired or deprecated
    listed: bool = True  # False for a free-text id that no model list knows yet
    extra: Mapping[str, Any] = attrs.field(factory=dict, converter=_freeze_mapping, eq=False)
    # Lifecycle, as ISO dates the provider published (None = not announced).
    deprecated_on: str | None = None  # still answers, but never a default
    shutdown_on: str | None = None  # stops answering: refused from that day on, replacement named
    released_on: str | None = None  # orders a family's members when the default is chosen
    # False when no curated entry or family describes the model: its limits are guesses.
    verified: bool = True
    # True: the key's live list offers it; False: a live list exists and lacks it; None: no
    # live list was fetched yet (the curated table is all that is known).
    available: bool | None = None

    def supports(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def to_json(self) -> dict[str, Any]:
        """Plain JSON for disk caches and HTTP routes."""
        return {
            "id": self.id,
            "label": self.label,
            "capabilities": [c.name for c in Capability if c and c in self.capabilities],
            "max_input_images": self.max_input_images,
            "sizes": list(self.sizes),
            "aspect_ratios": list(self.aspect_ratios),
            "resolutions": list(self.resolutions),
            "max_n": self.max_n,
            "max_input_pixels": self.max_input_pixels,
            "max_prompt_chars": self.max_prompt_chars,
            "retired": self.retired,
            "replacement": self.replacement,
            "listed": self.listed,
            "extra": dict(self.extra),
            "deprecated_on": self.deprecated_on,
            "shutdown_on": self.shutdown_on,
            "released_on": self.released_on,
            "verified": self.verified,
            "available": self.available,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ModelInfo:
        caps = Capability.NONE
        for name in data.get("capabilities", ()):
            caps |= Capability[name]
        fields = {k: v for k, v in data.items() if k in attrs.fields_dict(cls)}
        fields["capabilities"] = caps
        return cls(**fields)


@attrs.frozen
class ProviderInfo:
    """Static facts about a provider (no I/O to build it)."""

    id: str
    label: str
    key_env_vars: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    default_base_url: str = ""
    docs_url: str = ""
    key_url: str = ""
    conversation: ConversationMode = ConversationMode.LAST_IMAGE
    needs_key: bool = True

    @property
    def base_url_env_var(self) -> str:
        return f"APIEDIT_{self.id.upper().replace('-', '_')}_BASE_URL"
