"""ComfyUI adapter for apiedit: the API Image Edit node, its routes and web extension.

The repository root's `__init__.py` re-exports `comfy_entrypoint` and `WEB_DIRECTORY` from
here, so there is exactly one apiedit host per ComfyUI process. Importing this module imports
no provider plugin and no torch. The nodes' schemas come from stored data when nothing changed
(`schema_data`); core's host and the plugins load in the background once the server is up.
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
    server = getattr(PromptServer, "instance", None)
    if server is not None:
        from .routes import register

        register(server.routes)
        _warm_up_after_start(server)


def _warm_up_after_start(server: Any) -> None:
    """Once the server is up (ComfyUI's start is over), load core and the plugins in the
    background: the schemas were built from stored data (`schema_data`), and the first queued
    prompt should not pay for the imports, nor a stale stored list outlive the start."""
    async def warm_up(_app: Any) -> None:
        from .schema_data import warm_up

        warm_up()

    try:
        server.app.on_startup.append(warm_up)
    except (AttributeError, RuntimeError) as exc:  # no aiohttp app, or it already started
        from apiedit.redact import get_logger

        get_logger("apiedit.comfy").debug("no warm-up after the server start: %s", exc)


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
