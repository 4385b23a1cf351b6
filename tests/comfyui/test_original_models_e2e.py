"""A workflow of the original node (`APIImageEditNode`) with a model id the original offered that is
retired or renamed today runs the current model, in a real ComfyUI (queue-time validation included)
against the emulators: the provider is asked for today's id, and the log says which.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from apiedit.testing.pytest_plugin import SENTINEL_KEY
from harness import REPO, ComfyServer, provider_env
from PIL import Image

pytestmark = pytest.mark.comfyui


@pytest.fixture(scope="module")
def server(pack_install, emulators, gemini) -> Iterator[ComfyServer]:
    extra_env = {**provider_env(emulators, SENTINEL_KEY), "GEMINI_API_KEY": SENTINEL_KEY,
                 "APIEDIT_GEMINI_BASE_URL": gemini.base_url}
    with ComfyServer(pack_install.env, REPO, extra_env=extra_env, pack_name="apiedit") as comfy:
        buf = io.BytesIO()
        Image.new("RGB", (64, 64), (200, 120, 40)).save(buf, "PNG")
        comfy.upload_image(buf.getvalue(), "original-input.png")
        yield comfy


def original_node(provider: str, model: str, image: bool) -> dict[str, Any]:
    """The original node as its workflows queue it (every input of 1.0.5, the key left empty)."""
    inputs: dict[str, Any] = {
        "api_provider": provider, "api_key": "", "model": model, "prompt": f"a lighthouse ({model})",
        "generation_mode": "single", "image_count": 1, "seed": 5, "chat_history": "",
        "edit_history": "", "reset_chat": False, "backup_api_url": "", "custom_model": ""}
    if image:
        inputs["image1"] = ["1", 0]
    return {"class_type": "APIImageEditNode", "inputs": inputs}


def asked_model(emulators: dict[str, Any], gemini: Any, provider: str) -> str:
    """The model id of the newest paid request the provider's emulator received."""
    if provider == "gemini":
        return str(gemini.calls[-1].model)
    paid = [r for r in emulators[provider].requests if r.billable]
    if provider == "modelscope" or "generations" in paid[-1].path:
        return str(paid[-1].json()["model"])
    return next(str(value) for name, value, _file, _type in paid[-1].form() if name == "model")


CASES = [  # (the original's provider name, its model id, an input image?, plugin, model asked for)
    ("OpenAI", "dall-e-3", False, "openai", "gpt-image-1.5"),  # retired 2026-05-12
    ("OpenAI", "gpt-4o", True, "openai", "gpt-image-1.5"),  # a chat model: never made images
    ("ModelScope", "MusePublic/Qwen-Image-Edit", True, "modelscope", "Qwen/Qwen-Image-Edit"),
    ("Google Gemini", "gemini-2.0-flash-preview-image-generation", False, "gemini", "gemini-nano-banana-2.1"),
    ("ModelScope", "Qwen/Qwen-Image", False, "modelscope", "Qwen/Qwen-Image"),  # current: unchanged
]


@pytest.mark.parametrize(("label", "original", "image", "provider", "current"), CASES,
                         ids=[c[1] for c in CASES])
def test_an_original_model_id_runs_todays_model(server, emulators, gemini, label, original, image,
                                                provider, current) -> None:
    for emulator in (*emulators.values(), gemini):
        emulator.reset()
    graph: dict[str, Any] = {
        "10": original_node(label, original, image),
        "20": {"class_type": "SaveImage", "inputs": {"images": ["10", 0], "filename_prefix": "original"}},
    }
    if image:
        graph["1"] = {"class_type": "LoadImage", "inputs": {"image": "original-input.png"}}
    entry = server.wait(server.queue(graph), timeout=90)
    assert entry["status"]["status_str"] == "success", entry["status"]
    assert len(entry["outputs"]["20"]["images"]) == 1
    billed = emulators[provider].billable_count if provider != "gemini" else gemini.billable_count
    assert billed == 1
    assert asked_model(emulators, gemini, provider) == current
    notice = f"the original's model {original!r} is retired or renamed; running {provider} model {current!r}"
    assert (notice in server.log_text()) is (original != current)
