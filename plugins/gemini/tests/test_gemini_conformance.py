"""The core conformance suite, through google-genai (the default) and over plain REST."""

from __future__ import annotations

import pytest
from apiedit.testing.conformance import ProviderConformance
from apiedit_gemini.emulator import GeminiEmulator


class TestGeminiConformance(ProviderConformance):
    provider = "gemini"
    emulator_class = GeminiEmulator
    generate_model = "gemini-nano-banana-2.1"
    edit_model = "gemini-nano-banana-2.1"
    multi_image_model = "gemini-3-pro-image"
    multi_image_count = 4


class TestGeminiConformanceOverRest(TestGeminiConformance):
    @pytest.fixture(autouse=True)
    def rest_transport(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("APIEDIT_GEMINI_TRANSPORT", "rest")
