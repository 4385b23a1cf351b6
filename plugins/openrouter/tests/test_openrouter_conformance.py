"""The core conformance suite, run against the OpenRouter plugin and its emulator."""

from apiedit.testing.conformance import ProviderConformance
from apiedit_openrouter.emulator import OpenRouterEmulator


class TestOpenRouterConformance(ProviderConformance):
    provider = "openrouter"
    emulator_class = OpenRouterEmulator
    generate_model = "google/gemini-nano-banana-2.1"
    edit_model = "google/gemini-nano-banana-2.1"
    multi_image_model = "google/gemini-3-pro-image"
    multi_image_count = 4
