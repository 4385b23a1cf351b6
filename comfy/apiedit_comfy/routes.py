"""HTTP routes of the pack: model lists per provider, and write-only key storage.

Keys can be set or removed but never read back: `GET /comfy-apiedit/keys` answers only
"set / not set" per provider. The key file lives in a directory no ComfyUI route serves.

Prefix: ComfyUI serves every route also under `/api`, and the frontend's `api.fetchApi` adds that
`/api` unless the path already *starts with the text* `/api` (frontend 1.49: `startsWith("/api")`),
so `/apiedit/...` was called bare and broke behind a proxy that forwards only `/api/*`.
`/comfy-apiedit` does not start with `/api`: the frontend calls `/api/comfy-apiedit/...`.
The old `/apiedit/...` paths still answer, for front-ends saved before the change.
"""

from __future__ import annotations

import asyncio
from typing import Any

from apiedit import keys
from apiedit.errors import ApiEditError
from apiedit.host import default_host
from apiedit.redact import get_logger, redact

from . import catalog

log = get_logger("apiedit.comfy")
PREFIX = "/comfy-apiedit"
LEGACY_PREFIXES = ("/apiedit",)


def _model_rows(provider: str, refresh: bool) -> list[dict[str, Any]]:
    return [
        {"id": m.id, "label": m.label or m.id, "retired": m.retired,
         "max_input_images": m.max_input_images, "sizes": list(m.sizes),
         "aspect_ratios": list(m.aspect_ratios), "resolutions": list(m.resolutions)}
        for m in catalog.models(provider, refresh=refresh)
    ]


def register(routes: Any) -> None:
    """Add the pack's routes to ComfyUI's route table (must run at import time)."""
    from aiohttp import web

    async def providers(_request: web.Request) -> web.Response:
        host = default_host()
        rows = [{"id": p.id, "label": p.label, "key": keys.key_source(p) is not None or not p.needs_key}
                for p in host.providers().values()]
        failures = [{"name": r.name, "error": r.error} for r in host.failures()]
        return web.json_response({"providers": rows, "failures": failures})

    async def models(request: web.Request) -> web.Response:
        provider = request.query.get("provider", "")
        refresh = request.query.get("refresh") in ("1", "true")
        if provider not in catalog.provider_ids():
            return web.json_response({"error": f"unknown provider {provider!r}"}, status=404)
        if not refresh:
            catalog.refresh_if_stale(provider)  # answers now; the fresh list serves the next call
        rows = await asyncio.get_running_loop().run_in_executor(None, _model_rows, provider, refresh)
        return web.json_response({"provider": provider, "models": rows})

    async def key_status(_request: web.Request) -> web.Response:
        status = {pid: {"set": keys.key_source(info) is not None}
                  for pid, info in default_host().providers().items()}
        return web.json_response(status)

    async def set_key(request: web.Request) -> web.Response:
        try:
            body = await request.json()
            provider = str(body.get("provider", ""))
            default_host().get_provider(provider)
            key = str(body.get("api_key", ""))
            if key:
                keys.store_key(provider, key)
            else:
                keys.delete_key(provider)
        except ApiEditError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        except Exception as exc:
            log.warning("key route: %s", exc)
            return web.json_response({"error": redact(f"bad request: {type(exc).__name__}")}, status=400)
        return web.json_response({"provider": provider, "set": bool(key)})

    for prefix in (PREFIX, *LEGACY_PREFIXES):
        routes.get(f"{prefix}/providers")(providers)
        routes.get(f"{prefix}/models")(models)
        routes.get(f"{prefix}/keys")(key_status)
        routes.post(f"{prefix}/keys")(set_key)
