"""Model list: the live list is the truth, the tables describe families, retired models flagged."""

from __future__ import annotations

import pytest
from apiedit import (
    AuthenticationError,
    Capability,
    EditRequest,
    ImageData,
    MissingKeyError,
    ProviderUnavailableError,
    UnsupportedFeatureError,
)
from apiedit.images import image_size
from apiedit.host import Host
from apiedit.testing.conformance import sample_png
from apiedit_gemini.emulator import GeminiEmulator, _model_entry

CURRENT = ("gemini-nano-banana-2.1", "gemini-3-pro-image", "gemini-3.1-flash-image")


def refresh(host: Host, emulator: GeminiEmulator, key: str) -> dict:
    models = host.list_models("gemini", refresh=True, api_key=key, base_url=emulator.base_url)
    return {m.id: m for m in models}


def test_the_live_list_keeps_only_image_models(host: Host, emulator: GeminiEmulator, sentinel_key: str) -> None:
    models = refresh(host, emulator, sentinel_key)
    assert set(CURRENT) <= set(models)
    assert not {"gemini-2.5-flash", "imagen-4.0-generate-001", "gemini-embedding-001"} & set(models)


def test_image_models_without_image_in_their_id_are_listed_from_the_live_list(
    host: Host, emulator: GeminiEmulator, sentinel_key: str
) -> None:
    models = refresh(host, emulator, sentinel_key)
    for model_id in ("gemini-nano-banana-2.1", "nano-banana-pro-preview"):
        assert models[model_id].available is True and models[model_id].verified
        assert Capability.EDIT in models[model_id].capabilities


def test_an_entry_saying_it_outputs_images_is_listed_whatever_its_id(
    host: Host, emulator: GeminiEmulator, sentinel_key: str
) -> None:
    entry = _model_entry("banana-split-1", "Banana Split", ["generateContent"])
    emulator.models.append({**entry, "outputModalities": ["TEXT", "IMAGE"]})
    model = refresh(host, emulator, sentinel_key)["banana-split-1"]
    assert model.verified is False and model.available is True


def test_shut_down_table_models_are_unavailable_not_current(
    host: Host, emulator: GeminiEmulator, sentinel_key: str
) -> None:
    models = refresh(host, emulator, sentinel_key)
    for model_id in ("gemini-3-pro-image-preview", "gemini-3.1-flash-image-preview", "gemini-2.5-flash-image"):
        assert models[model_id].available is False and models[model_id].retired


def test_the_default_is_nano_banana_2_1_and_never_a_shut_down_model(
    host: Host, emulator: GeminiEmulator, sentinel_key: str
) -> None:
    assert host.default_model("gemini").id == "gemini-nano-banana-2.1"  # from the table alone
    refresh(host, emulator, sentinel_key)
    assert host.default_model("gemini", base_url=emulator.base_url).id == "gemini-nano-banana-2.1"
    emulator.models = [m for m in emulator.models if "nano-banana-2" not in m["name"]]
    refresh(host, emulator, sentinel_key)
    # without Nano Banana 2.1 on this key, the newest current GA model (3.1 Flash is deprecated)
    assert host.default_model("gemini", base_url=emulator.base_url).id == "gemini-3-pro-image"


def test_the_list_is_fetched_with_the_header_key_and_every_page(
    host: Host, emulator: GeminiEmulator, sentinel_key: str
) -> None:
    emulator.max_page_size = 2
    emulator.models.append(_model_entry("gemini-4-flash-image-preview", "Nano Banana 4", ["generateContent"]))
    models = refresh(host, emulator, sentinel_key)
    assert "gemini-4-flash-image-preview" in models
    listing = emulator.requests_to(r"/v1beta/models$", "GET")
    assert len(listing) == -(-len(emulator.models) // 2)
    assert all(r.headers["x-goog-api-key"] == sentinel_key and "key" not in r.query for r in listing)
    assert emulator.billable_count == 0


def test_a_live_only_image_model_gets_conservative_limits(
    host: Host, emulator: GeminiEmulator, sentinel_key: str
) -> None:
    emulator.models.append(_model_entry("gemini-2.7-pro-image", "Nano Banana 1.5", ["generateContent"]))
    model = refresh(host, emulator, sentinel_key)["gemini-2.7-pro-image"]
    assert model.label == "Nano Banana 1.5" and not model.verified
    assert model.max_input_images == 3 and model.max_n == 1 and model.resolutions == ()
    assert Capability.CONVERSATION in model.capabilities


def test_a_new_gemini_3_image_model_gets_the_family_limits(
    host: Host, emulator: GeminiEmulator, sentinel_key: str
) -> None:
    emulator.models.append(_model_entry("gemini-3.5-pro-image-preview", "Nano Banana Pro 2", ["generateContent"]))
    emulator.models.append(_model_entry("gemini-nano-banana-2.2", "Nano Banana 2.2", ["generateContent"]))
    models = refresh(host, emulator, sentinel_key)
    assert models["gemini-3.5-pro-image-preview"].max_input_images == 14
    assert models["gemini-3.5-pro-image-preview"].resolutions == ("1K", "2K", "4K")
    assert "8:1" in models["gemini-nano-banana-2.2"].aspect_ratios
    assert host.default_model("gemini", base_url=emulator.base_url).id == "gemini-nano-banana-2.2"


def test_curated_limits_win_over_the_live_entry(host: Host, emulator: GeminiEmulator, sentinel_key: str) -> None:
    models = refresh(host, emulator, sentinel_key)
    flash, pro = models["gemini-3.1-flash-image"], models["gemini-3-pro-image"]
    assert flash.max_input_images == 14 and "4:1" in flash.aspect_ratios and "2048x512" in flash.sizes
    assert pro.max_input_images == 14 and pro.resolutions == ("1K", "2K", "4K") and "5504x3072" in pro.sizes
    assert "4:1" not in pro.aspect_ratios and "4:5" in pro.aspect_ratios


def test_the_list_without_refresh_is_the_curated_table_offline(host: Host, emulator: GeminiEmulator) -> None:
    models = host.list_models("gemini", base_url=emulator.base_url)
    assert [m.id for m in models][:3] == list(CURRENT)
    assert all(m.available is None for m in models)
    assert emulator.requests == []


def test_a_refresh_without_a_key_raises_instead_of_serving_the_table(host: Host, emulator: GeminiEmulator) -> None:
    with pytest.raises(MissingKeyError, match="Could not refresh"):
        host.list_models("gemini", refresh=True, base_url=emulator.base_url)
    assert emulator.requests == []


def test_a_refresh_with_a_rejected_key_is_an_authentication_error_and_marks_the_list_stale(
    host: Host, emulator: GeminiEmulator, sentinel_key: str
) -> None:
    emulator.valid_keys = {"another-key"}
    with pytest.raises(AuthenticationError):
        host.list_models("gemini", refresh=True, api_key=sentinel_key, base_url=emulator.base_url)
    status = host.list_status("gemini", base_url=emulator.base_url)
    assert status.stale and "API key not valid" in (status.error or "")


def test_a_refresh_of_an_unreachable_base_url_is_a_typed_error(host: Host, sentinel_key: str) -> None:
    with pytest.raises(ProviderUnavailableError):
        host.list_models("gemini", refresh=True, api_key=sentinel_key, base_url="http://127.0.0.1:9")


def test_nano_banana_2_1_from_the_live_list_makes_a_4_1_image(
    host: Host, emulator: GeminiEmulator, sentinel_key: str
) -> None:
    refresh(host, emulator, sentinel_key)
    for model_id in ("gemini-3.1-flash-image", "gemini-nano-banana-2.1"):
        result = host.edit("gemini", EditRequest(model=model_id, prompt="a wide banner", aspect_ratio="4:1"),
                           api_key=sentinel_key, base_url=emulator.base_url)
        width, height = image_size(result.images[0].data)
        assert width == 4 * height
    assert any("deprecated" in w for w in result.warnings) is False  # 2.1 is current


def test_a_deprecated_model_still_works_with_a_warning_naming_its_replacement(
    host: Host, emulator: GeminiEmulator, sentinel_key: str
) -> None:
    result = host.edit("gemini", EditRequest(model="gemini-3.1-flash-image", prompt="x"),
                       api_key=sentinel_key, base_url=emulator.base_url)
    assert result.images and any("deprecated" in w and "gemini-nano-banana-2.1" in w for w in result.warnings)


def test_a_model_only_the_live_list_knows_is_used_without_any_flag(
    host: Host, emulator: GeminiEmulator, sentinel_key: str
) -> None:
    emulator.models.append(_model_entry("gemini-9-ultra-image", "Ultra", ["generateContent"]))
    assert "gemini-9-ultra-image" in refresh(host, emulator, sentinel_key)
    result = host.edit("gemini", EditRequest(model="gemini-9-ultra-image", prompt="x"),
                       api_key=sentinel_key, base_url=emulator.base_url)
    assert result.images and emulator.calls[-1].model == "gemini-9-ultra-image"


@pytest.mark.parametrize(("model_id", "replacement", "day"), [
    ("gemini-3-pro-image-preview", "gemini-3-pro-image", "2026-06-25"),
    ("gemini-3.1-flash-image-preview", "gemini-3.1-flash-image", "2026-06-25"),
    ("gemini-2.5-flash-image", "gemini-nano-banana-2.1", "2026-10-02"),
])
def test_a_model_past_its_shutdown_date_is_refused_before_sending_naming_its_replacement(
    host: Host, emulator: GeminiEmulator, sentinel_key: str, model_id: str, replacement: str, day: str
) -> None:
    with pytest.raises(UnsupportedFeatureError, match=f"shut down on {day}.*Use '{replacement}'"):
        host.edit("gemini", EditRequest(model=model_id, prompt="x"), api_key=sentinel_key,
                  base_url=emulator.base_url)
    assert emulator.requests == []
    assert host.default_model("gemini").id != model_id


@pytest.mark.parametrize("model_id", [
    "gemini-2.5-flash-image-preview",
    "gemini-2.0-flash-preview-image-generation",
    "gemini-2.0-flash-exp-image-generation",
])
def test_retired_models_are_flagged_and_refused_before_sending(
    host: Host, emulator: GeminiEmulator, sentinel_key: str, model_id: str
) -> None:
    model = next(m for m in host.list_models("gemini") if m.id == model_id)
    assert model.retired and model.replacement == "gemini-nano-banana-2.1"
    with pytest.raises(UnsupportedFeatureError, match="gemini-nano-banana-2.1"):
        host.edit("gemini", EditRequest(model=model_id, prompt="x"), api_key=sentinel_key,
                  base_url=emulator.base_url)
    assert emulator.requests == []


def test_a_fifteenth_image_on_a_gemini_3_model_is_refused_before_sending(
    host: Host, emulator: GeminiEmulator, sentinel_key: str
) -> None:
    images = tuple(ImageData(sample_png()) for _ in range(15))
    with pytest.raises(UnsupportedFeatureError, match="at most 14"):
        host.edit("gemini", EditRequest(model="gemini-nano-banana-2.1", prompt="x", images=images),
                  api_key=sentinel_key, base_url=emulator.base_url)
    assert emulator.requests == []


def test_an_extended_aspect_ratio_on_3_pro_image_is_refused_before_sending(
    host: Host, emulator: GeminiEmulator, sentinel_key: str
) -> None:
    with pytest.raises(UnsupportedFeatureError, match="aspect ratio 4:1"):
        host.edit("gemini", EditRequest(model="gemini-3-pro-image", prompt="x", aspect_ratio="4:1"),
                  api_key=sentinel_key, base_url=emulator.base_url)
    assert emulator.requests == []


def test_every_image_model_keeps_a_native_conversation(host: Host) -> None:
    assert host.get_provider("gemini").conversation.value == "native"
    for model_id in (*CURRENT, "gemini-9-image-day-zero"):
        assert host.supports_conversation("gemini", model_id)


def test_the_provider_names_both_key_variables(host: Host) -> None:
    info = host.get_provider("gemini")
    assert info.key_env_vars == ("GEMINI_API_KEY", "GOOGLE_API_KEY")
    assert info.default_base_url == "https://generativelanguage.googleapis.com"


def test_importing_the_plugin_does_not_import_the_sdk() -> None:
    import subprocess
    import sys

    code = "import sys, apiedit_gemini; print('google.genai' in sys.modules, 'requests' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
