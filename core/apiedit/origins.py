"""Origins (scheme, host, port) of URLs: the unit a key is scoped to.

A key may go only to an origin the user chose (see `apiedit.keys.resolve_endpoint`), and an
HTTP redirect to another origin drops every credential (`apiedit.http.ScopedSession`).
Paths never matter: `https://relay.example/v1` and `https://relay.example/openai` are one
origin, which is also the unit browsers use for the same decision.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from .errors import ConfigurationError

__all__ = ["display_url", "origin_of", "same_origin"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> str:
    """`scheme://host:port`, lower-cased, default port spelled out, no user info or path."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise ConfigurationError(f"{display_url(url)!r} is not a valid URL ({exc}).") from None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if any(c.isspace() or ord(c) < 0x21 for c in host):
        raise ConfigurationError(
            f"{display_url(url)!r} has a space or control character in its host name."
        )
    if scheme not in _DEFAULT_PORTS or not host:
        raise ConfigurationError(
            f"{display_url(url)!r} is not an http:// or https:// URL with a host name."
        )
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return f"{scheme}://{host}:{port or _DEFAULT_PORTS[scheme]}"


def same_origin(a: str, b: str) -> bool:
    try:
        return origin_of(a) == origin_of(b)
    except ConfigurationError:
        return False


def display_url(url: str) -> str:
    """The URL without any `user:password@` part, safe to show in messages and logs."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return "<unparsable URL>"
    if "@" not in parts.netloc:
        return url.strip()
    return parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]).geturl()
