"""HTTP routes of the pack: model lists per provider, plugin status, and write-only key storage.

`GET /comfy-apiedit/plugins` lists every plugin record (name, distribution, version, status
ok/failed/disabled, redacted load error, hooks), like `apiedit plugins --json`.

Keys can be set or removed but never read back: `GET /comfy-apiedit/keys` answers only
"set / not set" per provider, where a set key comes from (an environment variable's name, or
"file"), and the trusted base URLs and relays that have a key of their own. The key file lives in a directory no ComfyUI route serves. The key routes refuse
requests a page on another site could make the browser send (`origin_guard`).

Prefix: ComfyUI serves every route also under `/api`, and the frontend's `api.fetchApi` adds that
`/api` unless the path already *starts with the text* `/api` (frontend 1.49: `startsWith("/api")`),
so `/apiedit/...` was called bare and broke behind a proxy that forwards only `/api/*`.
`/comfy-apiedit` does not start with `/api`: the frontend calls `/api/comfy-apiedit/...`.
The old `/apiedit/...` paths still answer, for front-ends saved before the change.
"""

from __future__ import annotations

import asyncio
from typing import Any

from apiedit.errors import ApiEditError
from apiedit.origins import display_url
from apiedit.redact import get_logger, redact

from .origin_guard import cross_origin_refusal

log = get_logger("apiedit.comfy")
PREFIX = "/comfy-apiedit"
LEGACY_PREFIXES = ("/apiedit",)


def _core() -> tuple[Any, Any, Any]:
    """Core's host, key store and the node's model catalog, imported by the first request:
    the routes are registered during ComfyUI's start, which loads none of them
    (`schema_data`)."""
    from apiedit import keys
    from apiedit.host import default_host

    from . import catalog

    return default_host(), keys, catalog


def _model_rows(provider: str, refresh: bool) -> list[dict[str, Any]]:
    _host, _keys, catalog = _core()
    return [
        {"id": m.id, "label": m.label or m.id, "retired": m.retired,
         "max_input_images": m.max_input_images, "sizes": list(m.sizes),
         "aspect_ratios": list(m.aspect_ratios), "resolutions": list(m.resolutions),
         "available": m.available, "verified": m.verified, "replacement": m.replacement,
         "deprecated_on": m.deprecated_on, "shutdown_on": m.shutdown_on}
        for m in catalog.models(provider, refresh=refresh)
    ]


def register(routes: Any) -> None:
    """Add the pack's routes to ComfyUI's route table (must run at import time)."""
    from aiohttp import web

    async def providers(_request: web.Request) -> web.Response:
        host, keys, _catalog = _core()
        rows = [{"id": p.id, "label": p.label, "key": keys.key_source(p) is not None or not p.needs_key}
                for p in host.providers().values()]
        failures = [{"name": r.name, "error": r.error} for r in host.failures()]
        return web.json_response({"providers": rows, "failures": failures})

    async def plugins(_request: web.Request) -> web.Response:
        """Every plugin record, as `apiedit plugins --json` prints it (errors are redacted at
        load; no keys or settings are read here)."""
        host, _keys, _catalog = _core()
        return web.json_response([r.to_json() for r in host.records()])

    async def models(request: web.Request) -> web.Response:
        _host, _keys, catalog = _core()
        provider = request.query.get("provider", "")
        refresh = request.query.get("refresh") in ("1", "true")
        if provider not in catalog.provider_ids():
            return web.json_response({"error": f"unknown provider {provider!r}"}, status=404)
        if not refresh:
            catalog.refresh_if_stale(provider)  # answers now; the fresh list serves the next call
        rows = await asyncio.get_running_loop().run_in_executor(None, _model_rows, provider, refresh)
        # a failed refresh keeps the stored list and says why (the refresh button shows it)
        error = catalog.refresh_error(provider) if refresh else None
        return web.json_response({"provider": provider, "models": rows, "error": error,
                                  "stale": error is not None,
                                  "default": catalog.default_model_id(provider)})

    def refused(request: web.Request) -> web.Response | None:
        reason = cross_origin_refusal(request)
        if reason is None:
            return None
        log.warning("key route refused: %s", reason)
        return web.json_response({"error": f"Refused: {reason}."}, status=403)

    async def key_status(request: web.Request) -> web.Response:
        if (refusal := refused(request)) is not None:
            return refusal
        host, keys, _catalog = _core()
        # `source` says where the key comes from ("env:NAME" or "file"), never what it is: the
        # key dialog shows that an environment variable wins over a key saved there.
        status = {pid: {"set": keys.key_source(info) is not None, "source": keys.key_source(info),
                        "label": info.label, "needs_key": info.needs_key,
                        "trusted_base_urls": [display_url(u) for u in keys.trusted_base_urls(pid)],
                        "relays": [display_url(u) for u in keys.relay_keys(pid)]}
                  for pid, info in host.providers().items()}
        return web.json_response(status)

    async def set_key(request: web.Request) -> web.Response:
        """{provider, api_key, base_url?}: an empty key removes it; base_url = a relay's key."""
        if (refusal := refused(request)) is not None:
            return refusal

        def apply(body: dict[str, Any]) -> dict[str, Any]:
            host, keys, _catalog = _core()
            provider = str(body.get("provider", ""))
            host.get_provider(provider)
            key = str(body.get("api_key", ""))
            relay = str(body.get("base_url") or "").strip() or None
            if key:
                keys.store_key(provider, key, base_url=relay)
            else:
                keys.delete_key(provider, base_url=relay)
            return {"provider": provider, "set": bool(key)}

        return await _answer(request, apply)

    async def trust(request: web.Request) -> web.Response:
        """{provider, base_url, trusted}: let (or stop letting) workflows use this base URL."""
        if (refusal := refused(request)) is not None:
            return refusal

        def apply(body: dict[str, Any]) -> dict[str, Any]:
            host, keys, _catalog = _core()
            provider = str(body.get("provider", ""))
            host.get_provider(provider)
            url = str(body.get("base_url", ""))
            if body.get("trusted", True):
                return {"provider": provider, "trusted": keys.trust_base_url(provider, url)}
            return {"provider": provider, "untrusted": keys.untrust_base_url(provider, url)}

        return await _answer(request, apply)

    for prefix in (PREFIX, *LEGACY_PREFIXES):
        routes.get(f"{prefix}/providers")(providers)
        routes.get(f"{prefix}/plugins")(plugins)
        routes.get(f"{prefix}/models")(models)
        routes.get(f"{prefix}/keys")(key_status)
        routes.post(f"{prefix}/keys")(set_key)
        routes.post(f"{prefix}/keys/trust")(trust)


async def _answer(request: Any, apply: Any) -> Any:
    """Run a key-file change from a JSON body; typed errors become a 400 with their text."""
    from aiohttp import web

    try:
        body = await request.json()
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        return web.json_response(apply(body))
    except ApiEditError as exc:
        return web.json_response({"error": str(exc)}, status=400)
    except Exception as exc:
        log.warning("key route: %s", exc)
        return web.json_response({"error": redact(f"bad request: {type(exc).__name__}")}, status=400)
