"""The example plugin passes the core conformance suite: a third party's ten lines."""

from apiedit.testing.conformance import ProviderConformance
from apiedit_example.emulator import ExampleEmulator


class TestExampleConformance(ProviderConformance):
    provider = "example"
    emulator_class = ExampleEmulator
    generate_model = "example-image-1"
    edit_model = "example-image-1"
    multi_image_model = "example-image-1"
    multi_image_count = 4
