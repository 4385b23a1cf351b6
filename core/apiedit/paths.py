"""Where apiedit keeps keys, caches and conversations; each overridable by an env var.

ComfyUI points these at its own user directory (outside every served path).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

__all__ = ["cache_dir", "config_dir", "data_dir"]

_APP = "apiedit"


def _dir(env_var: str, default: str) -> Path:
    value = os.environ.get(env_var)
    return Path(value).expanduser() if value else Path(default)


def config_dir() -> Path:
    """Keys and per-provider settings (`APIEDIT_CONFIG_DIR`)."""
    return _dir("APIEDIT_CONFIG_DIR", platformdirs.user_config_dir(_APP))


def cache_dir() -> Path:
    """Model-list caches; safe to delete (`APIEDIT_CACHE_DIR`)."""
    return _dir("APIEDIT_CACHE_DIR", platformdirs.user_cache_dir(_APP))


def data_dir() -> Path:
    """Conversations and their images (`APIEDIT_DATA_DIR`)."""
    return _dir("APIEDIT_DATA_DIR", platformdirs.user_data_dir(_APP))
