"""Providers by configuration: `providers.toml` declares relays on built-in protocols, no code.

Many users reach image models through OpenAI- or Gemini-compatible relays and resellers; each
entry of this file becomes a provider like an installed plugin (listed by `apiedit plugins`
with the file as its distribution, in the CLI and the node's dropdown, keys resolved the same
way: `apiedit keys set ID`, the declared env var, the key file; the declared base URL is the
provider's default, so `apiedit.keys.resolve_endpoint`'s origin rules apply unchanged).

File: `providers.toml` in the config directory (`apiedit.paths.config_dir`), or the path in
`APIEDIT_PROVIDERS_FILE`. One table per provider, its key is the provider id:

    [providers.myrelay]
    protocol = "openai-chat"          # or "openai-images", "gemini"
    label = "My relay"
    base_url = "https://relay.example.com/v1"
    key_env = "MYRELAY_API_KEY"       # or a list of names
    models = ["gemini-2.5-flash-image", {id = "gpt-image-1", label = "GPT Image 1"}]
    # models = "fetch"                # the relay's own GET /models list
    extra_body = {modalities = ["image", "text"]}   # optional: sent in every request body

Decisions where the issue is silent: declared models are unverified (`verified=False`: the
limits are the user's word, so only the provider checks a request; the result says so);
a model given as a table may set `label`, `max_input_images` (default 4) and `max_n`
(default 4); with `models = "fetch"` the live list is used as-is (a failed fetch is a typed
error, like any provider's). `gemini` needs the apiedit-gemini distribution (its wire code);
without it such an entry fails with a message naming the package. A bad entry fails alone.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs

from .hookspecs import hookimpl
from .errors import ApiEditError, ConfigurationError
from .modeltable import ModelTable
from .origins import origin_of
from .paths import PROVIDERS_FILE_ENV, providers_file
from .settings import ProviderSettings
from .types import Capability, ConversationMode, EditRequest, EditResult, ModelInfo, ProviderInfo

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the same parser, as a package before 3.11
    import tomli as tomllib

__all__ = ["PROTOCOLS", "ConfiguredProvider", "Entry", "load_entries", "providers_file"]

PROTOCOLS = ("openai-images", "openai-chat", "gemini")
FILE_ENV = PROVIDERS_FILE_ENV
_ID = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
_FIELDS = {"protocol", "label", "base_url", "key_env", "models", "docs_url", "key_url",
           "extra_body"}
_CAPS = Capability.GENERATE | Capability.EDIT | Capability.MULTI_IMAGE


@attrs.frozen
class Entry:
    """One `[providers.ID]` table: a provider, or why it cannot be one (`error`)."""

    id: str
    plugin: ConfiguredProvider | None = None
    error: str | None = None


def load_entries(path: Path, taken: set[str]) -> list[Entry]:
    """Every entry of the file; `taken` holds the ids installed plugins already use.

    A missing file is no entry; an unreadable or invalid TOML file is one failed entry named
    after the file, so that `apiedit plugins` shows it.
    """
    if not path.is_file():
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return [Entry(path.name, error=f"{path} is not valid TOML: {exc}")]
    tables = data.get("providers")
    if not isinstance(tables, dict):
        return [Entry(path.name, error=f"{path} has no [providers.ID] tables; see the README "
                                       "section 'Providers without code'.")]
    entries = []
    for pid, table in tables.items():
        try:
            entries.append(Entry(pid, plugin=_provider(pid, table, taken, path)))
        except ConfigurationError as exc:
            entries.append(Entry(pid, error=str(exc)))
        except (TypeError, ValueError) as exc:  # a field of the wrong type
            entries.append(Entry(pid, error=f"[providers.{pid}] in {path}: a field has the "
                                            f"wrong type ({exc})."))
    return entries


def _provider(pid: str, table: Any, taken: set[str], path: Path) -> ConfiguredProvider:
    where = f"[providers.{pid}] in {path}"
    if not _ID.match(pid):
        raise ConfigurationError(
            f"{where}: the id must be lower-case letters, digits and '-', starting with a letter.")
    if pid in taken:
        raise ConfigurationError(
            f"{where}: the id {pid!r} is already an installed plugin's; choose another id.")
    if not isinstance(table, dict):
        raise ConfigurationError(f"{where} must be a table of fields.")
    unknown = sorted(set(table) - _FIELDS)
    if unknown:
        raise ConfigurationError(f"{where}: unknown field(s) {', '.join(unknown)}; "
                                 f"the fields are {', '.join(sorted(_FIELDS))}.")
    missing = [f for f in ("protocol", "label", "base_url", "key_env", "models") if f not in table]
    if missing:
        raise ConfigurationError(f"{where}: missing field(s) {', '.join(missing)}.")
    protocol = table["protocol"]
    if protocol not in PROTOCOLS:
        raise ConfigurationError(
            f"{where}: unknown protocol {protocol!r}; use one of {', '.join(PROTOCOLS)}.")
    url = table["base_url"]
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ConfigurationError(f"{where}: base_url must be an http:// or https:// URL.")
    try:
        origin_of(url)
    except ApiEditError as exc:
        raise ConfigurationError(f"{where}: bad base_url: {exc}") from None
    env = table["key_env"]
    env_vars = (env,) if isinstance(env, str) else tuple(env) if isinstance(env, list) else ()
    if not env_vars or not all(isinstance(v, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", v)
                               for v in env_vars):
        raise ConfigurationError(f"{where}: key_env must name an environment variable "
                                 "(or a list of them), such as MYRELAY_API_KEY.")
    models = _models(table["models"], where)
    extra_body = table.get("extra_body", {})
    if not isinstance(extra_body, dict) or (extra_body and protocol == "gemini"):
        raise ConfigurationError(f"{where}: extra_body must be a table (openai-chat and "
                                 "openai-images only), such as {{modalities = [\"image\", \"text\"]}}.")
    if protocol == "gemini":
        try:
            import apiedit_gemini  # noqa: F401  (the wire code lives there)
        except ImportError:
            raise ConfigurationError(
                f"{where}: protocol 'gemini' needs the apiedit-gemini package, which is not "
                "installed; install it (see the README, section Plugins) or use openai-chat."
            ) from None
    info = ProviderInfo(
        id=pid, label=str(table["label"]), key_env_vars=env_vars,
        default_base_url=url.strip().rstrip("/"),
        docs_url=str(table.get("docs_url", "")), key_url=str(table.get("key_url", "")),
        conversation=(ConversationMode.LAST_IMAGE if protocol == "openai-images"
                      else ConversationMode.NATIVE),
    )
    return ConfiguredProvider(info, protocol, models, extra_body)


def _models(value: Any, where: str) -> list[ModelInfo] | None:
    """The declared models, or None for "fetch"."""
    if value == "fetch":
        return None
    if not isinstance(value, list) or not value:
        raise ConfigurationError(f"{where}: models must be a list of model ids or \"fetch\".")
    out = []
    for item in value:
        spec = {"id": item} if isinstance(item, str) else item
        if not isinstance(spec, dict) or not isinstance(spec.get("id"), str) or not spec["id"]:
            raise ConfigurationError(f"{where}: each model is an id or a table with an id.")
        extra = sorted(set(spec) - {"id", "label", "max_input_images", "max_n"})
        if extra:
            raise ConfigurationError(f"{where}: model {spec['id']!r} has unknown field(s) "
                                     f"{', '.join(extra)}.")
        out.append(_model(spec["id"], str(spec.get("label") or spec["id"]),
                          int(spec.get("max_input_images", 4)), int(spec.get("max_n", 4))))
    return out


def _model(model_id: str, label: str = "", inputs: int = 4, max_n: int = 4) -> ModelInfo:
    return ModelInfo(id=model_id, label=label or model_id, capabilities=_CAPS,
                     max_input_images=inputs, max_n=max_n, verified=False)


class ConfiguredProvider:
    """The pluggy plugin one entry becomes: the hooks, delegating to the protocol's wire code."""

    def __init__(self, info: ProviderInfo, protocol: str, models: list[ModelInfo] | None,
                 extra_body: Mapping[str, Any] | None = None) -> None:
        self.info = info
        self.extra_body = dict(extra_body or {})
        self.protocol = protocol
        self.fetch = models is None
        self.table = ModelTable([self._with_caps(m) for m in models or []])

    @hookimpl
    def provider_info(self) -> ProviderInfo:
        return self.info

    @hookimpl
    def list_models(self, refresh: bool, settings: ProviderSettings) -> list[ModelInfo]:
        if not self.fetch:
            return list(self.table.curated)
        return self.table.list_models(settings, refresh=refresh, fetch=lambda: self._fetch(settings))

    def _with_caps(self, model: ModelInfo) -> ModelInfo:
        """Chat and Gemini relays resend the history: their models hold conversations."""
        if self.protocol == "openai-images":
            return model
        return attrs.evolve(model, capabilities=model.capabilities | Capability.CONVERSATION)

    @hookimpl
    def supports_conversation(self, model: str) -> bool:
        return self.protocol != "openai-images"

    @hookimpl
    def edit(self, request: EditRequest, settings: ProviderSettings) -> EditResult:
        run: Callable[..., EditResult] = {
            "openai-images": _images_edit, "openai-chat": _chat_edit, "gemini": _gemini_edit,
        }[self.protocol]
        try:
            result = run(request, settings, self.extra_body)
        except ApiEditError as exc:
            exc.provider = self.info.id
            raise
        return attrs.evolve(result, provider=self.info.id,
                            info={**result.info, "protocol": self.protocol})

    def _fetch(self, settings: ProviderSettings) -> list[ModelInfo]:
        if self.protocol == "gemini":
            from apiedit_gemini.listing import fetch_models

            return [attrs.evolve(self._with_caps(m), verified=False) for m in fetch_models(settings)]
        from .protocols.openai_chat import fetch_model_list

        return fetch_model_list(
            settings, parse=lambda e: self._with_caps(_model(str(e["id"]))) if e.get("id") else None,
            hint="the relay may not list its models: declare them in providers.toml instead.",
        )


def _chat_edit(request: EditRequest, settings: ProviderSettings,
               extra_body: Mapping[str, Any]) -> EditResult:
    from .errors import UnsupportedFeatureError
    from .protocols.openai_chat import build_messages, chat_edit

    settings.require_key()
    if request.size and request.size != "auto":
        raise UnsupportedFeatureError(
            f"{settings.label} (a chat relay) takes no pixel size; describe the format in the "
            "prompt, or clear the size.")
    body: dict[str, Any] = {**extra_body, "model": request.model,
                            "messages": build_messages(request, provider=settings.provider,
                                                       replay_assistant_images=False)}
    if request.seed is not None:
        body["seed"] = request.seed
    for key in ("modalities", "image_config"):
        if key in request.extra:
            body[key] = request.extra[key]
    return chat_edit(request, settings, body, conversation="native")


def _images_edit(request: EditRequest, settings: ProviderSettings,
                 extra_body: Mapping[str, Any]) -> EditResult:
    """The OpenAI Images API as a relay serves it: sizes and options are the provider's to judge."""
    from .images import prepare_upload
    from .protocols import openai_images as api

    settings.require_key()
    common: dict[str, Any] = {"model": request.model, "prompt": request.prompt, "n": request.n,
                              "size": request.size, "quality": request.quality,
                              "options": {**extra_body, **{k: v for k, v in request.extra.items()
                                                           if v is not None}}}
    if request.images:
        images = [prepare_upload(image, prefer="image/jpeg") for image in request.images]
        mask = prepare_upload(request.mask, formats=("image/png",)) if request.mask else None
        fields, files = api.edit_form(images=images, mask=mask, **common)
        answer = api.post_edit(settings, fields, files, timeout=request.timeout_s)
    else:
        answer = api.post_generation(settings, api.generation_body(**common),
                                     timeout=request.timeout_s)
    warnings = [] if len(answer.images) >= request.n else [
        f"Asked for {request.n} images; {settings.label} returned {len(answer.images)}."]
    return EditResult(images=answer.images, provider=settings.provider, model=request.model,
                      text=answer.text, request_id=answer.request_id, usage=answer.usage,
                      warnings=tuple(warnings), info=dict(answer.info), raw=answer.raw)


def _gemini_edit(request: EditRequest, settings: ProviderSettings,
                 extra_body: Mapping[str, Any]) -> EditResult:
    from apiedit_gemini.generate import generate_images

    return generate_images(request, settings)
