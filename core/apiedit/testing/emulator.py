"""Loopback HTTP emulators of provider APIs, so that tests go through real HTTP.

Each provider plugin subclasses `Emulator`, registers the provider's routes and error envelopes
in `setup_routes()`, and its tests inject `Fault`s to rehearse what real providers and networks
do: error statuses, Retry-After, slow answers, dropped connections, truncated bodies. The billable
counter lets a test prove that a paid request was not sent twice. Each paid request a handler
decodes is also logged as a provider-neutral `WireRecord` (`record_wire`), and each output image
it answers with `record_output`/`output_url`: the conformance suite asserts on those.

Only the standard library is used, so the kit adds nothing to core's dependencies.
"""

from __future__ import annotations

import base64
import dataclasses
import email.parser
import email.utils
import functools
import http.server
import json as _json
import mimetypes
import re
import socket
import socketserver
import threading
import traceback
import unittest
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Mapping, Union
from urllib.parse import parse_qs, urlsplit

import attrs

from ..redact import get_logger

__all__ = [
    "ERROR_KINDS",
    "Emulator",
    "Fault",
    "FormPart",
    "Handler",
    "HandlerResult",
    "RecordedRequest",
    "Response",
    "WireRecord",
    "sniff_image",
]

log = get_logger(__name__)

ERROR_KINDS = (
    "auth", "quota", "rate_limit", "blocked", "bad_request", "overloaded", "server_error",
)
"""The canned provider errors every emulator offers through `Emulator.error_response`."""

FormPart = tuple[str, Union[str, bytes], Union[str, None], Union[str, None]]
"""One multipart part: (name, value, filename, content_type); files are bytes, fields str."""

_STRIPPED_HEADERS = {"content-length", "transfer-encoding"}  # the server owns framing
_MAX_LINE = 65536
_FILE_ROUTE = r"/_files/(?P<file_id>[0-9a-f]{32})(?:\.[A-Za-z0-9]+)?"  # see serve_bytes


def sniff_image(data: bytes) -> str | None:
    """The image type the magic bytes announce (PNG, JPEG, WebP, HEIC), or None. Emulators judge
    uploads with this, not the client's `apiedit.images`, so they never share its mistakes."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp":
        return "image/heic"
    return None


# --------------------------------------------------------------------------------- requests


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the emulator received it; what tests assert on."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    billable: bool
    fault: Fault | None = None  # the injected fault that applied to this request, if any

    def json(self) -> Any:
        """The body parsed as JSON (raises ValueError if it is not JSON)."""
        return _json.loads(self.body)

    def form(self) -> list[FormPart]:
        """The multipart/form-data parts in order, repeated names kept (`image[]`, `image`)."""
        content_type = self.headers.get("content-type", "")
        boundary = _header_param(content_type, "boundary")
        if not content_type.lower().startswith("multipart/") or not boundary:
            raise ValueError(f"not a multipart body (Content-Type: {content_type!r})")
        return _parse_multipart(self.body, boundary.encode("latin-1"))


def _header_param(value: str, param: str, header: str = "content-type") -> str | None:
    """A parameter of a MIME header value, unquoted and RFC 2231-decoded."""
    message = email.parser.HeaderParser().parsestr(f"{header}: {value}\r\n\r\n")
    found = message.get_param(param, header=header)
    if found is None:
        return None
    return email.utils.collapse_rfc2231_value(found)


def _parse_multipart(body: bytes, boundary: bytes) -> list[FormPart]:
    """Split a multipart body on its boundary (RFC 7578 / RFC 2046), binary-safe."""
    delimiter = b"--" + boundary
    if body.startswith(delimiter):
        pos = len(delimiter)
    else:  # a preamble precedes the first delimiter
        first = body.find(b"\r\n" + delimiter)
        if first < 0:
            raise ValueError("multipart body has no opening boundary")
        pos = first + 2 + len(delimiter)
    parts: list[FormPart] = []
    while not body.startswith(b"--", pos):  # "--" after a delimiter closes the body
        line_end = body.find(b"\r\n", pos)
        if line_end < 0:
            raise ValueError("multipart body is truncated")
        start = line_end + 2
        end = body.find(b"\r\n" + delimiter, start)
        if end < 0:
            raise ValueError("multipart body has no closing boundary")
        parts.append(_parse_part(body[start:end]))
        pos = end + 2 + len(delimiter)
    return parts


def _parse_part(raw: bytes) -> FormPart:
    """One part: its headers, then its content as bytes (files) or str (plain fields)."""
    if raw.startswith(b"\r\n"):
        header_block, content = b"", raw[2:]
    else:
        split = raw.find(b"\r\n\r\n")
        if split < 0:
            raise ValueError("multipart part has no header terminator")
        header_block, content = raw[:split], raw[split + 4 :]
    header_text = header_block.decode("utf-8", "replace") + "\r\n\r\n"
    headers = email.parser.HeaderParser().parsestr(header_text)
    disposition = headers.get("content-disposition", "")
    name = _header_param(disposition, "name", "content-disposition") or ""
    filename = _header_param(disposition, "filename", "content-disposition")
    content_type = headers.get("content-type")
    content_type = content_type.strip() if content_type else None
    binary_type = content_type is not None and not content_type.lower().startswith("text/")
    is_file = filename is not None or binary_type
    value: str | bytes = content if is_file else content.decode("utf-8", "replace")
    return (name, value, filename, content_type)


def _frozen_mapping(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return dict(value or {})


def _lower_keys(value: Mapping[str, str] | None) -> Mapping[str, str]:
    return {str(k).lower(): v for k, v in (value or {}).items()}


@attrs.frozen
class WireRecord:
    """What one paid request asked the provider for, decoded from its wire into neutral words.

    An emulator builds one per paid request it decodes and hands it to `Emulator.record_wire`;
    the conformance suite asserts on these instead of on each provider's JSON, so "the seed was
    dropped" or "the inputs went in reverse" fails the same way for every plugin. `images` are
    the input images exactly as the client sent them, decoded from their transport (base64,
    data URL, multipart part, or a URL the emulator fetched) to the encoded image bytes, in the
    order sent. `count` is the number of images the request asks for (None: the wire has no such
    field, one image). `headers` are lower-cased and not redacted: the suite checks that the
    sentinel key went where the provider expects it, and nowhere else.
    """

    operation: str  # "generate" | "edit" | "chat" | "submit" | ...
    model: str | None = None
    prompt: str | None = None
    images: tuple[bytes, ...] = attrs.field(default=(), converter=tuple, repr=lambda v: f"<{len(v)} images>")
    mask: bytes | None = attrs.field(default=None, repr=lambda v: "None" if v is None else f"<{len(v)} B>")
    count: int | None = None
    seed: int | None = None
    size: str | None = None
    aspect_ratio: str | None = None
    resolution: str | None = None
    negative_prompt: str | None = None
    steps: int | None = None
    guidance: float | None = None
    strength: float | None = None
    extra: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_mapping)  # provider knobs
    headers: Mapping[str, str] = attrs.field(factory=dict, converter=_lower_keys, repr=False)


# -------------------------------------------------------------------------------- responses


@dataclass
class Response:
    """What a route answers; dict and list bodies are sent as JSON."""

    status: int = 200
    body: bytes | str | dict | list = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None

    @classmethod
    def json(cls, obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        """A JSON answer; any JSON value, not only objects."""
        return cls(status, _json.dumps(obj).encode(), dict(headers or {}), "application/json")

    def render(self) -> tuple[bytes, dict[str, str]]:
        """The body bytes and headers to send; the server adds the framing headers itself."""
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _STRIPPED_HEADERS}
        declared = [k for k in headers if k.lower() == "content-type"]
        content_type = self.content_type or (headers[declared[0]] if declared else None)
        for key in declared:
            del headers[key]
        data, default_type = _encode_body(self.body)
        content_type = content_type or default_type
        if content_type:
            headers["Content-Type"] = content_type
        return data, headers


def _encode_body(body: bytes | str | dict | list) -> tuple[bytes, str | None]:
    if isinstance(body, (dict, list)):
        return _json.dumps(body).encode(), "application/json"
    if isinstance(body, str):
        return body.encode(), "text/plain; charset=utf-8"
    data = bytes(body)
    return data, "application/octet-stream" if data else None


HandlerResult = Union[Response, dict, list, tuple]
"""A handler returns a Response, a JSON dict/list (200), or (status, body[, headers])."""

Handler = Callable[[RecordedRequest, "re.Match[str]"], HandlerResult]


def _coerce(result: HandlerResult) -> Response:
    """Turn the short forms a handler may return into a Response."""
    if isinstance(result, Response):
        return result
    if isinstance(result, (dict, list)):
        return Response.json(result)
    if isinstance(result, tuple) and len(result) in (2, 3):
        status, body = result[0], result[1]
        headers = dict(result[2]) if len(result) == 3 else {}
        if isinstance(body, (dict, list)):
            return Response.json(body, status, headers)
        return Response(status, body, headers)
    raise TypeError(
        f"a route handler returned {type(result).__name__}; return a Response, dict or tuple"
    )


# ----------------------------------------------------------------------------------- faults


@dataclass
class Fault:
    """One injected misbehaviour, applied to the next `times` matching requests (0 = forever).

    With `status` or `body` the fault answers instead of the route; otherwise the route answers
    and the fault only adds `headers`/`retry_after`, delays, drops or truncates.
    """

    method: str | None = None
    path: str | None = None  # regex, re.search against the path
    times: int = 1
    status: int | None = None
    body: bytes | str | dict | None = None
    headers: dict[str, str] = field(default_factory=dict)
    retry_after: float | int | None = None
    delay: float = 0.0  # seconds to wait after reading the body, before answering
    drop: Literal["before_body", "after_body"] | None = None
    truncate: bool = False
    trickle: float = 0.0  # seconds between the answer body's bytes (a server that drips)
    billable: bool | None = None
    hits: int = field(default=0, init=False, compare=False)  # requests it has applied to so far

    def __post_init__(self) -> None:
        if self.drop not in (None, "before_body", "after_body"):
            raise ValueError(
                f"Fault.drop must be None, 'before_body' or 'after_body', not {self.drop!r}"
            )
        if self.times < 0:
            raise ValueError("Fault.times must be >= 0 (0 = forever)")
        if self.path is not None:
            re.compile(self.path)

    @property
    def answers(self) -> bool:
        """Whether the fault replaces the route's answer (the server refused before working)."""
        return self.status is not None or self.body is not None

    @property
    def exhausted(self) -> bool:
        return self.times != 0 and self.hits >= self.times

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path is None or re.search(self.path, path) is not None

    def extra_headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        if self.retry_after is not None:
            headers["Retry-After"] = _format_seconds(self.retry_after)
        return headers

    def response(self) -> Response:
        """The fault's own answer (only meaningful when `answers`)."""
        status = 200 if self.status is None else self.status
        body = self.body
        if body is None:
            body = {"error": {"message": f"injected fault: HTTP {status}", "code": status}}
        return Response(status, body, self.extra_headers())


def _format_seconds(value: float | int) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


# ---------------------------------------------------------------------------------- routing


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    billable: bool

    def accepts(self, method: str) -> bool:
        return self.method in ("*", method)


class _BodyError(Exception):
    """The request body cannot be read; answer `status` and close the connection."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


# --------------------------------------------------------------------------------- emulator


class Emulator:
    """A threaded HTTP server on loopback. Subclasses register routes in `setup_routes()`.

    `setup_routes()` runs once, at the first `start()`, so a subclass may set its own attributes
    before or after calling `super().__init__()`. Routes registered outside `setup_routes()` (by a
    test, to override one answer) take precedence over it, the latest first.
    """

    max_body_bytes: int = 100 * 1024 * 1024  # larger bodies get 413 (providers cap far lower)
    max_concurrent: int | None = None
    """Paid requests allowed in flight at once (None = any); one more gets the provider's 429
    with Retry-After: 1, is not billed, and counts in `concurrency_refusals`."""
    latency: float = 0.0
    """Seconds every paid request takes before its answer (batch benchmarks: a slow provider)."""
    storybook: bool = False
    """Paint pictures a person can read (`apiedit.testing.storybook`) instead of the colour codes
    tests decode; `apiedit demo` and `apiedit emulate` turn it on."""

    def present(self) -> Emulator:
        """Get ready to be watched by a person (`apiedit demo`, `apiedit emulate`): storybook
        pictures, and no waiting that only tests need. Subclasses may add their own."""
        self.storybook = True
        return self

    def storybook_picture(self, prompt: str, inputs: Any, size: tuple[int, int],
                          fmt: str = "PNG") -> bytes:
        """The storybook picture for one answer, tagged with this emulator's provider."""
        from .storybook import paint

        label = type(self).__name__.removesuffix("Emulator") or "apiedit"
        return paint(prompt, list(inputs), size, fmt=fmt, label=label)

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.requests: list[RecordedRequest] = []
        self.handler_errors: list[str] = []  # tracebacks of handlers that raised
        self.answers: list[tuple[RecordedRequest, Response]] = []  # what each route handler sent
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._billable = 0
        self._in_flight = 0
        self.concurrency_refusals = 0
        self._routes: list[_Route] = []
        self._overrides: list[_Route] = []
        self._routes_ready = False
        self._in_setup = False
        self._files: dict[str, tuple[bytes, str]] = {}
        self.wire: list[WireRecord] = []  # one per paid request decoded, in arrival order
        self.outputs: list[bytes] = []  # output images as answered (inline or served), in order
        self._output_rewrite: Callable[[str], str] | None = None
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- to override

    def setup_routes(self) -> None:
        """Register the provider's routes with `self.route(...)`."""

    def error_response(self, kind: str) -> Response:
        """The provider's canned error for `kind` (one of ERROR_KINDS), as the real API sends it."""
        raise NotImplementedError(f"{type(self).__name__} does not define error_response({kind!r})")

    # -- the wire record (what the conformance suite asserts on)

    def record_wire(self, record: WireRecord) -> None:
        """Log what one paid request asked for; call it once per request the emulator decodes."""
        with self._lock:
            self.wire.append(record)

    def last_wire(self) -> WireRecord:
        """The latest WireRecord; AssertionError when the emulator recorded none."""
        with self._lock:
            if self.wire:
                return self.wire[-1]
            paid = sum(1 for r in self.requests if r.billable)
        raise AssertionError(
            f"{type(self).__name__} recorded no WireRecord ({paid} paid request(s) arrived): "
            "its handlers must call record_wire() for every paid request they decode"
        )

    def image_bytes(self, ref: str) -> bytes:
        """The encoded image behind a reference a client sent: a data URL, bare base64, or a URL
        this emulator serves (`serve_bytes`). For WireRecord.images; ValueError otherwise."""
        ref = ref.strip()
        if ref.startswith(("http://", "https://")):
            found = self.served(ref)
            if found is None:
                raise ValueError(f"{type(self).__name__} cannot fetch {ref[:80]!r}")
            return found
        if ref.startswith("data:"):
            header, _, ref = ref.partition(",")
            if not header.endswith(";base64"):
                raise ValueError(f"not a base64 data URL: {header[:40]!r}")
        return base64.b64decode(ref, validate=False)

    def record_output(self, data: bytes) -> None:
        """Log one output image as answered (inline or served), in answer order. Outputs of one
        answer must look different (tests check the order they come back in)."""
        with self._lock:
            self.outputs.append(bytes(data))

    # -- optional abilities; the defaults skip the test that needs them, with the reason

    serves_output_urls: bool = False
    """True for emulators whose answers carry output images as URLs made by `output_url`."""

    def output_url(self, data: bytes, content_type: str = "image/png") -> str:
        """Serve one output image and return the URL to answer with (recorded as an output).
        After `answer_outputs_via(rewrite)` the URL is `rewrite(url)`."""
        self.record_output(data)
        url = self.serve_bytes(data, content_type)
        rewrite = self._output_rewrite
        return rewrite(url) if rewrite is not None else url

    def answer_outputs_via(self, rewrite: Callable[[str], str] | None) -> None:
        """From now on answer output URLs as `rewrite(url)` (None: as served). The suite points
        one at a private address to prove the plugin downloads through `apiedit.download`."""
        if not self.serves_output_urls:
            raise unittest.SkipTest(f"{type(self).__name__} answers output images inline, not as URLs")
        self._output_rewrite = rewrite

    def fail_next_answer(self, kind: str) -> str | None:
        """Make the next paid request succeed at the HTTP level and fail in-band, the way the
        provider reports it: an async job that ends failed, or a 200 answer carrying a refusal.
        `kind` is one of ERROR_KINDS ("blocked" above all). Returns the provider's message the
        failure carries (the error must repeat it), or None when the answer has none. Override
        where the provider has such answers; raise unittest.SkipTest for kinds it cannot express
        that way."""
        raise unittest.SkipTest(f"{type(self).__name__} has no in-band {kind!r} answer (it reports "
                                "that kind as an HTTP error only)")

    # -- routes, faults, files

    def route(self, method: str, pattern: str, handler: Handler, *, billable: bool = False) -> None:
        """Answer `method` (or "*") on paths that fully match `pattern` with `handler`."""
        new = _Route(method.upper(), re.compile(pattern), handler, billable)
        with self._lock:
            (self._routes if self._in_setup else self._overrides).append(new)

    def inject(self, fault: Fault) -> Fault:
        """Apply `fault` to the next matching requests; earlier faults are matched first."""
        with self._lock:
            self._faults.append(fault)
        return fault

    def fault_for(self, kind: str, **kw: Any) -> Fault:
        """A Fault answering with this provider's canned `kind` error; `kw` go to Fault."""
        if kind not in ERROR_KINDS:
            expected = ", ".join(ERROR_KINDS)
            raise ValueError(f"unknown error kind {kind!r}; expected one of {expected}")
        response = self.error_response(kind)
        data, headers = response.render()
        headers.update(kw.pop("headers", {}))
        return Fault(status=response.status, body=data, headers=headers, **kw)

    @property
    def faults(self) -> list[Fault]:
        """The faults still pending (a copy)."""
        with self._lock:
            return list(self._faults)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def serve_bytes(self, data: bytes, content_type: str) -> str:
        """Host `data` at a fresh absolute URL, as providers that answer with image URLs do."""
        file_id = uuid.uuid4().hex
        with self._lock:
            self._files[file_id] = (bytes(data), content_type)
        suffix = mimetypes.guess_extension(content_type.split(";")[0].strip()) or ""
        return f"{self.base_url}/_files/{file_id}{suffix}"

    def served(self, url: str) -> bytes | None:
        """The bytes behind a URL this emulator handed out with `serve_bytes`, else None."""
        found = re.fullmatch(re.escape(self.base_url) + _FILE_ROUTE, url)
        with self._lock:
            entry = self._files.get(found["file_id"]) if found else None
        return entry[0] if entry else None

    # -- the log

    @property
    def billable_count(self) -> int:
        """Requests to billable routes whose body was read and that the fault rules count."""
        with self._lock:
            return self._billable

    @property
    def paid_in_flight(self) -> int:
        """Paid requests being answered now (what `max_concurrent` counts): a client killed
        mid-call leaves its requests here until their answers are written."""
        with self._lock:
            return self._in_flight

    def requests_to(self, path_regex: str, method: str | None = None) -> list[RecordedRequest]:
        """Logged requests whose path matches `path_regex` (re.search), optionally by method."""
        with self._lock:
            logged = list(self.requests)
        return [
            r for r in logged
            if re.search(path_regex, r.path) and (method is None or r.method == method.upper())
        ]

    def reset(self) -> None:
        """Forget the log, the wire record, the counters and the faults (routes and served files
        stay)."""
        with self._lock:
            self.requests.clear()
            self.handler_errors.clear()
            self.answers.clear()
            self._faults.clear()
            self.wire.clear()
            self.outputs.clear()
            self._output_rewrite = None
            self._billable = 0
            self.concurrency_refusals = 0

    def sleep(self, seconds: float) -> bool:
        """Sleep in a handler without delaying `stop()`; False if the emulator is stopping."""
        return not self._stopping.wait(seconds)

    # -- lifecycle

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not running; call start() first")
        host, port = self._server.server_address[:2]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}"

    def start(self) -> Emulator:
        """Bind (port 0 picks a free port) and serve on a daemon thread."""
        if self._server is not None:
            return self
        self._ensure_routes()
        self._stopping.clear()
        server = _Server((self.host, self.port), self)
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{type(self).__name__}@{server.server_address[1]}",
            daemon=True,
        )
        self._server, self._thread = server, thread
        self.port = server.server_address[1]  # a restart keeps the same base_url
        thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and cut every open connection; returns within about a second."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping.set()  # wakes delay faults and handlers in `sleep()`
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            _shutdown_socket(connection)
        thread.join(timeout=1.0)
        self._server = self._thread = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.base_url if self._server is not None else "stopped"
        return f"<{type(self).__name__} {where}>"

    # -- internals used by the request handler

    def _ensure_routes(self) -> None:
        if self._routes_ready:
            return
        self._in_setup = True
        try:
            self.route("GET", _FILE_ROUTE, self._serve_file)
            self.setup_routes()
        finally:
            self._in_setup = False
        self._routes_ready = True

    def _serve_file(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        with self._lock:
            found = self._files.get(match["file_id"])
        if found is None:
            return Response.json({"error": {"message": "no such file"}}, status=404)
        data, content_type = found
        return Response(200, data, content_type=content_type)

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if not fault.exhausted and fault.matches(method, path):
                    fault.hits += 1
                    if fault.exhausted:
                        self._faults.remove(fault)
                    return fault
        return None

    def _find_route(
        self, method: str, path: str
    ) -> tuple[_Route | None, re.Match[str] | None, list[str]]:
        """The route for (method, path), else the methods the path is served under."""
        with self._lock:
            candidates = list(reversed(self._overrides)) + self._routes
        methods = [method, "GET"] if method == "HEAD" else [method]
        allowed: list[str] = []
        for wanted in methods:
            for route in candidates:
                match = route.pattern.fullmatch(path)
                if match is None:
                    continue
                if route.accepts(wanted):
                    return route, match, []
                allowed.append(route.method)
        return None, None, sorted(set(allowed))

    def _enter_paid(self) -> bool:
        """Count a paid request in; False (and a refusal counted) when over `max_concurrent`."""
        with self._lock:
            if self.max_concurrent is not None and self._in_flight >= self.max_concurrent:
                self.concurrency_refusals += 1
                return False
            self._in_flight += 1
            return True

    def _leave_paid(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)
            if request.billable:
                self._billable += 1

    def _run_handler(self, request: RecordedRequest, route: _Route | None, match: re.Match[str] | None,
                allowed: list[str]) -> Response:
        """Run the route's handler; a crash becomes a 500 carrying the traceback."""
        if route is None or match is None:
            if allowed:
                return Response.json({"error": {"message": "method not allowed"}}, 405,
                                     {"Allow": ", ".join(allowed)})
            return Response.json({"error": {"message": "no route"}}, status=404)
        try:
            response = _coerce(route.handler(request, match))
            with self._lock:
                self.answers.append((request, response))
            return response
        except Exception:
            text = traceback.format_exc()
            log.error("emulator handler for %s %s raised:\n%s", request.method, request.path, text)
            with self._lock:
                self.handler_errors.append(text)
            return Response(500, text, content_type="text/plain; charset=utf-8")

    def _track(self, connection: socket.socket, open_: bool) -> None:
        with self._lock:
            if open_:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)


def _shutdown_socket(connection: socket.socket) -> None:
    try:
        connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


# ----------------------------------------------------------------------------------- server


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], emulator: Emulator) -> None:
        self.emulator = emulator
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _RequestHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), which can stall on a reverse DNS lookup.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("emulator connection from %s ended with an error", client_address, exc_info=True)


class _RequestHandler(http.server.BaseHTTPRequestHandler):
    """Reads one request, applies the matching fault, answers with exact framing."""

    protocol_version = "HTTP/1.1"  # keep-alive: every answer carries Content-Length
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.emulator._track(self.connection, True)
        if self.server.emulator._stopping.is_set():
            self._drop()

    def finish(self) -> None:
        self.server.emulator._track(self.connection, False)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("emulator %s: " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def _handle(self) -> None:
        try:
            self._serve_one()
        except OSError:  # the client went away, or a drop/stop cut the socket
            self._drop()
        except Exception:
            log.exception("emulator failed on %s %s", self.command, self.path)
            self._drop()

    def _serve_one(self) -> None:
        emulator = self.server.emulator
        split = urlsplit(self.path)
        path = split.path or "/"
        query = parse_qs(split.query, keep_blank_values=True)
        headers = _lower_headers(self.headers)
        recorded = functools.partial(RecordedRequest, self.command, path, query, headers)
        fault = emulator._take_fault(self.command, path)

        if fault is not None and fault.drop == "before_body":
            emulator._record(recorded(b"", fault.billable is True, fault))
            self._drop()
            return
        try:
            body = self._read_body(headers, emulator.max_body_bytes)
        except _BodyError as exc:
            emulator._record(recorded(b"", False, fault))
            self.close_connection = True
            refusal = {"error": {"message": str(exc)}}
            self._send(Response.json(refusal, exc.status, {"Connection": "close"}))
            return

        route, match, allowed = emulator._find_route(self.command, path)
        paid_route = route is not None and route.billable and not (fault is not None and fault.answers)
        if paid_route and not emulator._enter_paid():
            emulator._record(recorded(body, False, fault))
            refusal = emulator.error_response("rate_limit")
            self._send(dataclasses.replace(refusal, headers={**refusal.headers, "Retry-After": "1"}))
            return
        try:
            request = recorded(body, _billable(route, fault), fault)
            emulator._record(request)
            if paid_route and emulator.latency > 0 and not emulator.sleep(emulator.latency):
                self._drop()
                return
            self._answer(request, route, match, allowed, fault)
        finally:
            if paid_route:
                emulator._leave_paid()

    def _answer(self, request: RecordedRequest, route: _Route | None, match: re.Match[str] | None,
                allowed: list[str], fault: Fault | None) -> None:
        emulator = self.server.emulator

        if fault is not None and fault.delay > 0 and not emulator.sleep(fault.delay):
            self._drop()
            return
        if fault is not None and fault.drop == "after_body":
            self._drop()
            return
        self._send(self._response(request, route, match, allowed, fault),
                   truncate=fault is not None and fault.truncate,
                   trickle=fault.trickle if fault is not None else 0.0)

    def _response(self, request: RecordedRequest, route: _Route | None, match: re.Match[str] | None,
                  allowed: list[str], fault: Fault | None) -> Response:
        if fault is not None and fault.answers:
            return fault.response()
        response = self.server.emulator._run_handler(request, route, match, allowed)
        if fault is not None and fault.extra_headers():
            headers = {**response.headers, **fault.extra_headers()}
            response = dataclasses.replace(response, headers=headers)
        return response

    # -- body

    def _read_body(self, headers: dict[str, str], limit: int) -> bytes:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return self._read_chunked(limit)
        length = headers.get("content-length")
        if length is None:
            return b""
        if not length.strip().isdigit():
            raise _BodyError(400, f"bad Content-Length {length!r}")
        size = int(length)
        if size > limit:
            self._discard(size)  # read it anyway, so the client sees the 413 and not a reset
            raise _BodyError(413, f"request body of {size} bytes exceeds the {limit} byte limit")
        return self._read_exact(size)

    def _read_exact(self, size: int) -> bytes:
        data = self.rfile.read(size)
        if len(data) != size:
            raise ConnectionError(f"client sent {len(data)} of {size} body bytes")
        return data

    def _discard(self, size: int) -> None:
        while size > 0:
            size -= len(self._read_exact(min(size, 1 << 20)))

    def _read_chunked(self, limit: int) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(_MAX_LINE)
            if not line:
                raise ConnectionError("client closed inside a chunked body")
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _BodyError(400, f"bad chunk size line {line[:40]!r}") from None
            if size == 0:
                break
            total += size
            if total > limit:
                self._discard(size)
            else:
                chunks.append(self._read_exact(size))
            if self._read_exact(2) != b"\r\n":
                raise _BodyError(400, "chunk data not followed by CRLF")
        while self.rfile.readline(_MAX_LINE) not in (b"\r\n", b"\n", b""):
            pass  # trailer fields are ignored
        if total > limit:
            raise _BodyError(413, f"chunked body of {total} bytes exceeds the {limit} byte limit")
        return b"".join(chunks)

    # -- answer

    def _send(self, response: Response, truncate: bool = False, trickle: float = 0.0) -> None:
        data, headers = response.render()
        self.send_response(response.status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD" and trickle > 0:
            self.wfile.flush()
            for index in range(len(data)):
                self.wfile.write(data[index : index + 1])
                self.wfile.flush()
                if not self.server.emulator.sleep(trickle):
                    break
        elif self.command != "HEAD":
            self.wfile.write(data[: len(data) // 2] if truncate else data)
        self.wfile.flush()
        if truncate:
            self._drop()

    def _drop(self) -> None:
        """Close the connection without (further) answer."""
        self.close_connection = True
        _shutdown_socket(self.connection)


def _billable(route: _Route | None, fault: Fault | None) -> bool:
    """Billable routes count once the body is read, unless a fault refused before any work."""
    if fault is not None and fault.billable is not None:
        return fault.billable
    if route is None or not route.billable:
        return False
    return fault is None or not fault.answers


def _lower_headers(message: Any) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in message.items():
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers
