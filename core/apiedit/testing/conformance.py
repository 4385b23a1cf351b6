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
`Emulator.error_response(kind)`. Each test's docstring says what to fix when it fails.
"""

from __future__ import annotations

import io
from typing import Any, ClassVar

try:
    import pytest
except ImportError:  # `sample_png` and the rest of apiedit.testing work without pytest
    pytest = None  # type: ignore[assignment]

from ..errors import (
    ApiEditError,
    AuthenticationError,
    ContentBlockedError,
    MissingKeyError,
    ProviderTimeoutError,
    QuotaExceededError,
    RateLimitError,
    UnknownModelError,
    UnsupportedFeatureError,
)
from ..host import Host
from ..types import Capability, EditRequest, EditResult, ImageData, ModelInfo, ProviderInfo
from .emulator import Emulator, Fault

__all__ = ["ProviderConformance", "sample_png"]


def sample_png(colour: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (64, 48)) -> bytes:
    """A small solid-colour PNG for test inputs."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    return buf.getvalue()


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
        }

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

        # ---- calls ---------------------------------------------------------------------------
        def test_text_to_image_returns_decodable_images(self, host: Host, emulator: Emulator, sentinel_key: str) -> None:
            """edit() with no input images must generate and return decodable image bytes."""
            if not self.generate_model:
                pytest.skip("no text-to-image model configured")
            self.assert_images(self.call(host, emulator, sentinel_key, model=self.generate_model))
            assert emulator.billable_count == 1

        def test_edit_with_one_image(self, host: Host, emulator: Emulator, sentinel_key: str) -> None:
            """edit() with one input image must send it and return an image."""
            if not self.edit_model:
                pytest.skip("no edit model configured")
            image = ImageData(sample_png())
            self.assert_images(self.call(host, emulator, sentinel_key, model=self.edit_model, images=(image,)))

        def test_compose_several_images(self, host: Host, emulator: Emulator, sentinel_key: str) -> None:
            """edit() with several input images must send them all, in order, in one call."""
            if not self.multi_image_model:
                pytest.skip("no multi-image model configured")
            images = tuple(ImageData(sample_png((40 * i, 80, 120))) for i in range(self.multi_image_count))
            result = self.call(host, emulator, sentinel_key, model=self.multi_image_model, images=images)
            self.assert_images(result)
            assert emulator.billable_count == 1

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

        @pytest.mark.parametrize("kind", ["auth", "quota", "rate_limit", "blocked"])
        def test_provider_errors_map_to_typed_errors(
            self, host: Host, emulator: Emulator, sentinel_key: str, kind: str
        ) -> None:
            """Each canned error of the emulator must surface as the matching typed error, key-free."""
            model = self.generate_model or self.edit_model
            images = () if self.generate_model else (ImageData(sample_png()),)
            fault = emulator.fault_for(kind, times=0)
            if kind == "rate_limit":
                fault.headers = {**fault.headers, "Retry-After": "0"}
            emulator.inject(fault)
            with pytest.raises(self.error_classes[kind]) as caught:
                self.call(host, emulator, sentinel_key, model=model, images=images)
            assert sentinel_key not in str(caught.value) and sentinel_key not in repr(caught.value)
            assert caught.value.provider == self.provider

        def test_read_timeout_after_sending_is_not_resent(self, host: Host, emulator: Emulator, sentinel_key: str) -> None:
            """A paid request with an unknown outcome must never be sent twice."""
            model = self.generate_model or self.edit_model
            images = () if self.generate_model else (ImageData(sample_png()),)
            emulator.inject(Fault(method="POST", delay=3.0, times=0))
            with pytest.raises(ProviderTimeoutError):
                self.call(host, emulator, sentinel_key, model=model, images=images, timeout_s=0.5)
            assert emulator.billable_count == 1
