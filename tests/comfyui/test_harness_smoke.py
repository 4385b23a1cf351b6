"""Smoke test of the harness: a throwaway V3 pack runs in a real ComfyUI and its image is saved."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import pytest
from PIL import Image

from harness import ComfyEnv, ComfyServer

pytestmark = pytest.mark.comfyui

PACK_INIT = textwrap.dedent('''
    import torch
    from comfy_api.latest import ComfyExtension, io


    class SmokeRed(io.ComfyNode):
        @classmethod
        def define_schema(cls) -> io.Schema:
            return io.Schema(node_id="SmokeRed", display_name="Smoke Red", category="e2e",
                             inputs=[], outputs=[io.Image.Output()])

        @classmethod
        def execute(cls) -> io.NodeOutput:
            img = torch.zeros(1, 16, 16, 3, dtype=torch.float32)
            img[..., 0] = 1.0
            return io.NodeOutput(img)


    class SmokeExtension(ComfyExtension):
        async def get_node_list(self) -> list[type[io.ComfyNode]]:
            return [SmokeRed]


    async def comfy_entrypoint() -> SmokeExtension:
        return SmokeExtension()
''')


def test_v3_node_image_round_trip(tmp_path: Path, comfy_env: ComfyEnv) -> None:
    env = comfy_env
    pack = tmp_path / "smoke_pack"
    pack.mkdir()
    (pack / "__init__.py").write_text(PACK_INIT)

    with ComfyServer(env, pack, extra_env={}) as srv:
        assert srv.system_stats()["system"]["comfyui_version"] == env.version
        assert "SmokeRed" in srv.object_info(), srv.log_tail()
        assert srv.object_info("SmokeRed")["SmokeRed"]["output"] == ["IMAGE"]
        pid = srv.queue({
            "1": {"class_type": "SmokeRed", "inputs": {}},
            "2": {"class_type": "SaveImage",
                  "inputs": {"images": ["1", 0], "filename_prefix": "smoke"}},
        })
        entry = srv.wait(pid, timeout=60)
        assert entry["status"]["status_str"] == "success", entry["status"]
        (saved,) = entry["outputs"]["2"]["images"]
        png = srv.view(saved["filename"], saved["subfolder"], saved["type"])

    img = Image.open(io.BytesIO(png)).convert("RGB")
    assert img.size == (16, 16)
    assert img.getcolors() == [(16 * 16, (255, 0, 0))]
