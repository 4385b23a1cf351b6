"""The plugin host: finds provider plugins, keeps each one's failures to itself, dispatches.

Loading is lazy (nothing happens at `import apiedit`), happens once, and is isolated: a plugin
that fails to import or lacks a hook is recorded and logged, the others load. Environment:
  APIEDIT_DISABLE_PLUGINS=a,b   never import these providers
  APIEDIT_LOAD_PLUGINS=a,b      import only these ('' = none)
  APIEDIT_STRICT_PLUGINS=1      re-raise load failures and plugin bugs inside hooks (for
                                plugin authors: the original traceback, not a ProviderError)
  APIEDIT_TRACE_PLUGINS=1       log every hook call with its duration (logger apiedit.host)
  APIEDIT_PROVIDERS_FILE=path   the providers.toml to read (default: in the config dir)
"""

from __future__ import annotations

import os
import threading
import time
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Callable, Iterable, Mapping

import attrs
import pluggy

from . import hookspecs
from .errors import (
    ApiEditError,
    ConfigurationError,
    scrub_chain,
    NoImageReturnedError,
    PluginLoadError,
    ProviderError,
    UnknownModelError,
    UnknownProviderError,
)
from .keys import resolve_base_url, resolve_endpoint
from .modelcache import ListStatus, list_status
from .modelpolicy import add_suggestions, choose_default
from .paths import cache_dir, providers_file
from .redact import get_logger, redact
from .settings import ProviderSettings
from .types import Capability, EditRequest, EditResult, ImageData, ModelInfo, ProviderInfo
from .validation import check_request

__all__ = ["BUILTIN_PROVIDERS", "ENTRY_POINT_GROUP", "Host", "PluginRecord", "default_host"]

ENTRY_POINT_GROUP = "apiedit"
REQUIRED_HOOKS = ("provider_info", "edit")
BUILTIN_PROVIDERS = ("gemini", "modelscope", "openai", "openrouter", "pixelwords")
"""The providers this repository ships; the default is the first installed (gemini when all are:
the node's default since 0.1, kept)."""
log = get_logger("apiedit.host")


@attrs.frozen
class PluginRecord:
    """One plugin as `apiedit plugins` shows it."""

    name: str
    distribution: str | None
    version: str | None
    status: str  # "ok", "failed" or "disabled"
    error: str | None = None
    hooks: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)


PLUGIN_LIST_HINT = (
    "Run `apiedit plugins` to see what is installed; the providers' plugins and their package "
    "names are listed in the README (section Plugins)."
)
"""Never a `pip install` of a name built from what the user typed: anyone could register it."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the closest installed id, or ''."""
    import difflib  # only when a name was mistyped

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _flag(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _env_list(env: Mapping[str, str], name: str) -> set[str] | None:
    if name not in env:
        return None
    return {item.strip() for item in env[name].split(",") if item.strip()}


class Host:
    """Owns one pluggy manager; every public apiedit function goes through a Host."""

    def __init__(
        self,
        *,
        load_entry_points: bool = True,
        env: Mapping[str, str] | None = None,
        entry_point_source: Callable[[], Iterable[EntryPoint]] | None = None,
    ) -> None:
        self._env = os.environ if env is None else env
        self._load_entry_points = load_entry_points
        self._entry_point_source = entry_point_source or (
            lambda: entry_points(group=ENTRY_POINT_GROUP)
        )
        self._pm = pluggy.PluginManager(hookspecs.PROJECT)
        self._pm.add_hookspecs(hookspecs)
        self._lock = threading.RLock()
        self._loaded = False
        self._records: dict[str, PluginRecord] = {}
        self._infos: dict[str, ProviderInfo] = {}
        # `_call` calls `impl.function` itself (one plugin per provider), so pluggy's hook
        # monitor would never fire: tracing is done there.
        self._trace = _flag(self._env, "APIEDIT_TRACE_PLUGINS")
        self._strict = _flag(self._env, "APIEDIT_STRICT_PLUGINS")

    # ---- loading -------------------------------------------------------------------------
    def load(self) -> None:
        """Import the entry-point plugins once; later calls return at once."""
        if self._loaded:
            return
        with self._lock:
            if self._loaded:
                return
            if self._load_entry_points:
                self._load_all()
            self._loaded = True

    def _load_all(self) -> None:
        disabled = _env_list(self._env, "APIEDIT_DISABLE_PLUGINS") or set()
        only = _env_list(self._env, "APIEDIT_LOAD_PLUGINS")
        strict = self._strict
        seen: set[str] = set()
        for ep in self._entry_point_source():
            if ep.name in seen or ep.name in self._records:
                continue  # the same distribution twice on sys.path
            seen.add(ep.name)
            dist = getattr(ep, "dist", None)
            dist_name = getattr(dist, "name", None)
            version = getattr(dist, "version", None)
            if ep.name in disabled or (only is not None and ep.name not in only):
                self._records[ep.name] = PluginRecord(ep.name, dist_name, version, "disabled")
                self._pm.set_blocked(ep.name)
                continue
            try:
                plugin = ep.load()
                self._register(plugin, ep.name, dist_name, version)
            except Exception as exc:  # isolation: one broken plugin never stops the others
                message = redact(f"{type(exc).__name__}: {exc}")
                self._records[ep.name] = PluginRecord(ep.name, dist_name, version, "failed", message)
                log.warning(
                    "apiedit plugin %r (%s %s) failed to load and was skipped: %s",
                    ep.name, dist_name, version, message,
                )
                if strict:
                    raise PluginLoadError(
                        f"Plugin {ep.name!r} ({dist_name} {version}) failed to load: {message}"
                    ) from exc
        self._load_configured(disabled, only, strict)

    def _load_configured(self, disabled: set[str], only: set[str] | None, strict: bool) -> None:
        """The providers declared in providers.toml (`apiedit.providers_file`), after the
        plugins: an entry is recorded like a plugin, with the file as its distribution."""
        path = providers_file(self._env)
        if not path.exists():  # the usual case: no module to import, no TOML parser
            return
        from .providers_file import load_entries

        for entry in load_entries(path, set(self._records)):
            if entry.id in self._records:  # an installed plugin's id: keep its record
                entry = attrs.evolve(entry, id=f"{entry.id} ({path.name})", plugin=None)
            if entry.id in disabled or (only is not None and entry.id not in only):
                self._records[entry.id] = PluginRecord(entry.id, str(path), None, "disabled")
                continue
            try:
                if entry.plugin is None:
                    raise PluginLoadError(entry.error or "invalid entry")
                self._register(entry.plugin, entry.id, str(path), None)
            except Exception as exc:
                message = redact(str(exc))
                self._records[entry.id] = PluginRecord(entry.id, str(path), None, "failed", message)
                log.warning("apiedit provider %r from %s was skipped: %s", entry.id, path, message)
                if strict:
                    raise PluginLoadError(f"Provider {entry.id!r} from {path}: {message}") from exc

    def register(self, plugin: object, name: str) -> ProviderInfo:
        """Register an in-process plugin (tests, notebooks); same checks as entry points."""
        with self._lock:
            self.load()
            if name in self._infos:
                raise PluginLoadError(f"A plugin named {name!r} is already registered.")
            return self._register(plugin, name, None, None)

    def unregister(self, name: str) -> None:
        with self._lock:
            plugin = self._pm.get_plugin(name)
            if plugin is not None:
                self._pm.unregister(plugin, name=name)
            self._records.pop(name, None)
            self._infos.pop(name, None)

    def _register(self, plugin: object, name: str, dist: str | None, version: str | None) -> ProviderInfo:
        self._pm.register(plugin, name=name)
        try:
            hooks = tuple(sorted(c.name for c in self._pm.get_hookcallers(plugin) or ()))
            unknown = [
                attr
                for attr in dir(plugin)
                if self._pm.parse_hookimpl_opts(plugin, attr) is not None
                and not hasattr(hookspecs, attr)
            ]
            if unknown:
                raise PluginLoadError(f"implements hooks apiedit does not define: {', '.join(unknown)}")
            missing = [h for h in REQUIRED_HOOKS if h not in hooks]
            if missing:
                raise PluginLoadError(f"lacks required hook(s): {', '.join(missing)}")
            info = self._call(name, "provider_info")
            if not isinstance(info, ProviderInfo):
                raise PluginLoadError(f"provider_info returned {type(info).__name__}, not ProviderInfo")
            if info.id != name:
                raise PluginLoadError(f"provider_info says id {info.id!r} but the entry point is {name!r}")
        except Exception:
            self._pm.unregister(plugin, name=name)
            raise
        self._infos[name] = info
        self._records[name] = PluginRecord(name, dist, version, "ok", None, hooks)
        return info

    # ---- introspection -------------------------------------------------------------------
    def records(self) -> list[PluginRecord]:
        self.load()
        return sorted(self._records.values(), key=lambda r: r.name)

    def plugin_files(self, provider: str) -> list[str]:
        """The Python files beside the module of the plugin that serves `provider` (its price
        table and model table among them), for callers that keep something computed from its
        answers on disk and must notice when the plugin changes (the ComfyUI node's stored schema
        data and price badge)."""
        import inspect
        from pathlib import Path

        self.get_provider(provider)
        plugin = self._pm.get_plugin(provider)
        try:
            where = Path(inspect.getfile(plugin if inspect.ismodule(plugin) else type(plugin)))
        except (TypeError, OSError):  # defined in a notebook or with no file
            return []
        return sorted(str(p) for p in where.parent.glob("*.py"))

    def failures(self) -> list[PluginRecord]:
        return [r for r in self.records() if r.status == "failed"]

    def providers(self) -> dict[str, ProviderInfo]:
        self.load()
        return dict(sorted(self._infos.items()))

    def default_provider(self) -> str | None:
        """The provider a fresh node or command starts with: the first installed built-in in
        `BUILTIN_PROVIDERS` order, else the first by id. Never a third-party plugin merely
        because its id sorts first."""
        installed = self.providers()
        for provider in BUILTIN_PROVIDERS:
            if provider in installed:
                return provider
        return next(iter(installed), None)

    def get_provider(self, provider: str) -> ProviderInfo:
        self.load()
        info = self._infos.get(provider)
        if info is None:
            record = self._records.get(provider)
            if record is not None and record.status != "ok":
                why = f"its plugin {record.status}" + (f": {record.error}" if record.error else "")
                raise UnknownProviderError(
                    f"Provider {provider!r} is not available ({why}). "
                    "Run `apiedit plugins` for details.",
                    provider=provider,
                )
            raise UnknownProviderError(
                f"Unknown provider {provider!r}{did_you_mean(provider, self._infos)} "
                f"(installed: {', '.join(sorted(self._infos)) or 'none'}).",
                hint=PLUGIN_LIST_HINT, hint_id="unknown_provider", provider=provider,
            )
        return info

    # ---- dispatch ------------------------------------------------------------------------
    def _call(self, provider: str, hook: str, **kwargs: Any) -> Any:
        """Call `hook` on exactly the plugin that owns `provider`."""
        for impl in getattr(self._pm.hook, hook).get_hookimpls():
            if impl.plugin_name == provider:
                if not self._trace:
                    return impl.function(*[kwargs[arg] for arg in impl.argnames])
                return self._traced(provider, hook, impl, kwargs)
        return None

    def _traced(self, provider: str, hook: str, impl: Any, kwargs: dict[str, Any]) -> Any:
        """One hook call, logged with its duration and outcome (APIEDIT_TRACE_PLUGINS=1)."""
        started = time.perf_counter()
        outcome = "ok"
        try:
            return impl.function(*[kwargs[arg] for arg in impl.argnames])
        except BaseException as exc:
            outcome = f"raised {type(exc).__name__}"
            raise
        finally:
            log.info("hook %s.%s %s in %.1f ms", provider, hook, outcome,
                     (time.perf_counter() - started) * 1000)

    def _guarded(self, provider: str, hook: str, **kwargs: Any) -> Any:
        """Like `_call`, but a plugin bug becomes a ProviderError naming the plugin (and, after
        a paid answer, saying it was billed). No error leaves with a chain that holds a key."""
        failure: ApiEditError
        try:
            return self._call(provider, hook, **kwargs)
        except ApiEditError as exc:
            if exc.provider is None:
                exc.provider = provider
            failure = exc
        except Exception as exc:
            if self._strict:
                raise  # plugin authors want the real traceback
            failure = self._plugin_bug(provider, hook, exc, kwargs.get("settings"))
        # Raised outside `except`, so that Python adds no context the scrub did not see.
        raise scrub_chain(failure)

    def _plugin_bug(self, provider: str, hook: str, exc: Exception, settings: Any) -> ProviderError:
        record = self._records.get(provider)
        where = f"{record.distribution} {record.version}" if record and record.distribution else provider
        paid = list(settings.paid) if isinstance(settings, ProviderSettings) else []
        billed, request_id = "", None
        if paid:
            request_id = paid[-1].request_id
            saved = _keep_answer(provider, paid[-1])
            billed = (
                f" This happened after {self.get_provider(provider).label} answered a paid "
                f"request (HTTP {paid[-1].status}), so it may have been billed"
                + (f" (request id {request_id})" if request_id else "")
                + "; do not simply retry."
                + (f" Its raw answer was saved to {saved}." if saved else "")
            )
        error = ProviderError(
            f"The {provider} plugin failed in {hook}: {type(exc).__name__}: {exc}.{billed} "
            f"This is a bug in {where}; please report it.",
            provider=provider,
            request_id=request_id,
        )
        error.__cause__ = exc
        return error

    def settings(
        self,
        provider: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        trust_base_url: bool = True,
        cancel: threading.Event | None = None,
        progress: Callable[[str], None] | None = None,
        read_timeout: float | None = None,
        offline: bool = False,
    ) -> ProviderSettings:
        """Resolve key, base URL and timeouts for one provider call.

        `offline=True` (a model list without refresh) tolerates a provider with no base URL.

        `trust_base_url=False` marks a `base_url` from a workflow: it is used only when its
        origin is one the user trusted (see `apiedit.keys.resolve_endpoint`).
        """
        info = self.get_provider(provider)
        if offline and not base_url and not _has_base_url(info):
            # A provider with no URL yet (a relay not configured) still lists its built-in
            # models; asking the network without a URL raises the clear error below.
            url, key = "", None
        else:
            url, key = resolve_endpoint(info, api_key=api_key, base_url=base_url,
                                        trusted=trust_base_url)
        return ProviderSettings(
            provider=provider,
            label=info.label,
            base_url=url,
            api_key=key,
            key_env_vars=info.key_env_vars,
            read_timeout=read_timeout or 300.0,
            cache_dir=cache_dir() / provider,
            cancel=cancel,
            progress=progress,
        )

    def list_models(
        self, provider: str, *, refresh: bool = False, api_key: str | None = None,
        base_url: str | None = None, trust_base_url: bool = True,
    ) -> list[ModelInfo]:
        settings = self.settings(provider, api_key=api_key, base_url=base_url,
                                 trust_base_url=trust_base_url, offline=not refresh)
        models = self._guarded(provider, "list_models", refresh=refresh, settings=settings)
        return list(models or [])

    def get_model(
        self, provider: str, model: str, *, allow_unlisted: bool = False, **options: Any
    ) -> ModelInfo:
        """The model's info from the list, else from its family, else unverified guesses.

        Any id is accepted: the provider is the judge of its own ids. `allow_unlisted` is
        accepted for compatibility and ignored (deprecated since 0.2).
        """
        settings = self.settings(provider, api_key=options.get("api_key"),
                                 base_url=options.get("base_url"),
                                 trust_base_url=options.get("trust_base_url", True))
        models = self._guarded(provider, "list_models", refresh=bool(options.get("refresh")),
                               settings=settings) or []
        return self._model_for(provider, model, models, settings)

    def _model_for(self, provider: str, model: str, models: list[ModelInfo],
                   settings: ProviderSettings) -> ModelInfo:
        wanted = model.strip()
        if not wanted:
            raise UnknownModelError(
                f"No model given for {self.get_provider(provider).label}. Run `apiedit models "
                f"{provider}` to see its models.", provider=provider)
        found = next((m for m in models if m.id == wanted), None)
        if found is None:
            found = self._guarded(provider, "model_info", model=wanted, settings=settings)
        if isinstance(found, ModelInfo):
            return found
        # Nothing describes the id: send it and let the provider judge; checks that need
        # limits are skipped, and the result says the capabilities are unverified.
        return ModelInfo(id=wanted, label=wanted, capabilities=~Capability.NONE,
                         max_input_images=16, max_n=10, listed=False, verified=False)

    def default_model(self, provider: str, **options: Any) -> ModelInfo | None:
        """The provider's default: the newest current model of its recommended family."""
        return choose_default(self.list_models(provider, **options))

    def list_status(self, provider: str, *, base_url: str | None = None) -> ListStatus:
        """When the provider's list was fetched, and whether the last refresh failed (why)."""
        return list_status(self.settings(provider, base_url=base_url))

    def supports_conversation(self, provider: str, model: str) -> bool:
        self.get_provider(provider)
        return bool(self._guarded(provider, "supports_conversation", model=model))

    def price(self, provider: str, request: EditRequest) -> Any:
        """The plugin's `Price` for one output image of `request`, or None (no hook, no row).

        No I/O: the plugin gets settings with no key and the default base URL, so it cannot
        make a paid call; a plugin bug still becomes a ProviderError naming the plugin."""
        info = self.get_provider(provider)
        settings = ProviderSettings(
            provider=provider, label=info.label, base_url=info.default_base_url,
            key_env_vars=info.key_env_vars, cache_dir=cache_dir() / provider,
        )
        return self._guarded(provider, "price", model=request.model.strip(), request=request,
                             settings=settings)

    def edit(
        self,
        provider: str,
        request: EditRequest,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        trust_base_url: bool = True,
        allow_unlisted: bool = False,
        cancel: threading.Event | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> EditResult:
        """Validate `request` against the model, call the owning plugin, check the result.

        Any model id is sent; `allow_unlisted` is accepted and ignored (deprecated since 0.2).
        """
        info = self.get_provider(provider)
        settings = self.settings(
            provider, api_key=api_key, base_url=base_url, trust_base_url=trust_base_url,
            cancel=cancel, progress=progress, read_timeout=request.timeout_s,
        )
        models = self._guarded(provider, "list_models", refresh=False, settings=settings) or []
        model = self._model_for(provider, request.model, models, settings)
        warnings = check_request(request, model, info)
        settings.check_cancelled()
        try:
            result = self._guarded(provider, "edit", request=request, settings=settings)
        except UnknownModelError as exc:
            known = [m.id for m in models if not m.retired]
            raise add_suggestions(exc, request.model, known, provider, info.label) from None
        if not isinstance(result, EditResult):
            raise ProviderError(
                f"The {provider} plugin returned {type(result).__name__} instead of an EditResult; "
                "this is a bug in the plugin.",
                provider=provider,
            )
        if not result.images or not all(isinstance(i, ImageData) and i.data for i in result.images):
            raise NoImageReturnedError(
                f"{info.label} returned no image." + (f" The model said: {result.text}" if result.text else ""),
                provider=provider,
                text=result.text,
                request_id=result.request_id,
            )
        if not model.verified:
            warnings.append(
                f"{info.label} model {model.id!r} is not in apiedit's tables: its limits are "
                "unverified, so only the provider checked this request."
            )
        # `model_verified` is in every result (and the node's info output): False means no table
        # describes the model, so its limits were not checked.
        return attrs.evolve(result, warnings=(*result.warnings, *warnings),
                            info={**result.info, "model_verified": model.verified})


def _has_base_url(info: ProviderInfo) -> bool:
    try:
        resolve_base_url(info)
    except ConfigurationError:
        return False
    return True


def _keep_answer(provider: str, answer: Any) -> str | None:
    """Save a paid answer no plugin could read (mode 0600), so that it is not lost."""
    if not answer.content:
        return None
    import time

    folder = cache_dir() / provider / "unread-answers"
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        tag = "".join(c for c in (answer.request_id or "answer") if c.isalnum() or c in "-_")[:64]
        path = folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{tag or 'answer'}.bin"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(answer.content)
    except OSError as exc:
        log.warning("The unread paid answer could not be saved: %s", exc)
        return None
    return str(path)


_default: Host | None = None
_default_lock = threading.Lock()


def default_host() -> Host:
    """The process-wide host used by the module-level API (created on first use)."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Host()
    return _default
