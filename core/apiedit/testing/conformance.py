"""A conformance suite every provider plugin (ours or a third party's) runs against itself.

    from apiedit.testing.conformance import ProviderConformance
    from apiedit_acme.emulator import AcmeEmulator

    class TestAcmeConformance(ProviderConformance):
        provider = "acme"
        emulator_class = AcmeEmulator
        generate_model = "acme-image-1"
        edit_model = "acme-image-1"
        multi_image_model = "acme-image-1"

The plugin must be installed (its entry point live) and its emulator must implement
`Emulator.error_response(kind)` and call `Emulator.record_wire(WireRecord(...))` for every paid
request it decodes (and `record_output` for every output image it answers), because the suite
judges what reached the wire, not only what came back: the inputs in order (distinct solid
colours, compared after decoding), the prompt, every knob the model's `ModelInfo` declares,
`n` outputs in order, every error kind, in-band failures, output links fetched only through
`apiedit.download`, and no paid resend after an unknown outcome. Tests that need an optional
emulator ability (`answer_outputs_via`, `fail_next_answer`) skip, saying why, when the emulator
lacks it. Each test's docstring says what to fix when it fails.
"""

from __future__ import annotations

import hashlib
import io
from typing import Any, ClassVar, Iterable
from urllib.parse import quote, urlsplit

try:
    import pytest
except ImportError:  # `sample_png` and the rest of apiedit.testing work without pytest
    pytest = None  # type: ignore[assignment]

from ..errors import (
    ApiEditError,
    AuthenticationError,
    ContentBlockedError,
    InvalidInputError,
    MissingKeyError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    QuotaExceededError,
    RateLimitError,
    UnknownModelError,
    UnsupportedFeatureError,
)
from ..host import Host
from ..types import Capability, EditRequest, EditResult, ImageData, ModelInfo, ProviderInfo
from .chat_emulator import colours_close, mean_colour
from .emulator import ERROR_KINDS, Emulator, Fault, RecordedRequest, Response, WireRecord

__all__ = ["PALETTE", "ProviderConformance", "sample_png"]

PALETTE: tuple[tuple[int, int, int], ...] = (
    (230, 25, 75), (60, 180, 75), (0, 130, 200), (255, 225, 25), (145, 30, 180),
    (70, 240, 240), (240, 50, 230), (128, 128, 0), (0, 0, 128), (250, 190, 190),
    (170, 110, 40), (0, 128, 128), (255, 250, 200), (128, 0, 0), (170, 255, 195), (60, 60, 60),
)
"""Distinct solid colours for input images: a test can tell which input arrived where."""

_COLOUR_TOLERANCE = 10  # per channel: a plugin may re-encode or downscale inputs
_PROMPT = "a lighthouse at dusk (conformance 7f3a)"
_KNOBS = ("count", "seed", "size", "aspect_ratio", "resolution", "negative_prompt", "steps",
          "guidance", "strength", "mask")
_KNOB_CAPABILITY = {
    "seed": Capability.SEED, "negative_prompt": Capability.NEGATIVE_PROMPT,
    "steps": Capability.STEPS, "guidance": Capability.GUIDANCE, "strength": Capability.STRENGTH,
    "mask": Capability.MASK,
}
_RESOLUTION_EDGE = {"0.5K": 512, "512": 512, "1K": 1024, "2K": 2048, "4K": 4096}


def sample_png(colour: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (64, 48)) -> bytes:
    """A small solid-colour PNG for test inputs."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    return buf.getvalue()


def _pixels(data: bytes) -> str:
    """A digest of an image's decoded RGB pixels: equal pictures in any container compare equal."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        rgb = img.convert("RGB")
        return hashlib.sha256(f"{rgb.size}".encode() + rgb.tobytes()).hexdigest()


def _ratio(text: str | None, sep: str) -> float | None:
    """w/h of "16:9" (sep ":") or "1664x928" (sep "x"); None when it is not that shape."""
    try:
        w, h = (float(x) for x in str(text).split(sep))
    except (TypeError, ValueError):
        return None
    return w / h if w > 0 and h > 0 else None


def _shape_of(wire: WireRecord) -> float | None:
    """The output shape a record asks for, from its aspect ratio or else its size."""
    return _ratio(wire.aspect_ratio, ":") or _ratio(wire.size, "x")


def _image_size(data: bytes) -> tuple[int, int]:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        return img.size


def _paid(emulator: Emulator) -> list[WireRecord]:
    """The wire records so far; a clear failure when the emulator keeps none."""
    emulator.last_wire()
    return list(emulator.wire)


def __getattr__(name: str) -> Any:
    if name == "ProviderConformance":
        raise ImportError("The conformance suite runs under pytest: pip install pytest.")
    raise AttributeError(name)


if pytest is not None:
    class ProviderConformance:
        """Subclass and set the class attributes; pytest collects the inherited tests."""

        provider: ClassVar[str]
        emulator_class: ClassVar[type[Emulator]]
        generate_model: ClassVar[str | None] = None
        edit_model: ClassVar[str | None] = None
        multi_image_model: ClassVar[str | None] = None
        multi_image_count: ClassVar[int] = 2
        error_classes: ClassVar[dict[str, type[ApiEditError]]] = {
            "auth": AuthenticationError,
            "quota": QuotaExceededError,
            "rate_limit": RateLimitError,
            "blocked": ContentBlockedError,
            "bad_request": InvalidInputError,
            "overloaded": ProviderUnavailableError,
            "server_error": ProviderUnavailableError,
        }
        """The typed error each of ERROR_KINDS must become (a plugin may narrow an entry)."""
        in_band_error_classes: ClassVar[dict[str, type[ApiEditError]]] = {
            "blocked": ContentBlockedError,
            "server_error": ProviderError,
        }
        """The error an in-band failure (a failed job, a refusal inside a 200) must become."""

        # ---- fixtures ------------------------------------------------------------------------
        @pytest.fixture
        def emulator(self, emulator_factory: Any) -> Emulator:
            return emulator_factory(self.emulator_class)

        @pytest.fixture
        def host(self, apiedit_home: Any, monkeypatch: pytest.MonkeyPatch) -> Host:
            host = Host(env={"APIEDIT_LOAD_PLUGINS": self.provider})
            info = host.get_provider(self.provider)
            for var in info.key_env_vars:
                monkeypatch.delenv(var, raising=False)
            return host

        def call(self, host: Host, emulator: Emulator, key: str, **fields: Any) -> EditResult:
            fields.setdefault("prompt", "conformance test")
            return host.edit(self.provider, EditRequest(**fields), api_key=key, base_url=emulator.base_url)

        def model_info(self, host: Host, emulator: Emulator, model_id: str) -> ModelInfo:
            return host.get_model(self.provider, model_id, base_url=emulator.base_url)

        def configured_models(self) -> list[str]:
            found = [self.generate_model, self.edit_model, self.multi_image_model]
            return list(dict.fromkeys(m for m in found if m))

        def simplest_call(self) -> tuple[str, tuple[ImageData, ...]]:
            """A model and inputs for a call whose details do not matter (errors, faults)."""
            model = self.generate_model or self.edit_model
            assert model, "set generate_model or edit_model"
            return model, (() if self.generate_model else (ImageData(sample_png(PALETTE[0])),))

        def assert_input_colours(self, wire: WireRecord, colours: Iterable[tuple[int, int, int]]) -> None:
            """The record's input images are the given solid colours, in this order."""
            colours = list(colours)
            assert len(wire.images) == len(colours), (
                f"{len(colours)} input image(s) were given, {len(wire.images)} reached the wire")
            for index, (data, colour) in enumerate(zip(wire.images, colours)):
                assert data, f"input {index + 1} reached the wire as a link the emulator cannot read"
                got = mean_colour(data)
                assert colours_close(got, colour, _COLOUR_TOLERANCE), (
                    f"input {index + 1} on the wire has colour {got}, expected {colour}: "
                    f"the inputs were sent out of order or replaced (sent: "
                    f"{[mean_colour(d) for d in wire.images]}, given: {colours})")

        @staticmethod
        def assert_images(result: EditResult) -> None:
            from ..images import open_image

            assert isinstance(result, EditResult)
            assert result.images, "the result has no images"
            for image in result.images:
                assert isinstance(image, ImageData)
                img = open_image(image.data)
                assert img.width > 0 and img.height > 0

        # ---- static facts --------------------------------------------------------------------
        def test_provider_info_matches_the_entry_point(self, host: Host) -> None:
            """provider_info() must return a ProviderInfo whose id is the entry-point name."""
            info = host.get_provider(self.provider)
            assert isinstance(info, ProviderInfo)
            assert info.id == self.provider and info.label
            assert not host.failures(), host.failures()

        def test_list_models_without_refresh_does_no_network_io(self, host: Host, emulator: Emulator) -> None:
            """list_models(refresh=False) must answer from cache or a curated table, offline."""
            models = host.list_models(self.provider, base_url=emulator.base_url, api_key="k-123456")
            assert models and all(isinstance(m, ModelInfo) for m in models)
            assert emulator.requests == []

        def test_list_models_refresh_returns_model_infos(self, host: Host, emulator: Emulator) -> None:
            """list_models(refresh=True) must return ModelInfo records from the live list."""
            models = host.list_models(
                self.provider, refresh=True, base_url=emulator.base_url, api_key="k-123456"
            )
            assert models and all(isinstance(m, ModelInfo) for m in models)
            ids = [m.id for m in models]
            assert len(ids) == len(set(ids)), "model ids must be unique"

        def test_a_refresh_the_provider_refuses_raises_instead_of_serving_the_table(
            self, host: Host, emulator: Emulator
        ) -> None:
            """A failed refresh must raise its typed error: map the list route's errors with the
            provider's mapper and let them propagate (core records the list as stale)."""
            emulator.inject(emulator.fault_for("auth", method="GET", times=0))
            with pytest.raises(AuthenticationError):
                host.list_models(self.provider, refresh=True, base_url=emulator.base_url, api_key="k-123456")
            assert host.list_status(self.provider, base_url=emulator.base_url).stale

        def test_a_refresh_of_an_unreachable_base_url_is_a_typed_error(self, host: Host) -> None:
            """No network must be an ApiEditError, never a silent built-in list."""
            with pytest.raises(ApiEditError):
                host.list_models(self.provider, refresh=True, base_url="http://127.0.0.1:9", api_key="k-123456")

        def test_supports_conversation_agrees_with_capabilities(self, host: Host, emulator: Emulator) -> None:
            """supports_conversation(model) must match the CONVERSATION flag of the model's info."""
            for model in host.list_models(self.provider, base_url=emulator.base_url):
                expected = Capability.CONVERSATION in model.capabilities
                assert host.supports_conversation(self.provider, model.id) is expected, model.id

        # ---- calls, judged on the wire --------------------------------------------------------
        def test_text_to_image_returns_decodable_images(self, host: Host, emulator: Emulator, sentinel_key: str) -> None:
            """edit() with no input images must send the prompt and the model, no images, the
            key in a header (not in the URL or the body), and return decodable images, billed once."""
            if not self.generate_model:
                pytest.skip("no text-to-image model configured")
            result = self.call(host, emulator, sentinel_key, model=self.generate_model, prompt=_PROMPT)
            self.assert_images(result)
            assert emulator.billable_count == 1
            wire = emulator.last_wire()
            assert wire.model == self.generate_model, f"model {wire.model!r} reached the wire"
            assert wire.prompt is not None and _PROMPT in wire.prompt, (
                f"the prompt did not reach the wire intact: {wire.prompt!r}")
            assert wire.images == (), f"{len(wire.images)} input image(s) were sent for text-to-image"
            assert any(sentinel_key in value for value in wire.headers.values()), (
                "the API key did not reach the provider in a request header")
            for sent in emulator.requests:  # a key in a URL or a body ends up in logs
                assert sentinel_key not in sent.path + repr(sent.query), f"the key is in {sent.path}'s URL"
                assert sentinel_key.encode() not in sent.body, f"the key is in {sent.path}'s body"

        def test_edit_with_one_image(self, host: Host, emulator: Emulator, sentinel_key: str) -> None:
            """edit() with one input image must send exactly that image (and the prompt) and
            return an image."""
            if not self.edit_model:
                pytest.skip("no edit model configured")
            image = ImageData(sample_png(PALETTE[2]))
            result = self.call(host, emulator, sentinel_key, model=self.edit_model, images=(image,),
                               prompt=_PROMPT)
            self.assert_images(result)
            wire = emulator.last_wire()
            self.assert_input_colours(wire, [PALETTE[2]])
            assert wire.prompt is not None and _PROMPT in wire.prompt, wire.prompt

        def test_compose_several_images(self, host: Host, emulator: Emulator, sentinel_key: str) -> None:
            """edit() with several input images must send them all, in order, in one call: the
            inputs are distinct solid colours and the wire must show them in the same order."""
            if not self.multi_image_model:
                pytest.skip("no multi-image model configured")
            colours = [PALETTE[i % len(PALETTE)] for i in range(self.multi_image_count)]
            images = tuple(ImageData(sample_png(c)) for c in colours)
            result = self.call(host, emulator, sentinel_key, model=self.multi_image_model, images=images)
            self.assert_images(result)
            assert emulator.billable_count == 1
            self.assert_input_colours(emulator.last_wire(), colours)

        def knob_call(
            self, host: Host, emulator: Emulator, knob: str, path: str
        ) -> tuple[str, ModelInfo, dict[str, Any]]:
            """The first configured model that declares `knob` and takes the `path` ("text":
            no inputs, "inputs": one input image), and request fields that set the knob to a value
            other than the model's default. Skips when no model does."""
            if path == "text" and knob in ("mask", "strength"):
                pytest.skip(f"{knob} needs an input image")
            for model_id in self.configured_models():
                info = self.model_info(host, emulator, model_id)
                fields: dict[str, Any] = {"model": model_id, "prompt": _PROMPT}
                if path == "inputs":
                    if not info.supports(Capability.EDIT):
                        continue
                    fields["images"] = (ImageData(sample_png(PALETTE[1])),)
                elif not info.supports(Capability.GENERATE):
                    continue
                capability = _KNOB_CAPABILITY.get(knob)
                if capability is not None and not info.supports(capability):
                    continue
                if knob == "count":
                    if info.max_n < 2:
                        continue
                    fields["n"] = 2
                elif knob == "seed":
                    fields["seed"] = 424242
                elif knob == "negative_prompt":
                    fields["negative_prompt"] = "blurry, extra fingers"
                elif knob == "steps":
                    fields["steps"] = 17
                elif knob == "guidance":
                    fields["guidance"] = 3.5
                elif knob == "strength":
                    fields["strength"] = 0.35
                elif knob == "mask":
                    fields["mask"] = ImageData(_mask_png())
                elif knob == "size":
                    sizes = [v for v in info.sizes if v != "auto"]
                    if not sizes:
                        continue
                    fields["size"] = sizes[-1]
                elif knob == "aspect_ratio":
                    ratios = [v for v in info.aspect_ratios if v != "1:1"]
                    if not ratios:
                        continue
                    fields["aspect_ratio"] = ratios[0]
                elif knob == "resolution":
                    if len(info.resolutions) < 2:
                        continue
                    fields["resolution"] = info.resolutions[-1]
                return model_id, info, fields
            pytest.skip(f"no configured model declares {knob!r} for {path!r} calls")

        @pytest.mark.parametrize("path", ["text", "inputs"])
        @pytest.mark.parametrize("knob", _KNOBS)
        def test_each_supported_knob_reaches_the_wire(
            self, host: Host, emulator: Emulator, sentinel_key: str, knob: str, path: str
        ) -> None:
            """Every knob the model's ModelInfo declares (capability flags, sizes, aspect ratios,
            resolutions, max_n) must reach the provider, on text-to-image and on edit calls, not
            be dropped on the way. Fix the request builder, or stop declaring what is not sent."""
            model_id, info, fields = self.knob_call(host, emulator, knob, path)
            result = self.call(host, emulator, sentinel_key, **fields)
            self.assert_images(result)
            wires = _paid(emulator)
            wire = wires[-1]
            if knob == "count":
                sent = sum(w.count or 1 for w in wires)
                assert sent == fields["n"], (
                    f"n={fields['n']} was asked for; the wire asked for {sent} image(s) in "
                    f"{len(wires)} request(s)")
                assert len(result.images) == fields["n"], f"{len(result.images)} image(s) came back"
            elif knob in ("seed", "negative_prompt", "steps"):
                assert getattr(wire, knob) == fields[knob], (
                    f"{knob}={fields[knob]!r} was asked for; the wire had {getattr(wire, knob)!r}")
            elif knob in ("guidance", "strength"):
                value = getattr(wire, knob)
                assert value is not None and abs(float(value) - fields[knob]) < 1e-6, (
                    f"{knob}={fields[knob]!r} was asked for; the wire had {value!r}")
            elif knob == "mask":
                assert wire.mask, "the mask did not reach the wire"
                assert _image_size(wire.mask) == _image_size(wire.images[0]), (
                    "the mask on the wire is not the size of the first input image")
            elif knob == "size":
                wanted = _ratio(fields["size"], "x")
                shape = _shape_of(wire)
                assert wire.size == fields["size"] or (
                    wire.size is None and shape is not None and abs(shape / wanted - 1) < 0.03
                ), (f"size {fields['size']} was asked for; the wire had size={wire.size!r}, "
                    f"aspect_ratio={wire.aspect_ratio!r}")
            elif knob == "aspect_ratio":
                wanted = _ratio(fields["aspect_ratio"], ":")
                shape = _shape_of(wire)
                assert shape is not None and abs(shape / wanted - 1) < 0.03, (
                    f"aspect ratio {fields['aspect_ratio']} was asked for; the wire had "
                    f"aspect_ratio={wire.aspect_ratio!r}, size={wire.size!r}")
            elif knob == "resolution":
                edge = _RESOLUTION_EDGE.get(fields["resolution"])
                sides = [float(x) for x in wire.size.split("x")] if _ratio(wire.size, "x") else []
                assert wire.resolution == fields["resolution"] or (
                    edge is not None and sides and abs(max(sides) / edge - 1) < 0.3
                ), (f"resolution {fields['resolution']} was asked for; the wire had "
                    f"resolution={wire.resolution!r}, size={wire.size!r}")

        @pytest.mark.parametrize("path", ["text", "inputs"])
        def test_n_images_come_back_in_order(
            self, host: Host, emulator: Emulator, sentinel_key: str, path: str
        ) -> None:
            """With n > 1 every output must come back, each once, in the order the provider
            answered them (the emulator paints each output differently), for text-to-image and
            for edits. Fix the answer parser (all items, not the first) and the downloader loop."""
            wanted = Capability.GENERATE if path == "text" else Capability.EDIT
            for model_id in self.configured_models():
                info = self.model_info(host, emulator, model_id)
                if info.max_n >= 2 and info.supports(wanted):
                    break
            else:
                pytest.skip(f"no configured model makes more than one image per {path!r} call")
            n = min(3, info.max_n)
            images = () if path == "text" else (ImageData(sample_png(PALETTE[3])),)
            result = self.call(host, emulator, sentinel_key, model=model_id, images=images, n=n)
            assert len(result.images) == n, f"n={n} was asked for; {len(result.images)} image(s) came back"
            answered = [_pixels(o) for o in emulator.outputs]
            assert len(answered) >= n, (
                f"{type(emulator).__name__} recorded {len(answered)} output(s): its handlers must "
                "call record_output() (or output_url()) for every output image")
            assert len(set(answered)) == len(answered), (
                f"{type(emulator).__name__} painted two outputs alike: paint each one distinctly")
            returned = [_pixels(i.data) for i in result.images]
            if len(emulator.wire) == 1:  # one answer: its order is the order to keep
                assert returned == answered[:n], (
                    "the outputs came back out of order, or one of them twice: "
                    f"{[answered.index(r) if r in answered else None for r in returned]}")
            else:  # several requests (possibly in parallel): each output once
                assert sorted(returned) == sorted(answered), (
                    "the outputs of the requests did not each come back exactly once")

        def test_too_many_images_are_refused_before_sending(self, host: Host, emulator: Emulator, sentinel_key: str) -> None:
            """The host must refuse more images than ModelInfo.max_input_images, without a request."""
            model_id = self.multi_image_model or self.edit_model
            if not model_id:
                pytest.skip("no edit model configured")
            model = host.get_model(self.provider, model_id, base_url=emulator.base_url)
            images = tuple(ImageData(sample_png()) for _ in range(model.max_input_images + 1))
            with pytest.raises(UnsupportedFeatureError):
                self.call(host, emulator, sentinel_key, model=model_id, images=images)
            assert emulator.billable_count == 0

        def test_a_made_up_model_is_sent_once_and_is_unknown_model_with_suggestions(
            self, host: Host, emulator: Emulator, sentinel_key: str
        ) -> None:
            """Any id is sent (the provider judges it); its "unknown model" answer must become
            UnknownModelError, to which the host adds the closest known ids."""
            model = self.generate_model or self.edit_model
            images = () if self.generate_model else (ImageData(sample_png()),)
            with pytest.raises(UnknownModelError) as caught:
                self.call(host, emulator, sentinel_key, model=f"{model}-zz9", images=images)
            assert model in caught.value.suggestions
            assert f"Did you mean {model!r}" in str(caught.value)
            assert emulator.billable_count == 1

        def test_missing_key_is_a_clear_error(self, host: Host, emulator: Emulator) -> None:
            """Without any key the plugin must raise MissingKeyError (via settings.require_key())."""
            model = self.generate_model or self.edit_model
            images = () if self.generate_model else (ImageData(sample_png()),)
            with pytest.raises(MissingKeyError):
                host.edit(
                    self.provider,
                    EditRequest(model=model, prompt="x", images=images),
                    base_url=emulator.base_url,
                )
            assert emulator.billable_count == 0

        @pytest.mark.parametrize("kind", ERROR_KINDS)
        def test_provider_errors_map_to_typed_errors(
            self, host: Host, emulator: Emulator, sentinel_key: str, kind: str
        ) -> None:
            """Each canned error of the emulator (all of ERROR_KINDS) must surface as the matching
            typed error (`error_classes`), key-free and naming the provider."""
            model, images = self.simplest_call()
            fault = emulator.fault_for(kind, times=0)
            if kind == "rate_limit":
                fault.headers = {**fault.headers, "Retry-After": "0"}
            emulator.inject(fault)
            with pytest.raises(self.error_classes[kind]) as caught:
                self.call(host, emulator, sentinel_key, model=model, images=images)
            assert sentinel_key not in str(caught.value) and sentinel_key not in repr(caught.value)
            assert caught.value.provider == self.provider

        @pytest.mark.parametrize("kind", ["blocked", "server_error"])
        def test_an_in_band_failure_is_a_typed_error(
            self, host: Host, emulator: Emulator, sentinel_key: str, kind: str
        ) -> None:
            """A job that ends failed, or a 200 answer that carries a refusal, must raise the
            kind's typed error (`in_band_error_classes`: ContentBlockedError for "blocked"), with
            the provider's message, never a generic ApiEditError or an empty result. It is not
            resent: it may have been billed."""
            model, images = self.simplest_call()
            message = emulator.fail_next_answer(kind)
            expected = self.in_band_error_classes[kind]
            with pytest.raises(ApiEditError) as caught:
                self.call(host, emulator, sentinel_key, model=model, images=images)
            error = caught.value
            if expected is ProviderError:  # any provider error that says why, but not a refusal
                typed = isinstance(error, ProviderError) and not isinstance(error, ContentBlockedError)
            else:
                typed = isinstance(error, expected)
            assert typed, (f"a {kind!r} failure became {type(error).__name__}, expected "
                           f"{expected.__name__}: {error}")
            if message:
                assert message.rstrip(".") in str(error), (
                    f"the error does not repeat the provider's message {message!r}: {error}")
            assert error.provider == self.provider
            assert sentinel_key not in str(error) and sentinel_key not in repr(error)
            assert emulator.billable_count == 1, "a failed paid request was sent again"

        @pytest.mark.parametrize("route", ["direct", "redirect"])
        def test_output_links_are_fetched_only_through_the_safe_downloader(
            self, host: Host, emulator: Emulator, sentinel_key: str, route: str,
            monkeypatch: pytest.MonkeyPatch,
        ) -> None:
            """An output link to a private address (directly, or by a redirect from a public
            one) must be refused with InvalidInputError and never fetched: download outputs with
            `apiedit.download.download_image`, not `requests.get`. (The suite makes the emulator
            look public to the downloader; its links then point at `localhost`, which is private.)"""
            from .. import download

            model, images = self.simplest_call()
            emulator.route("GET", r"/_conformance/redirect", _redirect)
            origin = urlsplit(emulator.base_url).netloc
            private = f"localhost:{emulator.port}"
            rewritten: list[str] = []

            def rewrite(url: str) -> str:
                target = url.replace(f"//{origin}/", f"//{private}/", 1)
                if route == "redirect":
                    target = f"{emulator.base_url}/_conformance/redirect?to={quote(target, safe='')}"
                rewritten.append(target)
                return target

            emulator.answer_outputs_via(rewrite)  # skips for emulators answering inline
            real = download.is_private_url
            monkeypatch.setattr(download, "is_private_url",
                                lambda url: urlsplit(url).netloc != origin and real(url))
            error: InvalidInputError | None = None
            try:
                self.call(host, emulator, sentinel_key, model=model, images=images)
            except InvalidInputError as refused:
                error = refused
            if not rewritten:
                pytest.skip(f"{model} answered its output inline, not as a link")
            fetched = [r.path for r in emulator.requests
                       if r.headers.get("host", "").startswith("localhost")]
            assert not fetched, f"the plugin fetched an output from a private address: {fetched}"
            assert error is not None, "an output link to a private address was accepted"
            assert "private address" in str(error) and error.provider == self.provider

        def test_read_timeout_after_sending_is_not_resent(self, host: Host, emulator: Emulator, sentinel_key: str) -> None:
            """A paid request with an unknown outcome must never be sent twice."""
            model, images = self.simplest_call()
            emulator.inject(Fault(method="POST", delay=3.0, times=0))
            with pytest.raises(ProviderTimeoutError):
                self.call(host, emulator, sentinel_key, model=model, images=images, timeout_s=0.5)
            assert emulator.billable_count == 1

        def test_a_dropped_connection_after_sending_is_not_resent(
            self, host: Host, emulator: Emulator, sentinel_key: str
        ) -> None:
            """A connection cut after the provider read a paid request (unknown outcome: it may be
            working on it) must be a typed error and never be sent again."""
            model, images = self.simplest_call()
            emulator.inject(Fault(method="POST", drop="after_body", times=0))
            with pytest.raises(ProviderError) as caught:
                self.call(host, emulator, sentinel_key, model=model, images=images)
            assert emulator.billable_count == 1, (
                f"a paid request with an unknown outcome was sent {emulator.billable_count} times")
            assert sentinel_key not in str(caught.value)


def _redirect(request: RecordedRequest, match: Any) -> Response:
    """302 to the `to` query parameter (the suite's redirect to a private address)."""
    return Response(302, b"", {"Location": request.query["to"][0]})


def _mask_png(size: tuple[int, int] = (64, 48)) -> bytes:
    """An RGBA mask the size of `sample_png`: transparent (edit here) in its left half."""
    from PIL import Image

    mask = Image.new("RGBA", size, (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (0, 0, size[0] // 2, size[1]))
    buf = io.BytesIO()
    mask.save(buf, "PNG")
    return buf.getvalue()
