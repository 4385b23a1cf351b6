"""Point apiedit's key, cache and conversation directories into ComfyUI's user directory.

Keys go to a *system* user directory (`<user>/__apiedit`), which ComfyUI serves on no route;
on ComfyUI versions without that API, to `<user>/__apiedit` all the same, since ComfyUI's
user manager refuses `__`-prefixed user names. Explicit `APIEDIT_*_DIR` variables win.
"""

from __future__ import annotations

import os
from pathlib import Path

from apiedit.redact import get_logger

log = get_logger("apiedit.comfy")


def private_directory() -> Path | None:
    try:
        import folder_paths  # ComfyUI's module; absent outside ComfyUI
    except ImportError:
        return None
    getter = getattr(folder_paths, "get_system_user_directory", None)
    if getter is not None:
        return Path(getter("apiedit"))
    return Path(folder_paths.get_user_directory()) / "__apiedit"


def configure_directories() -> None:
    base = private_directory()
    if base is None:
        return
    for var, sub in (("APIEDIT_CONFIG_DIR", "config"), ("APIEDIT_CACHE_DIR", "cache"),
                     ("APIEDIT_DATA_DIR", "data")):
        os.environ.setdefault(var, str(base / sub))
    log.debug("apiedit directories under %s", base)
