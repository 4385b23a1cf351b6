"""The core conformance suite, run against the ModelScope plugin and its emulator."""

from typing import Any

import pytest
from apiedit.testing.conformance import ProviderConformance
from apiedit_modelscope.emulator import ModelScopeEmulator


class TestModelScopeConformance(ProviderConformance):
    provider = "modelscope"
    emulator_class = ModelScopeEmulator
    generate_model = "Qwen/Qwen-Image"
    edit_model = "Qwen/Qwen-Image-Edit"
    multi_image_model = "Qwen/Qwen-Image-Edit-2509"
    multi_image_count = 3

    @pytest.fixture
    def emulator(self, emulator_factory: Any) -> ModelScopeEmulator:
        emulator = emulator_factory(ModelScopeEmulator)
        emulator.polls_until_done = 0  # task progressions are tested in test_modelscope_tasks.py
        emulator.accept_image_url_list = True  # composition sends a list (UNVERIFIED, warned)
        return emulator
