"""The emulator framework, exercised over real HTTP on loopback with `requests`."""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest
import requests

from apiedit.testing.emulator import (
    ERROR_KINDS,
    Emulator,
    Fault,
    RecordedRequest,
    Response,
    WireRecord,
    sniff_image,
)
from apiedit.testing.pytest_plugin import (  # noqa: F401  (fixtures, also without the entry point)
    apiedit_home,
    emulator_factory,
    sentinel_key,
)

pytest_plugins = ["pytester"]


class ToyEmulator(Emulator):
    """A miniature provider: a free model list, a paid image route, a crashing route."""

    def setup_routes(self) -> None:
        self.route("GET", r"/v1/models", lambda request, match: {"data": [{"id": "toy-1"}]})
        self.route("POST", r"/v1/images/(?P<op>generations|edits)", self.images, billable=True)
        self.route("GET", r"/v1/text", lambda request, match: Response(body="plain words"))
        self.route("GET", r"/v1/teapot", lambda request, match: (418, {"tea": 1}, {"X-Pot": "1"}))
        self.route("POST", r"/v1/boom", self.boom)

    def images(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        answer = {"op": match["op"], "received": len(request.body)}
        return Response.json(answer, headers={"X-Request-Id": "req_1"})

    def boom(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        raise ZeroDivisionError("the handler divided by zero")

    def error_response(self, kind: str) -> Response:
        if kind == "rate_limit":
            error = {"error": {"message": "slow down", "code": "rate_limit_exceeded"}}
            return Response.json(error, 429, {"Retry-After": "7"})
        return Response.json({"error": {"message": kind}}, 400)


@pytest.fixture
def emu() -> Iterator[ToyEmulator]:
    with ToyEmulator() as emulator:
        yield emulator


def post_image(emu: Emulator, **kw: object) -> requests.Response:
    """The paid call of ToyEmulator."""
    kw.setdefault("timeout", 5)
    url = f"{emu.base_url}/v1/images/generations"
    return requests.post(url, json={"prompt": "a fox"}, **kw)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------- routing


def test_routes_dispatch_by_method_and_full_path_match(emu: ToyEmulator) -> None:
    models = requests.get(f"{emu.base_url}/v1/models", timeout=5)
    assert models.json() == {"data": [{"id": "toy-1"}]}
    answer = requests.post(f"{emu.base_url}/v1/images/edits", data=b"xyz", timeout=5)
    assert answer.json() == {"op": "edits", "received": 3}
    assert answer.headers["X-Request-Id"] == "req_1"
    assert requests.get(f"{emu.base_url}/v1/models/extra", timeout=5).status_code == 404


def test_unknown_route_answers_404_json(emu: ToyEmulator) -> None:
    answer = requests.get(f"{emu.base_url}/nowhere", timeout=5)
    assert answer.status_code == 404
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json() == {"error": {"message": "no route"}}


def test_known_path_with_wrong_method_answers_405(emu: ToyEmulator) -> None:
    answer = requests.delete(f"{emu.base_url}/v1/models", timeout=5)
    assert answer.status_code == 405
    assert answer.headers["Allow"] == "GET"


def test_handler_short_forms_become_responses(emu: ToyEmulator) -> None:
    text = requests.get(f"{emu.base_url}/v1/text", timeout=5)
    assert (text.text, text.headers["Content-Type"]) == ("plain words", "text/plain; charset=utf-8")
    teapot = requests.get(f"{emu.base_url}/v1/teapot", timeout=5)
    assert (teapot.status_code, teapot.json(), teapot.headers["X-Pot"]) == (418, {"tea": 1}, "1")


def test_route_added_by_a_test_overrides_setup_routes(emu: ToyEmulator) -> None:
    emu.route("GET", r"/v1/models", lambda request, match: {"data": []})
    assert requests.get(f"{emu.base_url}/v1/models", timeout=5).json() == {"data": []}


def test_handler_exception_answers_500_with_traceback_and_keeps_serving(emu: ToyEmulator) -> None:
    with requests.Session() as session:
        crashed = session.post(f"{emu.base_url}/v1/boom", timeout=5)
        assert crashed.status_code == 500
        assert "ZeroDivisionError: the handler divided by zero" in crashed.text
        assert session.get(f"{emu.base_url}/v1/models", timeout=5).status_code == 200
    assert len(emu.handler_errors) == 1


# --------------------------------------------------------------------------- request log


def test_request_log_records_method_path_query_headers_and_body(emu: ToyEmulator) -> None:
    requests.post(f"{emu.base_url}/v1/images/generations?a=1&a=2&empty=", data=b"\x00raw",
                  headers={"Authorization": "Bearer sk-test", "X-Custom": "yes"}, timeout=5)
    (recorded,) = emu.requests
    assert (recorded.method, recorded.path) == ("POST", "/v1/images/generations")
    assert recorded.query == {"a": ["1", "2"], "empty": [""]}
    assert recorded.headers["authorization"] == "Bearer sk-test"
    assert recorded.headers["x-custom"] == "yes"
    assert recorded.body == b"\x00raw"
    assert recorded.billable is True


def test_recorded_json_body_parses(emu: ToyEmulator) -> None:
    post_image(emu)
    assert emu.requests[0].json() == {"prompt": "a fox"}


def test_requests_to_filters_by_path_and_method(emu: ToyEmulator) -> None:
    requests.get(f"{emu.base_url}/v1/models", timeout=5)
    post_image(emu)
    post_image(emu)
    assert len(emu.requests_to(r"/images/")) == 2
    assert len(emu.requests_to(r"^/v1/", method="get")) == 1


def test_reset_clears_log_counters_and_faults(emu: ToyEmulator) -> None:
    post_image(emu)
    emu.inject(Fault(status=500))
    emu.reset()
    assert (emu.requests, emu.billable_count, emu.faults) == ([], 0, [])
    assert post_image(emu).status_code == 200


# ------------------------------------------------------------------------ request bodies


def test_multipart_single_image_field(emu: ToyEmulator) -> None:
    requests.post(f"{emu.base_url}/v1/images/edits", timeout=5,
                  files={"image": ("fox.png", b"\x89PNG\r\n\x1a\n\x00", "image/png")})
    assert emu.requests[0].form() == [("image", b"\x89PNG\r\n\x1a\n\x00", "fox.png", "image/png")]


def test_multipart_repeated_fields_keep_order_filenames_and_content_types(emu: ToyEmulator) -> None:
    tricky = b"--not-the-boundary\r\n\r\nstill data\r\n"
    requests.post(
        f"{emu.base_url}/v1/images/edits",
        data={"prompt": "merge them", "n": "2"},
        files=[
            ("image[]", ("a.png", b"first", "image/png")),
            ("image[]", ("b.jpg", tricky, "image/jpeg")),
            ("image[]", ("c.webp", b"", "image/webp")),
        ],
        timeout=5,
    )
    assert emu.requests[0].form() == [
        ("prompt", "merge them", None, None),
        ("n", "2", None, None),
        ("image[]", b"first", "a.png", "image/png"),
        ("image[]", tricky, "b.jpg", "image/jpeg"),
        ("image[]", b"", "c.webp", "image/webp"),
    ]


def test_multipart_plain_fields_are_text(emu: ToyEmulator) -> None:
    fields = {"prompt": (None, "un renard, 狐")}
    requests.post(f"{emu.base_url}/v1/images/edits", files=fields, timeout=5)
    assert emu.requests[0].form() == [("prompt", "un renard, 狐", None, None)]


def test_form_of_a_json_body_is_an_error(emu: ToyEmulator) -> None:
    post_image(emu)
    with pytest.raises(ValueError, match="not a multipart body"):
        emu.requests[0].form()


def test_chunked_request_body_is_read_and_the_connection_stays_usable(emu: ToyEmulator) -> None:
    with requests.Session() as session:
        chunks = iter([b"ab", b"", b"cde"])
        answer = session.post(f"{emu.base_url}/v1/images/edits", data=chunks, timeout=5)
        assert answer.json()["received"] == 5
        assert session.get(f"{emu.base_url}/v1/models", timeout=5).status_code == 200
    assert emu.requests[0].headers["transfer-encoding"] == "chunked"
    assert emu.requests[0].body == b"abcde"


def test_keep_alive_serves_several_requests_on_one_connection(emu: ToyEmulator) -> None:
    connection = http.client.HTTPConnection(emu.host, emu.port, timeout=5)
    try:
        connection.request("POST", "/v1/images/generations", body=b"12345")
        first_socket = connection.sock
        assert connection.getresponse().read() == b'{"op": "generations", "received": 5}'
        connection.request("GET", "/v1/models")
        assert connection.getresponse().status == 200
        assert connection.sock is first_socket
    finally:
        connection.close()


def test_sixty_megabyte_body_is_received_intact(emu: ToyEmulator) -> None:
    payload = os.urandom(1 << 20) * 60
    answer = requests.post(f"{emu.base_url}/v1/images/edits", data=payload, timeout=30)
    assert answer.json()["received"] == len(payload)
    assert hashlib.sha256(emu.requests[0].body).digest() == hashlib.sha256(payload).digest()


def test_body_over_the_limit_answers_413(emu: ToyEmulator) -> None:
    emu.max_body_bytes = 10
    answer = requests.post(f"{emu.base_url}/v1/images/edits", data=b"x" * 100, timeout=5)
    assert answer.status_code == 413
    assert emu.billable_count == 0


# ------------------------------------------------------------------------------- faults


def test_status_fault_with_retry_after_applies_times_then_normal_answers(emu: ToyEmulator) -> None:
    emu.inject(Fault(path=r"/images/", status=429, retry_after=3, times=2))
    statuses = []
    for _ in range(3):
        answer = post_image(emu)
        statuses.append((answer.status_code, answer.headers.get("Retry-After")))
    assert statuses == [(429, "3"), (429, "3"), (200, None)]
    assert len(emu.requests) == 3
    assert emu.faults == []


def test_fault_only_matches_its_method_and_path(emu: ToyEmulator) -> None:
    emu.inject(Fault(method="POST", path=r"/edits$", status=503))
    assert requests.get(f"{emu.base_url}/v1/models", timeout=5).status_code == 200
    assert post_image(emu).status_code == 200
    assert requests.post(f"{emu.base_url}/v1/images/edits", timeout=5).status_code == 503


def test_fault_with_times_zero_applies_forever(emu: ToyEmulator) -> None:
    emu.inject(Fault(status=500, times=0))
    assert [post_image(emu).status_code for _ in range(4)] == [500] * 4
    emu.clear_faults()
    assert post_image(emu).status_code == 200


def test_headers_only_fault_decorates_the_real_answer(emu: ToyEmulator) -> None:
    emu.inject(Fault(headers={"x-should-retry": "false"}))
    answer = post_image(emu)
    assert answer.json()["op"] == "generations"
    assert answer.headers["x-should-retry"] == "false"
    assert emu.billable_count == 1


def test_fault_for_uses_the_provider_error_response(emu: ToyEmulator) -> None:
    emu.inject(emu.fault_for("rate_limit", times=2))
    answers = [post_image(emu) for _ in range(3)]
    assert [a.status_code for a in answers] == [429, 429, 200]
    assert answers[0].headers["Retry-After"] == "7"
    assert answers[0].headers["Content-Type"] == "application/json"
    assert answers[0].json()["error"]["code"] == "rate_limit_exceeded"
    assert emu.billable_count == 1


def test_base_emulator_has_no_canned_errors() -> None:
    assert "auth" in ERROR_KINDS
    with pytest.raises(NotImplementedError):
        Emulator().fault_for("auth")
    with pytest.raises(ValueError, match="unknown error kind"):
        ToyEmulator().fault_for("teapot")


def test_fault_rejects_an_unknown_drop_mode() -> None:
    with pytest.raises(ValueError, match="drop"):
        Fault(drop="sometimes")  # type: ignore[arg-type]


def test_delay_fault_times_the_client_out_after_the_request_was_billed(emu: ToyEmulator) -> None:
    emu.inject(Fault(delay=5))
    with pytest.raises(requests.ReadTimeout):
        post_image(emu, timeout=(2, 0.3))
    assert emu.billable_count == 1


def test_drop_before_body_is_a_connection_error_and_not_billed(emu: ToyEmulator) -> None:
    emu.inject(Fault(drop="before_body"))
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{emu.base_url}/v1/images/edits", data=b"x" * 200_000, timeout=5)
    assert (len(emu.requests), emu.requests[0].body, emu.billable_count) == (1, b"", 0)


def test_drop_after_body_is_a_connection_error_and_billed(emu: ToyEmulator) -> None:
    emu.inject(Fault(drop="after_body"))
    with pytest.raises(requests.ConnectionError):
        post_image(emu)
    assert emu.requests[0].json() == {"prompt": "a fox"}
    assert emu.billable_count == 1


def test_truncate_breaks_the_client_read_and_is_billed(emu: ToyEmulator) -> None:
    emu.inject(Fault(truncate=True))
    with pytest.raises(requests.exceptions.ChunkedEncodingError, match="IncompleteRead"):
        post_image(emu)
    assert emu.billable_count == 1


@pytest.mark.parametrize(
    ("fault", "billed"),
    [
        (None, 1),
        (Fault(status=500), 0),
        (Fault(status=500, billable=True), 1),
        (Fault(delay=0.01), 1),
        (Fault(truncate=True), 1),
        (Fault(drop="after_body"), 1),
        (Fault(drop="before_body"), 0),
        (Fault(drop="before_body", billable=True), 1),
        (Fault(billable=False), 0),
    ],
    ids=repr,
)
def test_billable_counting_rules(emu: ToyEmulator, fault: Fault | None, billed: int) -> None:
    if fault is not None:
        emu.inject(fault)
    try:
        post_image(emu)
    except requests.RequestException:
        pass
    assert emu.billable_count == billed
    assert emu.requests[0].billable is bool(billed)
    assert emu.requests[0].fault is fault


def test_free_routes_and_unknown_routes_are_not_billed(emu: ToyEmulator) -> None:
    requests.get(f"{emu.base_url}/v1/models", timeout=5)
    requests.post(f"{emu.base_url}/v1/nowhere", data=b"x", timeout=5)
    assert emu.billable_count == 0


# -------------------------------------------------------------------- files and lifecycle


def test_serve_bytes_url_returns_the_bytes_with_their_content_type(emu: ToyEmulator) -> None:
    url = emu.serve_bytes(b"\x89PNG fake", "image/png")
    assert url.startswith(f"{emu.base_url}/_files/") and url.endswith(".png")
    answer = requests.get(url, timeout=5)
    assert (answer.status_code, answer.content) == (200, b"\x89PNG fake")
    assert answer.headers["Content-Type"] == "image/png"
    assert emu.billable_count == 0


def test_port_zero_picks_distinct_free_ports() -> None:
    with ToyEmulator() as first, ToyEmulator() as second:
        assert first.base_url != second.base_url
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", first.base_url)


def test_stop_is_prompt_with_a_pending_delay_and_an_idle_keep_alive_connection() -> None:
    emu = ToyEmulator().start()
    idle = requests.Session()
    idle.get(f"{emu.base_url}/v1/models", timeout=5)  # leaves a pooled keep-alive connection
    emu.inject(Fault(delay=30))
    outcome: list[BaseException] = []

    def client() -> None:
        try:
            post_image(emu, timeout=20)
        except requests.RequestException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=client, daemon=True)
    thread.start()
    deadline = time.monotonic() + 5
    while len(emu.requests) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    emu.stop()
    assert time.monotonic() - started < 1.0
    thread.join(timeout=2)
    assert isinstance(outcome[0], requests.ConnectionError)
    idle.close()


def test_base_url_before_start_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="start"):
        ToyEmulator().base_url


# ------------------------------------------------------------------------ pytest plugin


def test_emulator_factory_starts_emulators(emulator_factory) -> None:  # noqa: F811
    emulator = emulator_factory(ToyEmulator)
    assert requests.get(f"{emulator.base_url}/v1/models", timeout=5).status_code == 200


def test_apiedit_home_isolates_directories(apiedit_home: Path) -> None:  # noqa: F811
    assert os.environ["APIEDIT_CONFIG_DIR"] == str(apiedit_home / "config")
    assert os.environ["APIEDIT_CACHE_DIR"] == str(apiedit_home / "cache")
    assert os.environ["APIEDIT_DATA_DIR"] == str(apiedit_home / "data")


def test_sentinel_key_is_an_obvious_fake(sentinel_key: str) -> None:  # noqa: F811
    assert sentinel_key == "sk-SENTINEL-DO-NOT-LEAK-0123456789"


def test_pytest_plugin_imports_nothing_but_pytest() -> None:
    heavy = ("apiedit.testing.emulator", "requests", "http.server")
    probe = (f"import sys, apiedit.testing.pytest_plugin; "
             f"print(sorted(m for m in {heavy!r} if m in sys.modules))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_emulator_factory_stops_its_emulators_at_teardown(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("from apiedit.testing.pytest_plugin import emulator_factory\n")
    pytester.makepyfile(
        """
        from apiedit.testing.emulator import Emulator
        started = []

        def test_start(emulator_factory):
            started.append(emulator_factory(Emulator))
            assert started[0].base_url.startswith("http://127.0.0.1:")

        def test_stopped_after_teardown():
            assert repr(started[0]).endswith("stopped>")
        """
    )
    pytester.runpytest_inprocess("-p", "no:cacheprovider").assert_outcomes(passed=2)


@pytest.mark.parametrize(("head", "mime"), [
    (b"\x89PNG\r\n\x1a\n\0\0", "image/png"),
    (b"\xff\xd8\xff\xe0", "image/jpeg"),
    (b"RIFF\0\0\0\0WEBPVP8 ", "image/webp"),
    (b"\0\0\0\x18ftypheic", "image/heic"),
    (b"GIF89a", None),
    (b"<html>", None),
])
def test_sniff_image_reads_the_magic_bytes_emulated_apis_accept(head: bytes, mime: str | None) -> None:
    assert sniff_image(head) == mime


# ------------------------------------------------------------------------------- wire record


class WiredEmulator(Emulator):
    """Records what its one paid route received, and answers the output as a link."""

    serves_output_urls = True

    def setup_routes(self) -> None:
        self.route("POST", r"/v1/make", self.make, billable=True)

    def make(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        body = request.json()
        self.record_wire(WireRecord("generate", model=body["model"], prompt=body["prompt"],
                                    images=[self.image_bytes(ref) for ref in body["images"]],
                                    seed=body.get("seed"), headers=request.headers))
        return Response.json({"url": self.output_url(b"\x89PNG\r\n\x1a\nout")})

    def error_response(self, kind: str) -> Response:
        return Response.json({"error": {"message": kind}}, 400)


def test_last_wire_without_a_record_says_the_handlers_must_record() -> None:
    with WiredEmulator() as emu:
        with pytest.raises(AssertionError, match="recorded no WireRecord.*record_wire"):
            emu.last_wire()


def test_the_wire_record_decodes_inputs_in_order_and_keeps_the_headers() -> None:
    import base64

    with WiredEmulator() as emu:
        served = emu.serve_bytes(b"second", "image/png")
        first = "data:image/png;base64," + base64.b64encode(b"first").decode()
        third = base64.b64encode(b"third").decode()
        body = {"model": "m", "prompt": "p", "images": [first, served, third], "seed": 7}
        answer = requests.post(f"{emu.base_url}/v1/make", json=body, timeout=5,
                               headers={"Authorization": "Bearer k"})
        wire = emu.last_wire()
        assert wire.images == (b"first", b"second", b"third")
        assert (wire.model, wire.prompt, wire.seed, wire.count) == ("m", "p", 7, None)
        assert wire.headers["authorization"] == "Bearer k"  # lower-cased names, values kept
        assert "Bearer k" not in repr(wire)  # but headers stay out of the repr
        assert requests.get(answer.json()["url"], timeout=5).content == b"\x89PNG\r\n\x1a\nout"
        assert emu.outputs == [b"\x89PNG\r\n\x1a\nout"]
        emu.reset()
        assert emu.wire == [] and emu.outputs == []


def test_answer_outputs_via_rewrites_output_links_until_reset() -> None:
    with WiredEmulator() as emu:
        emu.answer_outputs_via(lambda url: url.replace("127.0.0.1", "localhost"))
        body = {"model": "m", "prompt": "p", "images": []}
        url = requests.post(f"{emu.base_url}/v1/make", json=body, timeout=5).json()["url"]
        assert url.startswith(f"http://localhost:{emu.port}/_files/")
        emu.reset()
        url = requests.post(f"{emu.base_url}/v1/make", json=body, timeout=5).json()["url"]
        assert url.startswith(emu.base_url)


def test_optional_abilities_skip_when_an_emulator_lacks_them(emu: ToyEmulator) -> None:
    import unittest

    with pytest.raises(unittest.SkipTest, match="inline"):
        emu.answer_outputs_via(lambda url: url)
    with pytest.raises(unittest.SkipTest, match="'blocked'"):
        emu.fail_next_answer("blocked")
