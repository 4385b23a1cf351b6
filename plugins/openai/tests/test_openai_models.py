"""The model list, retired models, sizes, and the legacy DALL-E rules."""

from __future__ import annotations

import io

import pytest
from apiedit.errors import (
    AuthenticationError,
    MissingKeyError,
    ProviderUnavailableError,
    UnsupportedFeatureError,
)
from apiedit.types import Capability
from apiedit_openai.emulator import _Model
from PIL import Image


def _size(data: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(data)).size


# ---- the model list ------------------------------------------------------------------------


def test_the_default_is_the_newest_gpt_image_2_5_model_never_a_retired_one(host, emulator, sentinel_key):
    assert host.default_model("openai").id == "gpt-image-2.5-flare"
    emulator.models = [m for m in emulator.models if not m.id.startswith("gpt-image-2.5-flare")]
    host.list_models("openai", refresh=True, api_key=sentinel_key, base_url=emulator.base_url)
    assert host.default_model("openai", base_url=emulator.base_url).id == "gpt-image-2.5-sunburst"


def test_shut_down_models_are_not_offered_by_the_live_list_and_shown_unavailable(host, emulator, sentinel_key):
    models = {m.id: m for m in host.list_models("openai", refresh=True, api_key=sentinel_key,
                                                   base_url=emulator.base_url)}
    for model_id in ("gpt-image-1", "dall-e-3", "dall-e-2"):
        assert models[model_id].retired and models[model_id].available is False
    assert models["gpt-image-2.6-sunburst"].available is True


def test_curated_limits_are_the_real_ones(host):
    models = {m.id: m for m in host.list_models("openai")}
    gpt = models["gpt-image-1.5"]
    assert gpt.max_input_images == 16 and gpt.max_n == 10
    assert Capability.MASK in gpt.capabilities and Capability.MULTI_IMAGE in gpt.capabilities
    assert Capability.SEED not in gpt.capabilities
    assert Capability.NEGATIVE_PROMPT not in gpt.capabilities
    assert gpt.sizes == ("auto", "1024x1024", "1536x1024", "1024x1536")
    assert models["gpt-image-2"].sizes == ()  # any valid WxH, checked by the plugin
    assert models["dall-e-3"].capabilities == Capability.GENERATE and models["dall-e-3"].max_n == 1
    assert models["dall-e-2"].max_input_images == 1
    assert not any(host.supports_conversation("openai", m) for m in models)


def test_retired_models_are_flagged_with_replacements(host):
    models = {m.id: m for m in host.list_models("openai")}
    assert models["gpt-image-1"].retired and models["gpt-image-1"].replacement == "gpt-image-2.5-flare"
    assert models["dall-e-3"].retired and models["dall-e-2"].retired
    assert not any(m.retired for m in models.values() if m.id.startswith(("gpt-image-2", "gpt-image-1.5")))


def test_refresh_lists_only_image_models(host, emulator, sentinel_key):
    models = host.list_models("openai", refresh=True, api_key=sentinel_key, base_url=emulator.base_url)
    ids = [m.id for m in models]
    assert "gpt-4o" not in ids and "whisper-1" not in ids
    assert "gpt-image-2.6-flare" in ids  # live-only, with its family's limits
    live_only = next(m for m in models if m.id == "gpt-image-2.6-flare")
    assert live_only.max_input_images == 16 and "xhigh" in live_only.extra["qualities"]
    (listing,) = emulator.requests_to("/models")
    assert listing.headers["authorization"] == f"Bearer {sentinel_key}"


def test_past_shutdown_date_retires_a_listed_model(host, emulator, sentinel_key):
    emulator.models = [_Model("gpt-image-2", "gpt", custom_sizes=True, shutdown_date="2026-01-01")]
    models = host.list_models("openai", refresh=True, api_key=sentinel_key, base_url=emulator.base_url)
    gone = next(m for m in models if m.id == "gpt-image-2")
    assert gone.retired and gone.replacement == "gpt-image-2.5-flare"
    assert gone.shutdown_on == "2026-01-01"


def test_future_shutdown_date_is_kept_but_not_retired(host, emulator, sentinel_key):
    emulator.models = [_Model("gpt-image-1.5", "gpt", shutdown_date="2099-01-01")]
    models = host.list_models("openai", refresh=True, api_key=sentinel_key, base_url=emulator.base_url)
    soon = next(m for m in models if m.id == "gpt-image-1.5")
    assert not soon.retired and soon.shutdown_on == "2099-01-01"


def test_refreshed_list_is_cached_for_the_next_read(host, emulator, sentinel_key):
    host.list_models("openai", refresh=True, api_key=sentinel_key, base_url=emulator.base_url)
    emulator.reset()
    models = host.list_models("openai", api_key=sentinel_key, base_url=emulator.base_url)
    assert "gpt-image-2.6-flare" in [m.id for m in models]
    assert emulator.requests == []


def test_a_failed_refresh_raises_and_marks_the_list_stale(host, emulator, sentinel_key):
    emulator.inject(emulator.fault_for("server_error", times=0))
    with pytest.raises(ProviderUnavailableError, match="Could not refresh the OpenAI model list"):
        host.list_models("openai", refresh=True, api_key=sentinel_key, base_url=emulator.base_url)
    assert host.list_status("openai", base_url=emulator.base_url).stale


def test_a_refresh_with_a_rejected_key_is_an_authentication_error(host, emulator, sentinel_key):
    emulator.valid_keys = {"sk-other"}
    with pytest.raises(AuthenticationError):
        host.list_models("openai", refresh=True, api_key=sentinel_key, base_url=emulator.base_url)


def test_refresh_without_a_key_raises_before_any_request(host, emulator):
    with pytest.raises(MissingKeyError):
        host.list_models("openai", refresh=True, base_url=emulator.base_url)
    assert emulator.requests == []


def test_a_model_only_the_live_list_knows_is_used_without_any_flag(host, emulator, sentinel_key, call):
    emulator.models.append(_Model("gpt-image-2.7-ember", "gpt", custom_sizes=True))
    models = {m.id: m for m in host.list_models("openai", refresh=True, api_key=sentinel_key,
                                                   base_url=emulator.base_url)}
    assert models["gpt-image-2.7-ember"].available is True
    result = call(model="gpt-image-2.7-ember", size="2048x1152")
    assert result.images and emulator.calls[-1].model == "gpt-image-2.7-ember"


# ---- retired models ------------------------------------------------------------------------


def test_retired_model_is_refused_with_its_replacement(call, emulator):
    with pytest.raises(UnsupportedFeatureError, match="retired.*gpt-image-2.5-flare"):
        call(model="gpt-image-1")
    assert emulator.requests == []


def test_retired_dall_e_is_refused_before_sending(call, emulator):
    with pytest.raises(UnsupportedFeatureError, match="'dall-e-3' has been retired"):
        call(model="dall-e-3")
    assert emulator.billable_count == 0


# ---- sizes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "why"),
    [
        ("1000x1000", "multiples of 16"),
        ("3200x1024", "between 1:3 and 3:1"),
        ("4000x2000", "at most 3840"),
        ("3840x2400", "total pixels"),
        ("640x640", "total pixels"),
    ],
)
def test_invalid_custom_size_is_refused_before_sending(call, emulator, size, why):
    with pytest.raises(UnsupportedFeatureError, match=why):
        call(model="gpt-image-2", size=size)
    assert emulator.billable_count == 0 and emulator.requests == []


def test_valid_custom_size_is_sent_and_honoured(call, emulator):
    result = call(model="gpt-image-2", size="2048x1152")
    assert emulator.requests_to("/images/generations")[0].json()["size"] == "2048x1152"
    assert _size(result.images[0].data) == (2048, 1152)


def test_model_without_custom_sizes_refuses_them(call, emulator):
    with pytest.raises(UnsupportedFeatureError, match="does not support size 2048x1152"):
        call(model="gpt-image-1.5", size="2048x1152")
    assert emulator.requests == []


def test_aspect_ratio_becomes_a_standard_size(call, emulator):
    result = call(model="gpt-image-1.5", aspect_ratio="3:2")
    assert emulator.requests_to("/images/generations")[0].json()["size"] == "1536x1024"
    assert result.info["requested_size"] == "1536x1024"


@pytest.mark.parametrize(
    ("ratio", "resolution", "size"),
    [("16:9", "4K", "3840x2160"), ("1:1", "4K", "2880x2880"), ("1:1", None, "1024x1024"),
     ("9:16", "2K", "1536x2736"), ("21:9", "1K", "1568x672")],
)
def test_aspect_ratio_and_resolution_become_a_custom_size(call, emulator, ratio, resolution, size):
    call(model="gpt-image-2", aspect_ratio=ratio, resolution=resolution)
    assert emulator.requests_to("/images/generations")[0].json()["size"] == size


def test_aspect_ratio_the_model_lacks_is_refused_before_sending(call, emulator):
    with pytest.raises(UnsupportedFeatureError, match="aspect ratio 16:9"):
        call(model="gpt-image-1.5", aspect_ratio="16:9")
    assert emulator.requests == []


def test_explicit_size_wins_over_aspect_ratio_with_a_warning(call, emulator):
    result = call(model="gpt-image-1.5", size="1024x1536", aspect_ratio="3:2")
    assert emulator.requests_to("/images/generations")[0].json()["size"] == "1024x1536"
    assert any("aspect ratio" in w for w in result.warnings)


# ---- legacy DALL-E rules, enforced even when called without the host's table ---------------


def test_dall_e_3_url_output_is_downloaded_and_revised_prompt_is_text(direct, emulator):
    emulator.shut_down.clear()  # a relay that still serves the retired model
    result = direct(model="dall-e-3", prompt="a lighthouse", size="1792x1024", quality="hd")
    assert emulator.requests_to("/images/generations")[0].json()["size"] == "1792x1024"
    assert len(emulator.requests_to("/_files/")) == 1
    assert result.images[0].mime_type == "image/png"
    assert _size(result.images[0].data) == (1792, 1024)
    assert result.text == "A detailed rendering of: a lighthouse"


def test_dall_e_3_cannot_edit_even_when_unlisted(direct, emulator, png):
    with pytest.raises(UnsupportedFeatureError, match="cannot edit"):
        direct(model="dall-e-3", images=[png()])
    assert emulator.requests == []


def test_dall_e_3_makes_one_image_per_call(direct, emulator):
    with pytest.raises(UnsupportedFeatureError, match="at most 1 image"):
        direct(model="dall-e-3", n=2)
    assert emulator.requests == []


def test_dall_e_2_edit_sends_one_square_png_and_downloads_the_url(direct, emulator):
    emulator.shut_down.clear()  # a relay that still serves the retired model
    buf = io.BytesIO()
    Image.new("RGB", (300, 300), (30, 60, 90)).save(buf, "JPEG")
    result = direct(model="dall-e-2", images=[buf.getvalue()], size="512x512")
    (received,) = emulator.calls
    assert Image.open(io.BytesIO(received.images[0])).format == "PNG"
    assert _size(result.images[0].data) == (512, 512)
    assert len(emulator.requests_to("/_files/")) == 1


def test_dall_e_2_refuses_a_non_square_image(direct, emulator, png):
    with pytest.raises(UnsupportedFeatureError, match="square"):
        direct(model="dall-e-2", images=[png(size=(64, 48))])
    assert emulator.requests == []


def test_dall_e_2_takes_one_image(direct, emulator, png):
    with pytest.raises(UnsupportedFeatureError, match="at most 1 input image"):
        direct(model="dall-e-2", images=[png(size=(64, 64))] * 2)
    assert emulator.requests == []
