"""Requests are checked against the model's declared limits before anything is sent."""

from __future__ import annotations

import pytest

from apiedit.errors import ApiEditError, InvalidInputError, UnsupportedFeatureError
from apiedit.types import Capability as C
from apiedit.types import EditRequest, ImageData, ModelInfo, ProviderInfo, Turn
from apiedit.validation import check_request

PROVIDER = ProviderInfo(id="p", label="Prov")
IMG = ImageData(b"\x89PNG fake")
EDITOR = ModelInfo(
    id="editor", capabilities=C.GENERATE | C.EDIT | C.MULTI_IMAGE | C.SEED, max_input_images=3,
    sizes=("1024x1024", "auto"), aspect_ratios=("1:1", "16:9"), max_n=4,
)


def check(model: ModelInfo = EDITOR, **fields) -> list[str]:
    fields.setdefault("prompt", "p")
    return check_request(EditRequest(model=model.id, **fields), model, PROVIDER)


def test_a_valid_request_passes_without_warnings() -> None:
    assert check(images=(IMG, IMG), size="1024x1024", seed=3, n=2) == []


def test_too_many_images_names_the_limit() -> None:
    with pytest.raises(UnsupportedFeatureError, match="at most 3 input images; 4 were given"):
        check(images=(IMG,) * 4)


def test_text_to_image_only_model_refuses_images() -> None:
    t2i = ModelInfo(id="t2i", capabilities=C.GENERATE)
    with pytest.raises(UnsupportedFeatureError, match="text-to-image only"):
        check(t2i, images=(IMG,))


def test_edit_only_model_needs_an_image() -> None:
    with pytest.raises(UnsupportedFeatureError, match="connect at least one input image"):
        check(ModelInfo(id="e", capabilities=C.EDIT, max_input_images=1))


def test_single_image_model_refuses_composition() -> None:
    single = ModelInfo(id="s", capabilities=C.EDIT, max_input_images=1)
    with pytest.raises(UnsupportedFeatureError, match="takes one input image; 2 were given"):
        check(single, images=(IMG, IMG))


def test_mask_needs_support_and_an_image() -> None:
    with pytest.raises(UnsupportedFeatureError, match="does not take a mask"):
        check(images=(IMG,), mask=IMG)
    masked = ModelInfo(id="m", capabilities=C.GENERATE | C.EDIT | C.MASK, max_input_images=1)
    with pytest.raises(InvalidInputError, match="needs an input image"):
        check(masked, mask=IMG)


def test_history_needs_a_conversational_model() -> None:
    with pytest.raises(UnsupportedFeatureError, match="does not keep a conversation"):
        check(history=(Turn(role="user", text="hi"),))


def test_unknown_size_lists_the_choices() -> None:
    with pytest.raises(UnsupportedFeatureError, match="choose one of 1024x1024, auto"):
        check(size="512x512")


def test_aspect_ratio_must_be_supported() -> None:
    with pytest.raises(UnsupportedFeatureError, match="choose one of 1:1, 16:9"):
        check(aspect_ratio="4:3")
    with pytest.raises(UnsupportedFeatureError, match="does not take an aspect ratio"):
        check(ModelInfo(id="x", capabilities=C.GENERATE), aspect_ratio="1:1")


def test_n_over_the_model_maximum_is_refused() -> None:
    with pytest.raises(UnsupportedFeatureError, match="at most 4 image"):
        check(n=5)


def test_retired_model_names_its_replacement() -> None:
    old = ModelInfo(id="old", retired=True, replacement="new")
    with pytest.raises(UnsupportedFeatureError, match="retired.*Use 'new' instead"):
        check(old)


def test_empty_prompt_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="prompt is empty"):
        check(prompt="   ")


def test_harmless_knobs_become_warnings_not_silence() -> None:
    warnings = check(negative_prompt="blurry", steps=20, seed=1)
    assert any("negative prompt" in w for w in warnings)
    assert any("step count" in w for w in warnings)
    assert not any("seed" in w for w in warnings)


def test_request_fields_are_validated_on_construction() -> None:
    with pytest.raises(InvalidInputError, match="1024x1024 or auto, not 'banana'"):
        EditRequest(model="m", prompt="p", size="banana")
    with pytest.raises(InvalidInputError, match="16:9, not 'wide'"):
        EditRequest(model="m", prompt="p", aspect_ratio="wide")
    for n in (0, -1):
        with pytest.raises(InvalidInputError, match="at least 1"):
            EditRequest(model="m", prompt="p", n=n)
    with pytest.raises(InvalidInputError):
        Turn(role="system")


def test_invalid_input_is_an_apiedit_error_and_still_a_value_error() -> None:
    with pytest.raises(ApiEditError) as caught:
        EditRequest(model="m", prompt="p", size="banana")
    assert isinstance(caught.value, ValueError)
