"""What the nodes' schemas are built from, kept on disk from one ComfyUI start to the next.

ComfyUI builds every node's schema while it loads the pack (and again for each /object_info).
The data behind it — the installed providers, each one's usable models, the knobs each model
honours, the price badge's table — comes from core's host and every plugin's model table:
computing it imports core's record types, pluggy and every plugin, 40-60 ms of each ComfyUI start
(benchmarks/README.md, figure 3). So it is stored in the cache folder (`comfy-schema-data.json`,
safe to delete), and a later start reads it and imports neither core's host nor any plugin,
as long as nothing it was computed from has changed. The fingerprint is deliberately wide (a
false alarm costs one computation, a missed change would show a stale model list):

- the distributions installed in each folder on `sys.path` as the pack was imported (the names
  of their `.dist-info` / `.egg-info` folders, which carry the version): installing, upgrading
  or removing a plugin, or anything a plugin needs, changes them (the folders' own times would
  not do: ComfyUI deletes its `temp` folder, on `sys.path`'s first folder, at every start);
- the files of this pack and of core, and the files beside each plugin's module (editable
  installs and local edits of a model or price table);
- each provider's stored model lists (`<cache>/<provider>/models-*.json`, written by
  `apiedit.modelcache`), the key file (base URLs and relays) and providers.toml;
- every `APIEDIT_*` environment variable except those that look like secrets (whose values are
  never written anywhere; no key changes what the node lists);
- the UTC day (`apiedit.modelpolicy.today`: models retire on dated days) and Python's version.

A plugin whose offline model list depends on something else (its own environment variable)
is corrected by the warm-up below (docs/writing-a-plugin.md says so to plugin authors).

The stored data serves only while this process has not loaded core's host. Once anything has
(a route, a queued prompt, a model-list refresh, or `warm_up`, which ComfyUI's server start
runs in the background), schemas are built from the live host again, and what the live host
says replaces the stored data whenever they differ. A start where a plugin failed to load
stores nothing (and drops what was stored), so its failure is logged at every start until it
is fixed.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import os
import sys
import threading
from collections.abc import Callable
from typing import Any

from apiedit.paths import cache_dir, key_file, providers_file
from apiedit.redact import get_logger

from .knobs import Knobs
from .stored import file_stat, write_json

log = get_logger("apiedit.comfy")

__all__ = ["FILE_NAME", "SchemaData", "badge_table", "current", "fingerprint", "warm_up"]

FORMAT = 1  # bump when the stored shape changes
FILE_NAME = "comfy-schema-data.json"
SECRET_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "AUTH")
_PACK_DIR = os.path.dirname(os.path.abspath(__file__))
_START_PATH = tuple(sys.path)  # as ComfyUI loads the pack; later entries are other packs' business


@dataclasses.dataclass(frozen=True)
class SchemaData:
    """The live answers the node's schema needs (see `apiedit_comfy.catalog`)."""

    providers: list[str]  # installed providers, the default first (`catalog.provider_ids`)
    tooltip: str  # the provider input's tooltip, naming plugins that failed to load
    usable: dict[str, list[str]]  # each provider's usable model ids, its default first
    knobs: dict[str, Knobs]  # what each listed model honours (`knobs.model_knobs`)

    def model_ids(self) -> list[str]:
        """Every provider's usable ids, the first provider's default first (`all_model_ids`)."""
        return list(dict.fromkeys(m for p in self.providers for m in self.usable.get(p, ())))

    def to_json(self) -> dict[str, Any]:
        """As it reads back from the file (lists, not tuples), so the two compare equal."""
        return {"providers": list(self.providers), "tooltip": self.tooltip,
                "usable": {p: list(ids) for p, ids in self.usable.items()},
                "knobs": {k: v.to_json() for k, v in self.knobs.items()}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SchemaData:
        return cls(list(data["providers"]), str(data["tooltip"]),
                   {p: list(ids) for p, ids in data["usable"].items()},
                   {k: Knobs.from_json(v) for k, v in data["knobs"].items()})


def _compute() -> SchemaData:
    """The data from the live host (the node's model catalog)."""
    from . import catalog
    from .knobs import model_knobs

    providers = catalog.provider_ids()
    usable: dict[str, list[str]] = {}
    listed: list[tuple[str, Any]] = []
    for provider in providers:
        by_id = {m.id: m for m in catalog.models(provider)}
        usable[provider] = catalog.usable_model_ids(provider)
        listed.extend((i, by_id.get(i)) for i in usable[provider])
    return SchemaData(providers, catalog.provider_tooltip(), usable, model_knobs(listed))


def _plugins(providers: list[str]) -> tuple[list[str], bool]:
    """The folders of the plugins serving `providers`, and whether every plugin loaded."""
    from apiedit.host import default_host

    host = default_host()
    folders = sorted({os.path.dirname(f) for p in providers for f in host.plugin_files(p)})
    return folders, not host.failures()


# ---- the fingerprint ----------------------------------------------------------------------

def _files(folder: str, suffix: str = "", prefix: str = "") -> list[list[Any]]:
    """Size and time of the folder's files (not its subfolders: `__pycache__` comes and goes)."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return []
    return [file_stat(e.path) for e in entries
            if e.name.endswith(suffix) and e.name.startswith(prefix) and e.is_file()]


def _code(folder: str) -> list[list[Any]]:
    """The package's Python files, its subpackages' too (core's protocols)."""
    found: list[list[Any]] = []
    for root, dirs, _names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        found.extend(_files(root, ".py"))
    return found


def _distributions(folder: str) -> list[str]:
    """The distributions a `sys.path` folder holds, as `importlib.metadata` finds them."""
    try:
        return sorted(e.name for e in os.scandir(folder) if e.name.endswith((".dist-info", ".egg-info")))
    except OSError:
        return []


def _settings_env() -> list[tuple[str, str]]:
    return sorted((k, v) for k, v in os.environ.items()
                  if k.startswith("APIEDIT_") and not any(w in k.upper() for w in SECRET_WORDS))


def _utc_day() -> str:
    return datetime.datetime.now(datetime.timezone.utc).date().isoformat()  # modelpolicy.today


def fingerprint(plugin_folders: list[str], providers: list[str]) -> str:
    """A digest of everything the stored data was computed from (see the module docstring)."""
    import apiedit

    cache = str(cache_dir())
    parts = [
        FORMAT, sys.version, _utc_day(), _settings_env(),
        [[p, _distributions(p or os.curdir)] for p in _START_PATH],
        _code(os.path.dirname(os.path.abspath(apiedit.__file__))), _code(_PACK_DIR),
        [[folder, _files(folder)] for folder in plugin_folders],
        [[p, _files(os.path.join(cache, p), ".json", "models-")] for p in providers],
        file_stat(str(key_file())), file_stat(str(providers_file())),
    ]
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()


# ---- the stored file ----------------------------------------------------------------------

_lock = threading.RLock()
_stored: dict[str, Any] | None = None  # the file as read (once per process) or last written
_read = False


def _path() -> str:
    return os.path.join(cache_dir(), FILE_NAME)


def _valid_stored() -> dict[str, Any] | None:
    """The stored file when its fingerprint still matches (read and checked once)."""
    global _stored, _read
    with _lock:
        if not _read:
            _read = True
            try:
                with open(_path(), encoding="utf-8") as f:
                    found = json.load(f)
                schema = found["parts"]["schema"]
                SchemaData.from_json(schema)  # well-formed, or not used
                if (found.get("format") == FORMAT
                        and found.get("key") == fingerprint(found["plugin_folders"], schema["providers"])):
                    _stored = found
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                _stored = None  # missing, unreadable or foreign: computed again, never trusted
        return _stored


def _live() -> bool:
    """Whether this process has loaded core's host: from then on, it is the source."""
    return "apiedit.host" in sys.modules


def _write(found: dict[str, Any]) -> None:
    write_json(_path(), found, "the node's schema data")


def _forget_file() -> None:
    try:
        os.unlink(_path())
    except OSError:
        pass


_confirmed: dict[str, Any] | None = None  # the data this process last stored or found stored


def _remember(data: SchemaData) -> None:
    """Store the live data for the next start, if it differs from what is stored (checked
    once per different answer: /object_info builds the schemas again and again)."""
    global _stored, _read, _confirmed
    schema = data.to_json()
    with _lock:
        if schema == _confirmed:
            return
        _read = True
        folders, loaded = _plugins(data.providers)
        _confirmed = schema
        if not loaded:
            if _stored is not None or os.path.exists(_path()):
                _forget_file()
            _stored = None
            return
        key = fingerprint(folders, data.providers)
        if _stored is not None and _stored["key"] == key and _stored["parts"]["schema"] == schema:
            return
        # the badge's table is stored again by the next schema (`badge_table`): one stored
        # beside other data was computed for other model lists
        _stored = {"format": FORMAT, "key": key, "plugin_folders": folders, "parts": {"schema": schema}}
        _write(_stored)


def current(*, live: bool = False) -> SchemaData:
    """The data for the nodes' schemas: stored while this process has not loaded core's host
    (and the fingerprint matches), else from the live host (then stored)."""
    if not live and not _live():
        found = _valid_stored()
        if found is not None:
            return SchemaData.from_json(found["parts"]["schema"])
    data = _compute()
    try:
        _remember(data)
    except Exception as exc:  # storing is an optimisation: never break /object_info
        log.info("the node's schema data was not stored: %s", exc)
    return data


def badge_table(inputs: Any, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The price badge's table for these inputs (model lists, options): stored beside the
    schema data while that serves, else `badge_store.remembered` (then stored here too)."""
    inputs = json.loads(json.dumps(inputs, sort_keys=True))  # as it reads back from the file
    if not _live():
        found = _valid_stored()
        badge = (found or {}).get("parts", {}).get("badge")
        if isinstance(badge, dict) and badge.get("inputs") == inputs and isinstance(badge.get("table"), dict):
            return badge["table"]
    from . import badge_store

    models, options = inputs[0], inputs[1:]
    table = badge_store.remembered(models, options, compute)
    with _lock:
        if _stored is not None and _stored["parts"].get("badge", {}).get("inputs") != inputs:
            _stored["parts"]["badge"] = {"inputs": inputs, "table": table}
            _write(_stored)
    return table


# What every node run needs whatever the provider: core's request path and the run's price
# estimate. A plugin's own wire code still loads with the first call that needs it.
CALL_PATH = ("apiedit.http", "apiedit.transport", "apiedit.images", "apiedit.errormap",
             "apiedit.limits", "apiedit.protocols.jsonbody", "apiedit.pricing")


def warm_up() -> threading.Thread:
    """Load core's host and the plugins in a background thread, and compare their answers with
    the stored data the schemas were built from (replacing it if they differ), then import
    `CALL_PATH` and Pillow's format plugins: ComfyUI's server start runs this, so the first
    queued prompt does not wait for them, and a stale stored list lives only until then."""
    def run() -> None:
        try:
            served = None if _live() else _valid_stored()
            data = current(live=True)
            if served is not None and served["parts"]["schema"] != data.to_json():
                log.info("API Image Edit: the installed providers or model lists changed since "
                         "the stored schema data was written; reload the page to see them.")
            import importlib

            for name in CALL_PATH:
                importlib.import_module(name)
            from PIL import Image

            Image.preinit()  # the formats every answer is opened with (ComfyUI has Pillow)
        except Exception as exc:  # never break the server start
            log.warning("API Image Edit could not load its providers: %s", exc)

    thread = threading.Thread(target=run, name="apiedit-warm-up", daemon=True)
    thread.start()
    return thread
