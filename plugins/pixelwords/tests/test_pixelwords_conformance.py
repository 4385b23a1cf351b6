"""The core conformance suite, run against the PixelWords plugin and its relay emulator."""

from apiedit.testing.conformance import ProviderConformance
from apiedit_pixelwords.emulator import PixelWordsEmulator


class TestPixelWordsConformance(ProviderConformance):
    provider = "pixelwords"
    emulator_class = PixelWordsEmulator
    generate_model = "gemini-2.5-flash-image"
    edit_model = "gemini-2.5-flash-image-hd"
    multi_image_model = "gemini-2.5-flash-image"
    multi_image_count = 4
