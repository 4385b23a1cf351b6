"""The command line gives the same advice as the node, in its own words (flag names)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import apiedit
from apiedit.console.exitcodes import ExitCode, exit_code_for
from apiedit.console.hints import CLI_HINTS, cli_message
from apiedit.errors import ApiEditError, UnsupportedFeatureError
from apiedit.types import Capability, EditRequest, ImageData, ModelInfo, ProviderInfo
from apiedit.validation import check_request

CORE = Path(apiedit.__file__).parent
PLUGINS = CORE.parents[1] / "plugins"
PROVIDER = ProviderInfo(id="acme", label="Acme")
EDIT_ONLY = ModelInfo(id="retoucher", capabilities=Capability.EDIT, max_input_images=1)
TEXT_ONLY = ModelInfo(id="painter", capabilities=Capability.GENERATE)


def test_the_node_keeps_its_wording_and_the_cli_names_the_flag() -> None:
    with pytest.raises(UnsupportedFeatureError) as caught:
        check_request(EditRequest(model="retoucher", prompt="p"), EDIT_ONLY, PROVIDER)
    assert str(caught.value) == "Acme model 'retoucher' only edits images: connect at least one input image."
    assert cli_message(caught.value) == "Acme model 'retoucher' only edits images: give at least one input image with -i."


def test_a_cli_hint_fills_in_the_provider() -> None:
    with pytest.raises(UnsupportedFeatureError) as caught:
        check_request(EditRequest(model="painter", prompt="p", images=(ImageData(b"x"),)), TEXT_ONLY, PROVIDER)
    assert "disconnect" in str(caught.value) and "disconnect" not in cli_message(caught.value)
    assert "drop the -i images" in cli_message(caught.value)


def test_every_hint_id_raised_in_the_code_has_cli_wording() -> None:
    raised = set()
    for path in [*CORE.rglob("*.py"), *PLUGINS.rglob("apiedit_*/*.py")]:
        raised |= set(re.findall(r'hint_id="(\w+)"', path.read_text()))
    assert raised and raised <= set(CLI_HINTS), sorted(raised - set(CLI_HINTS))


def test_an_unknown_error_without_a_family_is_a_provider_error() -> None:
    assert exit_code_for(ApiEditError("x")) is ExitCode.PROVIDER
    assert exit_code_for(RuntimeError("bug")) is ExitCode.INTERNAL
