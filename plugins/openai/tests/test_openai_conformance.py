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


class TestOpenAIFlexibleSizesConformance(TestOpenAIConformance):
    """GPT Image 2.5 takes any size within limits: aspect ratio and resolution become a size."""

    generate_model = "gpt-image-2.5-flare"
    edit_model = "gpt-image-2.5-flare"
    multi_image_model = "gpt-image-2.5-flare"
