"""The safe image downloader, over real HTTP against the emulator framework."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image

from apiedit.download import download_image
from apiedit.errors import InvalidInputError, ProviderUnavailableError
from apiedit.settings import ProviderSettings
from apiedit.testing.emulator import Emulator, Fault, RecordedRequest, Response


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(buf, "PNG")
    return buf.getvalue()


class Files(Emulator):
    def setup_routes(self) -> None:
        self.route("GET", "/redirect", self.redirect)
        self.route("GET", "/big", lambda r, m: Response(200, b"\0" * 2048, content_type="image/png"))
        self.route("GET", "/html", lambda r, m: Response(200, "<html>oops</html>", content_type="text/html"))

    def redirect(self, request: RecordedRequest, _m: re.Match) -> Response:
        return Response(302, b"", headers={"Location": request.query["to"][0]})


@pytest.fixture
def files(emulator_factory) -> Files:
    return emulator_factory(Files)


def settings(base_url: str) -> ProviderSettings:
    return ProviderSettings(provider="files", label="Files", base_url=base_url)


def test_downloads_and_sniffs_the_image(files: Files) -> None:
    url = files.serve_bytes(png(), "application/octet-stream")
    image = download_image(url, settings(files.base_url))
    assert image.data == png() and image.mime_type == "image/png"


def test_only_http_and_https_are_fetched(files: Files) -> None:
    with pytest.raises(InvalidInputError, match="only http"):
        download_image("file:///etc/passwd", settings(files.base_url))


def test_private_addresses_are_refused_for_a_public_provider(files: Files) -> None:
    url = files.serve_bytes(png(), "image/png")
    with pytest.raises(InvalidInputError, match="private address"):
        download_image(url, settings("https://api.example.com/v1"))
    assert not files.requests_to("/_files")


def test_redirect_hops_are_checked_too(files: Files) -> None:
    target = files.serve_bytes(png(), "image/png")
    image = download_image(f"{files.base_url}/redirect?to={target}", settings(files.base_url))
    assert image.data == png()
    with pytest.raises(InvalidInputError, match="scheme"):
        download_image(f"{files.base_url}/redirect?to=ftp://x/y.png", settings(files.base_url))


def test_size_cap_is_enforced(files: Files) -> None:
    with pytest.raises(InvalidInputError, match="limit"):
        download_image(f"{files.base_url}/big", settings(files.base_url), max_bytes=1024)


def test_non_image_bytes_are_a_clear_error(files: Files) -> None:
    with pytest.raises(InvalidInputError):
        download_image(f"{files.base_url}/html", settings(files.base_url))


def test_a_server_error_is_retried_because_downloading_costs_nothing(files: Files) -> None:
    url = files.serve_bytes(png(), "image/png")
    files.inject(Fault(path="/_files", status=503, times=1))
    assert download_image(url, settings(files.base_url)).data == png()
    assert len(files.requests_to("/_files")) == 2


def test_a_missing_file_is_not_retried(files: Files) -> None:
    with pytest.raises(ProviderUnavailableError, match="HTTP 404"):
        download_image(f"{files.base_url}/_files/nope.png", settings(files.base_url))
    assert len(files.requests_to("/_files")) == 1


def test_a_trickling_download_ends_at_its_deadline(files: Files) -> None:
    import time

    from apiedit.errors import ProviderTimeoutError
    from apiedit.testing.emulator import Fault

    url = files.serve_bytes(png(), "image/png")
    files.inject(Fault(method="GET", path="/_files/", trickle=1.0, times=0))
    started = time.monotonic()
    with pytest.raises(ProviderTimeoutError, match="within 2 s"):
        download_image(url, settings(files.base_url), timeout=2)
    assert time.monotonic() - started < 3.0
