"""Fetch an image a provider returned as a URL, safely.

Only http(s); a size cap enforced while streaming; connect/read timeouts; redirects followed by
hand so each hop is checked. Private and loopback addresses are refused unless the provider's
own base URL is private too (a local relay or an emulator), so a hostile answer cannot make us
fetch internal services.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

import requests

from .errors import InvalidInputError, ProviderTimeoutError, ProviderUnavailableError
from .images import normalize_output
from .transport import watch
from .types import ImageData

if TYPE_CHECKING:
    from .settings import ProviderSettings

__all__ = ["MAX_DOWNLOAD_BYTES", "download_image", "is_private_url"]

MAX_DOWNLOAD_BYTES = 50 * 1024 * 1024
_MAX_REDIRECTS = 3


def _host_addresses(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return []
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


def is_private_url(url: str) -> bool:
    """True when the URL's host resolves to a loopback, private, link-local or reserved address."""
    host = urlsplit(url).hostname or ""
    if host in ("localhost",):
        return True
    return any(
        a.is_private or a.is_loopback or a.is_link_local or a.is_reserved or a.is_unspecified
        for a in _host_addresses(host)
    )


def download_image(
    url: str,
    settings: ProviderSettings,
    *,
    max_bytes: int = MAX_DOWNLOAD_BYTES,
    timeout: float | None = None,
    attempts: int = 3,
) -> ImageData:
    """Download and verify one image; raise a typed error on any failure.

    The image is already paid for and fetching it costs nothing, so network failures and 5xx
    answers are retried (`attempts` in all) rather than losing a finished image.
    """
    for attempt in range(1, attempts + 1):
        try:
            return _download_once(url, settings, max_bytes=max_bytes, timeout=timeout)
        except ProviderUnavailableError as exc:
            if not exc.retryable or attempt == attempts:
                raise
            settings.report(f"{settings.label}: image download failed, retrying")
            settings.sleep(0.5 * 2 ** (attempt - 1))
    raise AssertionError("unreachable")


def _download_once(url: str, settings: ProviderSettings, *, max_bytes: int, timeout: float | None) -> ImageData:
    """One download, redirects included, within an overall deadline (a trickling server
    is cut off there, as in `apiedit.http`)."""
    read_timeout = timeout or min(settings.read_timeout, 120.0)
    with watch(read_timeout) as call:
        try:
            return _fetch(url, settings, max_bytes=max_bytes, read_timeout=read_timeout)
        except ProviderUnavailableError:
            if not call.expired:
                raise
    raise ProviderTimeoutError(
        f"The image {settings.label} produced did not finish downloading within "
        f"{read_timeout:g} s. The image was generated (and billed); try again soon, the link "
        "may still work.",
        provider=settings.provider,
    )


def _fetch(url: str, settings: ProviderSettings, *, max_bytes: int, read_timeout: float) -> ImageData:
    allow_private = is_private_url(settings.base_url)
    session = settings.http.session
    for _hop in range(_MAX_REDIRECTS + 1):
        settings.check_cancelled()
        scheme = urlsplit(url).scheme.lower()
        if scheme not in ("http", "https"):
            raise InvalidInputError(
                f"{settings.label} returned an image link with scheme {scheme!r}; only http(s) "
                "links are downloaded.",
                provider=settings.provider,
            )
        if not allow_private and is_private_url(url):
            raise InvalidInputError(
                f"{settings.label} returned an image link to a private address; it was not "
                "fetched. If you use a local relay, set its base URL so it is trusted.",
                provider=settings.provider,
            )
        try:
            response = session.get(
                url,
                timeout=(settings.connect_timeout, read_timeout),
                stream=True,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise ProviderUnavailableError(
                f"Could not download the image {settings.label} produced ({type(exc).__name__}). "
                "The image was generated; try again soon, the link may still work.",
                provider=settings.provider,
                retryable=True,
            ) from None
        with response:
            if response.is_redirect and response.headers.get("location"):
                url = urljoin(url, response.headers["location"])
                continue
            if response.status_code >= 400:
                raise ProviderUnavailableError(
                    f"Downloading the image {settings.label} produced failed with HTTP "
                    f"{response.status_code}.",
                    provider=settings.provider,
                    status=response.status_code,
                    retryable=response.status_code >= 500,
                )
            declared = int(response.headers.get("content-length") or 0)
            if declared > max_bytes:
                raise InvalidInputError(
                    f"The image {settings.label} returned is {declared} bytes, over the "
                    f"{max_bytes}-byte limit.",
                    provider=settings.provider,
                )
            chunks: list[bytes] = []
            total = 0
            try:
                for chunk in response.iter_content(64 * 1024):
                    total += len(chunk)
                    if total > max_bytes:
                        raise InvalidInputError(
                            f"The image {settings.label} returned is over the {max_bytes}-byte "
                            "limit.",
                            provider=settings.provider,
                        )
                    chunks.append(chunk)
            except requests.RequestException as exc:
                raise ProviderUnavailableError(
                    f"The image download from {settings.label} broke off ({type(exc).__name__}).",
                    provider=settings.provider,
                    retryable=True,
                ) from None
            content_type = response.headers.get("content-type", "").split(";")[0].strip() or None
            return normalize_output(b"".join(chunks), content_type)
    raise ProviderUnavailableError(
        f"The image link from {settings.label} redirected too many times.",
        provider=settings.provider,
    )
