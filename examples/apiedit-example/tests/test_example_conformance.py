"""The example plugin passes the core conformance suite: a third party's few lines."""

import pytest

from apiedit.testing.conformance import ProviderConformance
from apiedit_example.emulator import ExampleEmulator


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    """Jobs are polled on core's schedule (0.5 s first); tests shorten its first waits."""
    from apiedit.protocols import async_tasks

    monkeypatch.setattr(async_tasks, "DEFAULT_SCHEDULE", (0.01, 0.01, 0.02))


class TestExampleConformance(ProviderConformance):
    provider = "example"
    emulator_class = ExampleEmulator
    generate_model = "example-image-1"
    edit_model = "example-image-1"
    multi_image_model = "example-image-1"
    multi_image_count = 4
