"""Model list: live image models over the curated table, truthful limits, retired models flagged."""

from __future__ import annotations

import pytest
from apiedit import Capability, EditRequest, ImageData, UnsupportedFeatureError
from apiedit.host import Host
from apiedit.testing.conformance import sample_png
from apiedit_gemini.emulator import GeminiEmulator, _model_entry

CURRENT = ("gemini-2.5-flash-image", "gemini-3-pro-image-preview", "gemini-3.1-flash-image-preview")


def refresh(host: Host, emulator: GeminiEmulator, key: str) -> dict:
    models = host.list_models("gemini", refresh=True, api_key=key, base_url=emulator.base_url)
    return {m.id: m for m in models}


def test_the_live_list_keeps_only_image_models(host: Host, emulator: GeminiEmulator, sentinel_key: str) -> None:
    models = refresh(host, emulator, sentinel_key)
    assert set(CURRENT) <= set(models)
    assert not {"gemini-2.5-flash", "imagen-4.0-generate-001", "gemini-embedding-001"} & set(models)


def test_the_list_is_fetched_with_the_header_key_and_every_page(
    host: Host, emulator: GeminiEmulator, sentinel_key: str
) -> None:
    emulator.max_page_size = 2
    emulator.models.append(_model_entry("gemini-4-flash-image-preview", "Nano Banana 4", ["generateContent"]))
    models = refresh(host, emulator, sentinel_key)
    assert "gemini-4-flash-image-preview" in models
    listing = emulator.requests_to(r"/v1beta/models$", "GET")
    assert len(listing) == 4
    assert all(r.headers["x-goog-api-key"] == sentinel_key and "key" not in r.query for r in listing)
    assert emulator.billable_count == 0


def test_a_live_only_image_model_gets_conservative_limits(
    host: Host, emulator: GeminiEmulator, sentinel_key: str
) -> None:
    emulator.models.append(_model_entry("gemini-2.7-flash-image", "Nano Banana 1.5", ["generateContent"]))
    model = refresh(host, emulator, sentinel_key)["gemini-2.7-flash-image"]
    assert model.label == "Nano Banana 1.5"
    assert model.max_input_images == 3 and model.max_n == 1 and model.resolutions == ()
    assert Capability.CONVERSATION in model.capabilities


def test_a_new_gemini_3_image_model_gets_the_family_limits(
    host: Host, emulator: GeminiEmulator, sentinel_key: str
) -> None:
    emulator.models.append(_model_entry("gemini-3.5-pro-image-preview", "Nano Banana Pro 2", ["generateContent"]))
    model = refresh(host, emulator, sentinel_key)["gemini-3.5-pro-image-preview"]
    assert model.max_input_images == 14 and model.resolutions == ("1K", "2K", "4K")


def test_curated_limits_win_over_the_live_entry(host: Host, emulator: GeminiEmulator, sentinel_key: str) -> None:
    models = refresh(host, emulator, sentinel_key)
    flash, pro = models["gemini-2.5-flash-image"], models["gemini-3-pro-image-preview"]
    assert flash.max_input_images == 3 and flash.resolutions == () and "1344x768" in flash.sizes
    assert pro.max_input_images == 14 and pro.resolutions == ("1K", "2K", "4K") and "5504x3072" in pro.sizes
    assert "21:9" in flash.aspect_ratios and "4:5" in pro.aspect_ratios


def test_the_list_without_refresh_is_the_curated_table_offline(host: Host, emulator: GeminiEmulator) -> None:
    ids = [m.id for m in host.list_models("gemini", base_url=emulator.base_url)]
    assert ids[:3] == list(CURRENT)
    assert emulator.requests == []


def test_a_refresh_without_a_key_keeps_the_curated_table(host: Host, emulator: GeminiEmulator) -> None:
    ids = [m.id for m in host.list_models("gemini", refresh=True, base_url=emulator.base_url)]
    assert set(CURRENT) <= set(ids)
    assert emulator.requests == []


@pytest.mark.parametrize("model_id", [
    "gemini-2.5-flash-image-preview",
    "gemini-2.0-flash-preview-image-generation",
    "gemini-2.0-flash-exp-image-generation",
])
def test_retired_models_are_flagged_and_refused_before_sending(
    host: Host, emulator: GeminiEmulator, sentinel_key: str, model_id: str
) -> None:
    model = next(m for m in host.list_models("gemini") if m.id == model_id)
    assert model.retired and model.replacement == "gemini-2.5-flash-image"
    with pytest.raises(UnsupportedFeatureError, match="gemini-2.5-flash-image"):
        host.edit("gemini", EditRequest(model=model_id, prompt="x"), api_key=sentinel_key,
                  base_url=emulator.base_url)
    assert emulator.requests == []


def test_a_fourth_image_on_flash_image_is_refused_before_sending(
    host: Host, emulator: GeminiEmulator, sentinel_key: str
) -> None:
    images = tuple(ImageData(sample_png()) for _ in range(4))
    with pytest.raises(UnsupportedFeatureError, match="at most 3"):
        host.edit("gemini", EditRequest(model="gemini-2.5-flash-image", prompt="x", images=images),
                  api_key=sentinel_key, base_url=emulator.base_url)
    assert emulator.requests == []


def test_a_resolution_on_flash_image_is_refused_before_sending(
    host: Host, emulator: GeminiEmulator, sentinel_key: str
) -> None:
    with pytest.raises(UnsupportedFeatureError, match="resolution"):
        host.edit("gemini", EditRequest(model="gemini-2.5-flash-image", prompt="x", resolution="2K"),
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
