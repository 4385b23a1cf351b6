"""Sending `generateContent`: through the google-genai SDK when it is usable, else plain REST.

Both paths go through core's `HttpClient`, so core's billing-safe retry policy rules either way:
the SDK is given an httpx transport that hands each request to `settings.http` (its own
retries stay off). The SDK builds and serialises the request; the raw JSON answer is read
back from the transport, so both paths parse byte-identical answers.

REST is the default: it sends the same body and parses the same answer, and measured against
the SDK path (benchmarks/run.py) it saves ~0.4 s on the first call of a process (importing
google-genai and building its client) and a few ms per call. `APIEDIT_GEMINI_TRANSPORT=auto`
uses google-genai when it is installed and able to express the request, else REST (too old,
not importable, or refusing the request before sending anything, e.g. an `imageSize` an old
SDK does not know); `sdk` insists on it. REST is never a second attempt after the API answered.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

import requests
from apiedit import ApiEditError, ConfigurationError, ProviderError
from apiedit.errormap import json_object
from apiedit.protocols.jsonbody import json_body
from apiedit.redact import get_logger

from . import wire

__all__ = ["TRANSPORT_ENV", "generate", "load_sdk", "sdk_status"]

TRANSPORT_ENV = "APIEDIT_GEMINI_TRANSPORT"
DEFAULT_TRANSPORT = "rest"  # see the module docstring for why
log = get_logger("apiedit_gemini")

_sdk_cache: dict[str, Any] = {}
_clients_lock = threading.Lock()


def transport_mode() -> str:
    mode = os.environ.get(TRANSPORT_ENV, "").strip().lower() or DEFAULT_TRANSPORT
    if mode not in ("auto", "sdk", "rest"):
        raise ConfigurationError(f"{TRANSPORT_ENV}={mode!r} is not valid; use auto, sdk or rest.")
    return mode


def load_sdk() -> tuple[Any, Any] | None:
    """(google.genai, google.genai.types) when a compatible SDK is installed, else None."""
    if "sdk" in _sdk_cache:
        return _sdk_cache["sdk"]
    sdk: tuple[Any, Any] | None = None
    try:
        from google import genai
        from google.genai import types

        fields = getattr(types.HttpOptions, "model_fields", {})
        missing = [f for f in ("base_url", "api_version", "client_args", "retry_options") if f not in fields]
        if missing or not hasattr(types, "ImageConfig"):
            _sdk_cache["reason"] = f"google-genai {_version(genai)} lacks {', '.join(missing) or 'ImageConfig'}"
        else:
            sdk = (genai, types)
            _sdk_cache["reason"] = f"google-genai {_version(genai)}"
    except ImportError as exc:
        _sdk_cache["reason"] = f"google-genai is not importable ({exc})"
    _sdk_cache["sdk"] = sdk
    return sdk


def sdk_status() -> str:
    """Why the SDK is or is not used (for `info` and error messages)."""
    load_sdk()
    return str(_sdk_cache.get("reason", ""))


def _version(genai: Any) -> str:
    return str(getattr(genai, "__version__", "?"))


def generate(settings: Any, model: str, body: dict[str, Any]) -> tuple[dict[str, Any], str, str]:
    """Send one billable `generateContent`; return (answer JSON, transport used, API version)."""
    mode = transport_mode()
    root, version = wire.endpoint(settings.base_url)
    key = settings.require_key()
    if mode != "rest":
        sdk = load_sdk()
        if sdk is None:
            if mode == "sdk":
                raise ConfigurationError(
                    f"{TRANSPORT_ENV}=sdk, but {sdk_status()}. Install it with "
                    "`pip install 'apiedit-gemini[sdk]'`, or set the variable to auto.",
                    provider=wire.PROVIDER,
                )
        else:
            answer = _send_sdk(sdk, settings, key, root, version, model, body, strict=mode == "sdk")
            if answer is not None:
                return answer, "sdk", version
    return _send_rest(settings, key, root, version, model, body), "rest", version


def _mapper(settings: Any) -> Callable[[requests.Response], ApiEditError]:
    return lambda response: wire.map_error(response, settings.label)


def _json(response: requests.Response, label: str) -> dict[str, Any]:
    kind = response.headers.get("content-type", "no content type")
    return json_object(response, label, wire.PROVIDER, expected=f"JSON ({kind})",
                       hint="The request may have been billed. Check the base URL.")


def _send_rest(settings: Any, key: str, root: str, version: str, model: str, body: dict[str, Any]) -> dict[str, Any]:
    response = settings.http.request(
        "POST",
        f"{root}/{version}/{wire.model_path(model)}",
        billable=True,
        map_error=_mapper(settings),
        # the key goes in a header, never in `?key=`, so URLs in logs stay clean
        headers={"x-goog-api-key": key, "Content-Type": "application/json"},
        data=json_body(body),  # json.dumps(body).encode(), without re-encoding the images
    )
    return _json(response, settings.label)


# ---------------------------------------------------------------------------- SDK path


def _httpx_module(genai_api_client: Any) -> Any:
    """The httpx flavour the installed SDK uses (httpx2 in google-genai 3.x, httpx before)."""
    wanted = os.environ.get("GOOGLE_GENAI_HTTP_CLIENT", "").strip().lower()
    for name in ([wanted] if wanted in ("httpx", "httpx2") else []) + ["httpx2", "httpx"]:
        module = getattr(genai_api_client, name, None)
        if module is not None:
            return module
    import httpx

    return httpx


class _Call(threading.local):
    """The call a shared SDK client is sending right now, per thread (settings, answer)."""

    settings: Any = None
    sent: bool = False
    answer: requests.Response | None = None


def _transport(httpx: Any, call: _Call) -> Any:
    """An httpx transport that sends through core's HttpClient (and remembers the answer).

    The SDK gets an empty JSON object back instead of the answer: its parse (a base64 decode
    and pydantic validation of every image) would be thrown away, since the raw JSON taken
    from here is what both paths parse.
    """

    class CoreTransport(httpx.BaseTransport):  # type: ignore[misc, name-defined]
        def handle_request(self, request: Any) -> Any:
            settings = call.settings
            content = request.read()
            headers = {
                k: v for k, v in request.headers.items()
                if k.lower() not in ("host", "content-length", "connection", "accept-encoding")
            }
            url = str(request.url)
            call.sent = True
            response = settings.http.request(
                request.method,
                url,
                billable=request.method.upper() == "POST" and ":generateContent" in url,
                map_error=_mapper(settings),
                headers=headers,
                data=content or None,
            )
            call.answer = response
            return httpx.Response(response.status_code, headers={"content-type": "application/json"},
                                  content=b"{}", request=request)

    return CoreTransport()


def _decoded(value: Any) -> Any:
    """A copy of `contents` with base64 fields as bytes, which every SDK version validates.

    Uploads built by `wire` carry their bytes (`wire.Base64`), so they are not decoded again.
    """
    from apiedit.images import b64decode_any

    def raw(item: str) -> bytes:
        return item.raw if isinstance(item, wire.Base64) else b64decode_any(item)

    if isinstance(value, list):
        return [_decoded(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        if key in ("thoughtSignature", "thought_signature") and isinstance(item, str):
            out[key] = raw(item)
        elif key in ("inlineData", "inline_data") and isinstance(item, dict):
            out[key] = {k: raw(v) if k == "data" and isinstance(v, str) else v for k, v in item.items()}
        else:
            out[key] = _decoded(item)
    return out


def _sdk_arguments(types: Any, body: dict[str, Any]) -> tuple[list[Any], Any]:
    """The body as SDK objects; pydantic refuses a field this SDK version does not know."""
    contents = [types.Content.model_validate(c) for c in _decoded(body["contents"])]
    generation = dict(body.get("generationConfig", {}))
    image_config = generation.pop("imageConfig", None)
    config = types.GenerateContentConfig.model_validate(generation)
    if image_config:
        config.image_config = types.ImageConfig.model_validate(image_config)
    if "automatic_function_calling" in types.GenerateContentConfig.model_fields:
        # client-side only, but spelled out: the SDK must never make a second (paid) call
        config.automatic_function_calling = types.AutomaticFunctionCallingConfig(disable=True)
    return contents, config


def _send_sdk(sdk: tuple[Any, Any], settings: Any, key: str, root: str, version: str, model: str,
              body: dict[str, Any], *, strict: bool) -> dict[str, Any] | None:
    """The answer JSON, or None when this SDK cannot express the request (nothing was sent)."""
    _, types = sdk
    try:
        contents, config = _sdk_arguments(types, body)
    except Exception as exc:  # noqa: BLE001  (pydantic ValidationError: an older SDK lacks a field)
        if strict:
            raise ConfigurationError(
                f"{sdk_status()} cannot express this request ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0]}). Upgrade google-genai, or set {TRANSPORT_ENV}=auto.",
                provider=wire.PROVIDER,
            ) from None
        log.info("%s cannot express this request; using REST (%s)", sdk_status(), type(exc).__name__)
        return None

    call: _Call | None = None
    try:
        client, call = _client(sdk, key, root, version)
        call.settings, call.sent, call.answer = settings, False, None
        client.models.generate_content(model=model, contents=contents, config=config)
    except ApiEditError:
        raise
    except Exception as exc:  # whatever the SDK raised, what matters is what was sent
        if call is None or (call.answer is None and not call.sent):
            if strict:
                raise ConfigurationError(
                    f"{sdk_status()} failed before sending ({type(exc).__name__}: {exc}). "
                    f"Set {TRANSPORT_ENV}=auto or rest.",
                    provider=wire.PROVIDER,
                ) from None
            log.info("%s failed before sending (%s); using REST", sdk_status(), type(exc).__name__)
            return None
        if call.answer is None:
            raise ProviderError(
                f"google-genai failed while sending ({type(exc).__name__}: {exc}); the request may "
                "have been billed, so it was not resent.",
                provider=wire.PROVIDER,
            ) from exc
        # the SDK could not read a 200 answer: the raw JSON below is still the answer we paid for
        log.debug("google-genai could not parse the answer (%s); reading the JSON directly", exc)
    finally:
        answer = call.answer if call is not None else None
        if call is not None:
            call.settings, call.answer = None, None
    if answer is None:
        raise ProviderError("google-genai returned without sending the request.", provider=wire.PROVIDER)
    return _json(answer, settings.label)


_MAX_CLIENTS = 8  # distinct (key, base URL, version) triples kept; each holds an httpx client


def _client(sdk: tuple[Any, Any], key: str, root: str, version: str) -> tuple[Any, _Call]:
    """One `genai.Client` per key, base URL and API version, reused by every call.

    Building one costs tens of ms (and a TLS context without our ready-made httpx client);
    the per-call settings travel in a thread-local, so threads can share a client.
    """
    genai, types = sdk
    clients: dict[tuple[Any, ...], tuple[Any, _Call]] = _sdk_cache.setdefault("clients", {})
    ident = (id(genai), id(types), key, root, version)
    with _clients_lock:
        found = clients.get(ident)
        if found is not None:
            return found
    from google.genai import _api_client

    httpx = _httpx_module(_api_client)
    call = _Call()
    transport = _transport(httpx, call)
    options: dict[str, Any] = {
        "base_url": root,
        "api_version": version,
        # one attempt: core's HttpClient owns retrying (google-genai retries 429/5xx blindly)
        "retry_options": types.HttpRetryOptions(attempts=1) if hasattr(types, "HttpRetryOptions") else None,
    }
    fields = types.HttpOptions.model_fields
    if "httpx_client" in fields and "httpx_async_client" in fields:
        # ready-made clients: the SDK then builds no TLS context of its own
        options["httpx_client"] = httpx.Client(transport=transport)
        options["httpx_async_client"] = httpx.AsyncClient(transport=httpx.AsyncBaseTransport())
    else:
        options["client_args"] = {"transport": transport}
    # vertexai=False and an explicit key: GOOGLE_GENAI_USE_VERTEXAI & co. must not reroute us
    client = genai.Client(api_key=key, vertexai=False, http_options=types.HttpOptions(**options))
    with _clients_lock:
        if ident not in clients and len(clients) >= _MAX_CLIENTS:
            _close(clients.pop(next(iter(clients)))[0])
        return clients.setdefault(ident, (client, call))


def _close(client: Any) -> None:
    try:
        client.close()
    except Exception as exc:  # noqa: BLE001  (a failed close must not fail a call)
        log.debug("closing a google-genai client failed: %s", exc)
