"""Where apiedit keeps keys, caches and conversations; each overridable by an env var.

ComfyUI points these at its own user directory (outside every served path).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from pathlib import Path

__all__ = ["KEY_FILE_NAME", "PROVIDERS_FILE_ENV", "cache_dir", "config_dir", "data_dir", "key_file",
           "providers_file"]

_APP = "apiedit"
PROVIDERS_FILE_ENV = "APIEDIT_PROVIDERS_FILE"
KEY_FILE_NAME = "keys.json"


def _dir(env_var: str, kind: str) -> Path:
    """The env var's folder, else the platform's; platformdirs is imported only then (ComfyUI
    sets all three variables, so its start never pays for it)."""
    value = os.environ.get(env_var)
    if value:
        return _path(value)
    import platformdirs

    return Path(getattr(platformdirs, f"user_{kind}_dir")(_APP))


@functools.lru_cache(maxsize=32)
def _path(value: str) -> Path:
    """The folder an env var names; cached because settings are built on every call and price
    estimate (thousands while ComfyUI builds the price badge), and Path parsing shows there."""
    return Path(value).expanduser()


def config_dir() -> Path:
    """Keys and per-provider settings (`APIEDIT_CONFIG_DIR`)."""
    return _dir("APIEDIT_CONFIG_DIR", "config")


def cache_dir() -> Path:
    """Model-list caches; safe to delete (`APIEDIT_CACHE_DIR`)."""
    return _dir("APIEDIT_CACHE_DIR", "cache")


def key_file() -> Path:
    """The key file (`apiedit.keys` reads and writes it; mode 0600)."""
    return config_dir() / KEY_FILE_NAME


def data_dir() -> Path:
    """Conversations and their images (`APIEDIT_DATA_DIR`)."""
    return _dir("APIEDIT_DATA_DIR", "data")


def providers_file(env: Mapping[str, str] | None = None) -> Path:
    """Where providers.toml is read from: `APIEDIT_PROVIDERS_FILE`, else the config directory."""
    value = (os.environ if env is None else env).get(PROVIDERS_FILE_ENV)
    return Path(value).expanduser() if value else config_dir() / "providers.toml"
