"""The core conformance suite, run against the OpenAI plugin and its emulator."""

from apiedit.testing.conformance import ProviderConformance
from apiedit_openai.emulator import OpenAIEmulator


class TestOpenAIConformance(ProviderConformance):
    provider = "openai"
    emulator_class = OpenAIEmulator
    generate_model = "gpt-image-1.5"
    edit_model = "gpt-image-1.5"
    multi_image_model = "gpt-image-1.5"
    multi_image_count = 4
