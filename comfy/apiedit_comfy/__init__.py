"""ComfyUI adapter for apiedit: the API Image Edit node, its routes and web extension.

The repository root's `__init__.py` re-exports `comfy_entrypoint` and `WEB_DIRECTORY` from
here, so there is exactly one apiedit host per ComfyUI process. Importing this module imports
no provider plugin and no torch; plugins load on the first `/object_info`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .config import configure_directories

WEB_DIRECTORY = str(Path(__file__).with_name("web"))

configure_directories()


def _register_routes() -> None:
    try:
        from server import PromptServer
    except ImportError:  # imported outside a ComfyUI server (tests, tools)
        return
    if getattr(PromptServer, "instance", None) is not None:
        from .routes import register

        register(PromptServer.instance.routes)


_register_routes()


async def comfy_entrypoint() -> Any:
    from comfy_api.latest import ComfyExtension

    from .legacy import APIImageEditNode
    from .node import APIImageEdit

    class APIEditExtension(ComfyExtension):
        async def get_node_list(self) -> list[type]:
            return [APIImageEdit, APIImageEditNode]

    return APIEditExtension()


__all__ = ["WEB_DIRECTORY", "comfy_entrypoint"]
