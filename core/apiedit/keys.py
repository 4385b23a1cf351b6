"""API keys and base URLs: explicit argument, then environment, then the key file.

The key file is JSON in the config directory, created with mode 0600 inside a 0700 directory,
and written atomically so a crash never leaves half a file.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .errors import ConfigurationError
from .paths import config_dir
from .redact import register_secret
from .types import ProviderInfo

__all__ = [
    "delete_key",
    "key_file",
    "key_source",
    "resolve_base_url",
    "resolve_key",
    "store_base_url",
    "store_key",
]

KEY_FILE_NAME = "keys.json"


def key_file() -> Path:
    return config_dir() / KEY_FILE_NAME


def _read() -> dict[str, dict[str, Any]]:
    path = key_file()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigurationError(
            f"The key file {path} could not be read ({type(exc).__name__}). "
            "Fix or delete it, then set the key again with `apiedit keys set PROVIDER`."
        ) from None
    return data if isinstance(data, dict) else {}


def _write(data: dict[str, dict[str, Any]]) -> None:
    path = key_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".keys-", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, sort_keys=True)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    os.chmod(path, 0o600)


def _entry(provider: str) -> dict[str, Any]:
    entry = _read().get(provider)
    return entry if isinstance(entry, dict) else {}


def store_key(provider: str, api_key: str) -> Path:
    """Save a key for `provider` in the key file (mode 0600) and return the file's path."""
    api_key = api_key.strip()
    if not api_key:
        raise ConfigurationError("The key is empty; nothing was stored.")
    register_secret(api_key)
    data = _read()
    data.setdefault(provider, {})["api_key"] = api_key
    _write(data)
    return key_file()


def delete_key(provider: str) -> bool:
    """Remove a stored key; True if there was one."""
    data = _read()
    if "api_key" not in data.get(provider, {}):
        return False
    del data[provider]["api_key"]
    if not data[provider]:
        del data[provider]
    _write(data)
    return True


def store_base_url(provider: str, base_url: str | None) -> None:
    """Save (or with None, clear) a base-URL override for `provider`."""
    data = _read()
    entry = data.setdefault(provider, {})
    if base_url:
        entry["base_url"] = base_url.rstrip("/")
    else:
        entry.pop("base_url", None)
    if not entry:
        del data[provider]
    _write(data)


def resolve_key(info: ProviderInfo, explicit: str | None = None) -> str | None:
    """The key for a provider, or None when none is configured anywhere."""
    for candidate in (explicit, *(os.environ.get(v) for v in info.key_env_vars)):
        if candidate and candidate.strip():
            register_secret(candidate.strip())
            return candidate.strip()
    stored = _entry(info.id).get("api_key")
    if isinstance(stored, str) and stored.strip():
        register_secret(stored.strip())
        return stored.strip()
    return None


def key_source(info: ProviderInfo) -> str | None:
    """Where the key would come from ('env:NAME', 'file') without revealing it; None if unset."""
    for var in info.key_env_vars:
        if os.environ.get(var, "").strip():
            return f"env:{var}"
    return "file" if _entry(info.id).get("api_key") else None


def resolve_base_url(info: ProviderInfo, explicit: str | None = None) -> str:
    """Explicit override, then `APIEDIT_<ID>_BASE_URL`, then the key file, then the default."""
    for candidate in (
        explicit,
        os.environ.get(info.base_url_env_var),
        _entry(info.id).get("base_url"),
        info.default_base_url,
    ):
        if isinstance(candidate, str) and candidate.strip():
            url = candidate.strip().rstrip("/")
            if not url.startswith(("http://", "https://")):
                raise ConfigurationError(
                    f"The base URL {url!r} for {info.label} must start with http:// or https://."
                )
            return url
    raise ConfigurationError(
        f"{info.label} has no base URL. Set {info.base_url_env_var} or pass base_url."
    )
