"""Other clients as anchors for the overhead figure, each in its own venv under `.cache/anchors/`.

* LiteLLM: `litellm.image_edit` through its OpenAI path, against our OpenAI emulator.
* The original `comfyui-api-image-edit` 1.0.5: its `call_openai_compatible_api` (OpenRouter)
  and `_call_gemini_rest_api` (Gemini REST), then its `base64_to_image`. The index's 1.0.5 wheel
  holds no Python code (`shared/reference/original.md` §1), so the node file comes from the
  project's repository at the v1.0.5 commit (32b4e18).

Each anchor runs as a long-lived subprocess of its venv's interpreter: it imports its client
once, then answers "go" with the seconds one call took, so the parent interleaves it with our
client and the floor, round by round, on the same emulator. An anchor that is not installed is
skipped with a note. `python benchmarks/anchors.py --install` makes both venvs (a network
install: never part of the test suite).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ANCHORS = ROOT / ".cache" / "anchors"
ORIGINAL_COMMIT = "32b4e18"  # v1.0.5 of aiaiaikkk/comfyui-api-image-edit
ORIGINAL_SOURCE = ANCHORS / "original" / "src" / "api_image_edit_node.py"

_LITELLM = r"""
import base64, io, os, sys, time
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network fetch at import
import litellm
base_url, key, model, image_path = sys.argv[1:5]
image = open(image_path, "rb").read()

def call():
    upload = io.BytesIO(image)
    upload.name = "image.png"  # LiteLLM reads a file object and takes its name and type
    result = litellm.image_edit(image=upload, prompt="make it evening", model="openai/" + model,
                                api_base=base_url, api_key=key)
    return base64.b64decode(result.data[0].b64_json)

from importlib.metadata import version
print("version", version("litellm"), flush=True)
for line in sys.stdin:
    start = time.perf_counter(); out = call(); took = time.perf_counter() - start
    assert out[:8] == b"\x89PNG\r\n\x1a\n"
    print(took, flush=True)
"""

_ORIGINAL = r"""
import base64, contextlib, io, os, sys, time
source, base_url, key, model, image_path, provider = sys.argv[1:7]
sys.path.insert(0, os.path.dirname(source))
with contextlib.redirect_stdout(io.StringIO()):
    import api_image_edit_node as original
node = original.APIImageEditNode()
image_b64 = base64.b64encode(open(image_path, "rb").read()).decode("utf-8")
if provider == "openrouter":
    node.api_configs["OpenRouter"]["base_url"] = base_url
    def send():
        return node.call_openai_compatible_api("OpenRouter", image_b64, "make it evening", model, key)
else:
    node.api_configs["Google Gemini"]["base_url"] = base_url + "/v1beta/models"
    def send():
        return node._call_gemini_rest_api(image_b64, "make it evening", model, key)

def call():
    with contextlib.redirect_stdout(io.StringIO()):  # it prints several lines per call
        answer = send()
        img = node.base64_to_image(answer)
    return img

print("version comfyui-api-image-edit-1.0.5", flush=True)
for line in sys.stdin:
    start = time.perf_counter(); img = call(); took = time.perf_counter() - start
    assert img is not None and img.size[0] > 0, "the original returned no image"
    print(took, flush=True)
"""


class Anchor:
    """One anchor subprocess: `call()` runs one edit in it and returns the seconds it took."""

    def __init__(self, name: str, argv: list[str]) -> None:
        self.name = name
        self.script = argv[1]  # a temporary file, removed by close()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("APIEDIT_", "PYTHONPATH"))}
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, env=env)
        first = self.proc.stdout.readline().split() if self.proc.stdout else []
        if not first or first[0] != "version":
            self.close()
            raise RuntimeError(f"{name} did not start")
        self.version = first[1] if len(first) > 1 else "?"

    def call(self) -> float:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.name} failed during a call")
        return float(line)

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        Path(self.script).unlink(missing_ok=True)


def _python(venv: str) -> Path:
    return ANCHORS / venv / ("venv" if venv == "original" else "") / "bin" / "python"


def _script(code: str) -> str:
    fd, path = tempfile.mkstemp(prefix="apiedit-anchor-", suffix=".py")
    with os.fdopen(fd, "w") as fh:
        fh.write(code)
    return path


def start(provider: str, base_url: str, key: str, model: str, image: bytes) -> tuple[list[Anchor], list[str]]:
    """The anchors that apply to `provider` (started), and a note for each one skipped."""
    anchors: list[Anchor] = []
    notes: list[str] = []
    fd, image_path = tempfile.mkstemp(prefix="apiedit-anchor-", suffix=".png")
    with os.fdopen(fd, "wb") as fh:
        fh.write(image)
    wanted: list[tuple[str, list[str]]] = []
    if provider == "openai":
        wanted.append(("LiteLLM", [str(_python("litellm")), _script(_LITELLM), base_url, key, model,
                                   image_path]))
    if provider in ("openrouter", "gemini REST"):
        kind = "openrouter" if provider == "openrouter" else "gemini"
        if not ORIGINAL_SOURCE.exists():
            notes.append(f"original skipped: {ORIGINAL_SOURCE} missing (run anchors.py --install)")
        else:
            wanted.append(("original", [str(_python("original")), _script(_ORIGINAL),
                                               str(ORIGINAL_SOURCE), base_url, key, model,
                                               image_path, kind]))
    for name, argv in wanted:
        if not Path(argv[0]).exists():
            notes.append(f"{name} skipped: no venv at {Path(argv[0]).parent.parent} "
                         "(run benchmarks/anchors.py --install)")
            continue
        try:
            anchor = Anchor(name, argv)
            anchor.call()  # warm, as our client is
            anchors.append(anchor)
        except (RuntimeError, OSError, ValueError) as exc:
            notes.append(f"{name} skipped: {exc}")
    return anchors, notes


def install() -> None:
    """Make both venvs (network: the package index, and the stored copy of the original)."""
    litellm = ANCHORS / "litellm"
    if not (litellm / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(litellm)], check=True)
    subprocess.run([str(litellm / "bin" / "pip"), "install", "--quiet", "litellm"], check=True)
    original = ANCHORS / "original" / "venv"
    if not (original / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(original)], check=True)
    constraints = ROOT / "constraints-dev.txt"  # its requirements name torch: the local CPU wheel
    subprocess.run([str(original / "bin" / "pip"), "install", "--quiet", "requests", "Pillow",
                    "numpy", "torch", "-c", str(constraints)], check=True)
    if not ORIGINAL_SOURCE.exists():
        print(f"Put api_image_edit_node.py of aiaiaikkk/comfyui-api-image-edit at commit "
              f"{ORIGINAL_COMMIT} (v1.0.5) at {ORIGINAL_SOURCE}.")


def describe(anchors: list[Any]) -> str:
    return ", ".join(f"{a.name} {a.version}" for a in anchors)


if __name__ == "__main__":
    if "--install" in sys.argv:
        install()
    else:
        print(__doc__)
