"""API keys and base URLs: explicit argument, then environment, then the key file.

The key file is JSON in the config directory, created with mode 0600 inside a 0700 directory,
and written atomically so a crash never leaves half a file.

Keys are scoped to origins (scheme, host, port; see `resolve_endpoint`): the provider's key
goes only to the provider's default base URL or to one the user configured (environment,
key file, `apiedit keys trust`, their own code or CLI flag); a relay's key, stored with
`store_key(provider, key, base_url=...)`, goes only to that relay. A base URL that arrives
from a workflow is checked against those origins before anything is sent.
"""

from __future__ import annotations

import json
import os
import tempfile
import unicodedata
from pathlib import Path
from typing import Any

from .errors import ConfigurationError, UntrustedBaseURLError
from .origins import display_url, origin_of
from .paths import key_file
from .redact import get_logger, register_secret
from .types import ProviderInfo

__all__ = [
    "check_key",
    "delete_key",
    "key_file",
    "key_source",
    "relay_keys",
    "resolve_base_url",
    "resolve_endpoint",
    "resolve_key",
    "store_base_url",
    "store_key",
    "trust_base_url",
    "trusted_base_urls",
    "untrust_base_url",
]

log = get_logger("apiedit.keys")


def check_key(key: str, label: str, provider: str) -> str:
    """`key` (stripped), or a ConfigurationError naming the first character no HTTP header
    may carry (control, whitespace, zero-width, beyond Latin-1) by position, never the key."""
    key = key.strip()
    for position, char in enumerate(key, start=1):
        category = unicodedata.category(char)
        if category[0] in "CZ" or ord(char) > 0xFF or char.isspace():
            name = unicodedata.name(char, "a control character")
            raise ConfigurationError(
                f"The {label} API key has an invalid character at position {position} of "
                f"{len(key)} (U+{ord(char):04X} {name}); keys are plain letters, digits and "
                "punctuation, so it was probably pasted with something extra. Nothing was sent. "
                f"Copy the key again and set it with `apiedit keys set {provider}` (or fix the "
                "environment variable or the node's key).",
                provider=provider,
            )
    return key


def _secure(path: Path, *, writing: bool = False) -> None:
    """Keep the key file 0600 and its folder 0700, checked on every read and write.

    Group- or world-readable ones are fixed with a warning (an old apiedit, a copy, a
    umask). A world-writable folder is refused for writing: anyone could swap the file.
    """
    if os.name != "posix":
        return
    folder = path.parent
    try:
        folder_mode = folder.stat().st_mode & 0o777
    except FileNotFoundError:
        return
    if folder_mode & 0o002:
        if writing:
            raise ConfigurationError(
                f"The config folder {folder} is writable by every user (mode {folder_mode:o}), "
                f"so keys are not stored there. Run `chmod 700 {folder}` and try again."
            )
        log.warning("The config folder %s is writable by every user (mode %o): anyone could "
                    "replace the key file. Run `chmod 700 %s` and check the keys.", folder,
                    folder_mode, folder)
    for target, wanted in ((folder, 0o700), (path, 0o600)):
        if target == folder and folder_mode & 0o002:
            continue  # the user must look at it: fixing it silently would hide a swap
        try:
            mode = target.stat().st_mode & 0o777
        except FileNotFoundError:
            continue
        if mode & 0o077:
            try:
                os.chmod(target, wanted)
            except OSError as exc:
                log.warning("%s is readable by other users (mode %o) and could not be fixed "
                            "(%s); run `chmod %o %s`.", target, mode, exc, wanted, target)
                continue
            log.warning("%s was readable by other users (mode %o); changed to %o.", target,
                        mode, wanted)


def _read() -> dict[str, dict[str, Any]]:
    path = key_file()
    _secure(path)
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
    _secure(path, writing=True)
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


def store_key(provider: str, api_key: str, *, base_url: str | None = None) -> Path:
    """Save a key for `provider` in the key file (mode 0600) and return the file's path.

    With `base_url` the key belongs to that relay: it is sent to the relay's origin only, and
    the relay never receives the provider's own key.
    """
    register_secret(api_key.strip())
    api_key = check_key(api_key, provider, provider)
    if not api_key:
        raise ConfigurationError("The key is empty; nothing was stored.")
    data = _read()
    entry = data.setdefault(provider, {})
    if base_url:
        url = _checked_url(base_url, provider)
        _relays(entry)[origin_of(url)] = {"base_url": url, "api_key": api_key}
    else:
        entry["api_key"] = api_key
    _write(data)
    return key_file()


def delete_key(provider: str, *, base_url: str | None = None) -> bool:
    """Remove a stored key (the provider's, or with `base_url` that relay's); True if one was."""
    data = _read()
    entry = data.get(provider)
    if not isinstance(entry, dict):
        return False
    if base_url:
        relays = _relays(entry)
        if relays.pop(origin_of(base_url), None) is None:
            return False
        if not relays:
            entry.pop("relays", None)
    elif entry.pop("api_key", None) is None:
        return False
    if not entry:
        del data[provider]
    _write(data)
    return True


def _relays(entry: dict[str, Any]) -> dict[str, dict[str, str]]:
    relays = entry.get("relays")
    if not isinstance(relays, dict):
        relays = entry["relays"] = {}
    return relays


def relay_keys(provider: str) -> list[str]:
    """Base URLs that have a key of their own (the keys themselves are not returned)."""
    return sorted(r["base_url"] for r in _relays(dict(_entry(provider))).values()
                  if isinstance(r, dict) and r.get("api_key") and r.get("base_url"))


def trust_base_url(provider: str, base_url: str) -> str:
    """Let the provider's key go to `base_url`'s origin (a proxy the user runs); its origin."""
    url = _checked_url(base_url, provider)
    data = _read()
    entry = data.setdefault(provider, {})
    trusted = [u for u in entry.get("trusted_base_urls", []) if isinstance(u, str)]
    if origin_of(url) not in {origin_of(u) for u in trusted}:
        trusted.append(url)
    entry["trusted_base_urls"] = trusted
    _write(data)
    return origin_of(url)


def untrust_base_url(provider: str, base_url: str) -> bool:
    """Forget a trusted base URL (every entry with its origin); True if there was one."""
    origin = origin_of(base_url)
    data = _read()
    entry = data.get(provider)
    if not isinstance(entry, dict):
        return False
    before = [u for u in entry.get("trusted_base_urls", []) if isinstance(u, str)]
    after = [u for u in before if origin_of(u) != origin]
    if len(after) == len(before):
        return False
    if after:
        entry["trusted_base_urls"] = after
    else:
        entry.pop("trusted_base_urls", None)
        if not entry:
            del data[provider]
    _write(data)
    return True


def trusted_base_urls(provider: str) -> list[str]:
    """The base URLs trusted with `apiedit keys trust` (relays with their own key not included)."""
    return [u for u in _entry(provider).get("trusted_base_urls", []) if isinstance(u, str)]


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
            return check_key(candidate, info.label, info.id)
    stored = _entry(info.id).get("api_key")
    if isinstance(stored, str) and stored.strip():
        register_secret(stored.strip())
        return check_key(stored, info.label, info.id)
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
            return _checked_url(candidate, info.label)
    raise ConfigurationError(
        f"{info.label} has no base URL. Set {info.base_url_env_var} or pass base_url."
    )


def _checked_url(url: str, label: str) -> str:
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigurationError(
            f"The base URL {display_url(url)!r} for {label} must start with http:// or https://."
        )
    origin_of(url)  # raises a ConfigurationError for a URL without a host or with a bad port
    return url


def _configured_origins(info: ProviderInfo) -> set[str]:
    """Origins the user (or the provider's defaults) chose for the provider's own key."""
    entry = _entry(info.id)
    urls = [info.default_base_url, os.environ.get(info.base_url_env_var), entry.get("base_url"),
            *entry.get("trusted_base_urls", [])]
    origins = set()
    for url in urls:
        if isinstance(url, str) and url.strip():
            try:
                origins.add(origin_of(url))
            except ConfigurationError:
                continue
    return origins


def _relay_key(info: ProviderInfo, origin: str) -> str | None:
    relay = _relays(dict(_entry(info.id))).get(origin)
    key = relay.get("api_key") if isinstance(relay, dict) else None
    if isinstance(key, str) and key.strip():
        register_secret(key.strip())
        return check_key(key, info.label, info.id)
    return None


def resolve_endpoint(
    info: ProviderInfo,
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    trusted: bool = True,
) -> tuple[str, str | None]:
    """The base URL to call and the key that may go there (None when there is none).

    `trusted=False` marks a `base_url` that did not come from the user (a workflow's node
    input): unless its origin is one the user configured, a relay with a stored key, or the
    provider's default, an `UntrustedBaseURLError` says so and nothing is sent. The key is the
    explicit `api_key`, else the key stored for that origin (a relay's own), else the
    provider's key (environment, then key file) when the origin is one it may go to: the
    provider's default, a configured or trusted base URL, or one the caller passed trusted.
    """
    url = resolve_base_url(info, base_url)
    origin = origin_of(url)
    configured = _configured_origins(info)
    relay_key = _relay_key(info, origin)
    if base_url and not trusted and origin not in configured and relay_key is None:
        shown = display_url(url)
        raise UntrustedBaseURLError(
            f"This workflow asks to send the {info.label} request to {shown}, a host you have "
            f"not trusted for {info.label}, so nothing was sent and "
            f"no key left this machine. If it is your own relay or proxy, trust it once with "
            f"`apiedit keys trust {info.id} {shown}` (in ComfyUI: the node's \"trust base URL\" "
            f"button), then run again; otherwise clear the node's base_url.",
            provider=info.id,
        )
    if api_key and api_key.strip():
        return url, resolve_key(info, api_key)
    if relay_key is not None:
        return url, relay_key
    if origin in configured or (base_url and trusted):
        return url, resolve_key(info)
    return url, None
