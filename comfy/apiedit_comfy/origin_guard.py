"""Refuse key-route requests that a web page on another site made the user's browser send.

ComfyUI's own origin check (0.3.x `create_origin_only_middleware`) applies only when the
server listens on a loopback host and is switched off by `--enable-cors-header`; a page on
any site can otherwise POST a JSON body as `text/plain` (no CORS preflight) to
`http://127.0.0.1:8188/...`. The key routes therefore check, on every ComfyUI version:

* `Sec-Fetch-Site`, when the browser sends it, is `same-origin` or `none`;
* `Origin`, when sent, names the same host and port as `Host` (`null` is refused);
* `Host` is an IP address or `localhost`, or a name listed in `APIEDIT_ALLOWED_HOSTS`
  (comma-separated), so DNS rebinding (evil.example resolving to 127.0.0.1, where Origin and
  Host agree) cannot pass;
* a POST says `Content-Type: application/json`, which a cross-site page cannot send without
  a preflight that ComfyUI does not grant by default.

Requests with neither `Origin` nor `Sec-Fetch-Site` come from programs, not pages, and pass.
"""

from __future__ import annotations

import ipaddress
import os
from typing import Any
from urllib.parse import urlsplit

__all__ = ["ALLOWED_HOSTS_ENV", "cross_origin_refusal"]

ALLOWED_HOSTS_ENV = "APIEDIT_ALLOWED_HOSTS"


def _host_name(host_header: str) -> str:
    return (urlsplit(f"//{host_header}").hostname or "").lower().rstrip(".")


def _trusted_host_name(name: str) -> bool:
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        allowed = os.environ.get(ALLOWED_HOSTS_ENV, "")
        return name in {h.strip().lower() for h in allowed.split(",") if h.strip()}


def cross_origin_refusal(request: Any) -> str | None:
    """Why this request must be refused, or None when it is same-origin (or not a browser's)."""
    headers = request.headers
    fetch_site = headers.get("Sec-Fetch-Site", "").lower()
    origin = headers.get("Origin")
    if fetch_site and fetch_site not in ("same-origin", "none"):
        return f"a {fetch_site} request (from another web page) may not change API keys"
    host = headers.get("Host", "")
    if origin is not None:
        parts = urlsplit(origin)
        if origin == "null" or not parts.netloc or parts.netloc.lower() != host.lower():
            return f"a request from {origin!r} (another web page) may not change API keys"
    if origin is not None or fetch_site:
        name = _host_name(host)
        if not _trusted_host_name(name):
            return (f"the key routes answer pages served as an IP address or localhost; to use "
                    f"the host name {name!r}, add it to {ALLOWED_HOSTS_ENV} on the ComfyUI server")
    if request.method == "POST" and request.content_type != "application/json":
        return "the key routes take only Content-Type: application/json"
    return None
