"""The official google-genai SDK, unchanged, against the emulator: 3.x in-process, 1.40 in a venv.

Two SDK versions cannot share one environment, so google-genai 1.40.0 lives in a virtualenv
cached under `<repo>/.cache/` (built on first use with pip) and runs small scripts in a
subprocess, talking to the emulator this process started.
"""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from apiedit.testing.conformance import sample_png
from apiedit_gemini.emulator import GeminiEmulator, _fingerprint
from PIL import Image

genai = pytest.importorskip("google.genai")
from google.genai import errors, types

REPO = Path(__file__).resolve().parents[3]
OLD_SDK = "1.40.0"
OLD_SDK_VENV = REPO / ".cache" / f"gemini-sdk-{OLD_SDK}"


def jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (250, 200, 10)).save(buf, "JPEG")
    return buf.getvalue()


def sdk_client(emulator: GeminiEmulator, **options: Any) -> Any:
    options.setdefault("api_version", "v1beta")
    return genai.Client(api_key="k-sdk-test", http_options=types.HttpOptions(base_url=emulator.base_url, **options))


def image_parts(response: Any) -> list[Any]:
    return [p for p in response.candidates[0].content.parts if p.inline_data is not None]


# ------------------------------------------------------------------------- google-genai 3.x


def test_sdk3_generates_text_and_an_image(emulator: GeminiEmulator) -> None:
    config = types.GenerateContentConfig(response_modalities=["TEXT", "IMAGE"], seed=42,
                                         image_config=types.ImageConfig(aspect_ratio="16:9"))
    client = sdk_client(emulator)  # keep a reference: a collected Client closes its connection
    response = client.models.generate_content(model="gemini-nano-banana-2.1", contents="a cat", config=config)
    assert response.text == "Here is the image you asked for."
    image = image_parts(response)[0]
    assert image.inline_data.data.startswith(b"\x89PNG") and image.thought_signature
    assert emulator.calls[0].body["generationConfig"]["imageConfig"] == {"aspectRatio": "16:9"}


def test_sdk3_multi_image_edit_keeps_the_order(emulator: GeminiEmulator) -> None:
    png, jpg = sample_png(), jpeg()
    contents = ["combine these", types.Part.from_bytes(data=png, mime_type="image/png"),
                types.Part.from_bytes(data=jpg, mime_type="image/jpeg")]
    client = sdk_client(emulator)
    response = client.models.generate_content(model="gemini-3-pro-image", contents=contents)
    assert image_parts(response)
    assert emulator.calls[0].images == [png, jpg]
    sent = emulator.calls[0].raw_contents()[0]["parts"][1]["inlineData"]
    assert "mime_type" in sent  # 3.x spelling, as observed (providers.md appendix A)


def test_sdk3_chat_second_turn_replays_the_model_turn(emulator: GeminiEmulator) -> None:
    client = sdk_client(emulator)
    chat = client.chats.create(
        model="gemini-3-pro-image",
        config=types.GenerateContentConfig(response_modalities=["TEXT", "IMAGE"]))
    chat.send_message("draw a dog")
    second = chat.send_message("make it blue")
    assert image_parts(second)
    replayed = emulator.calls[1].contents[1]["parts"]
    assert _fingerprint(replayed) == _fingerprint(emulator.responses[0]["candidates"][0]["content"]["parts"])
    assert emulator.replay_problems == []


def test_sdk3_default_api_version_v1_is_served(emulator: GeminiEmulator) -> None:
    client = genai.Client(api_key="k-sdk-test", http_options=types.HttpOptions(base_url=emulator.base_url))
    client.models.generate_content(model="models/gemini-nano-banana-2.1", contents="a cat")
    assert emulator.calls[0].request.path == "/v1/models/gemini-nano-banana-2.1:generateContent"
    assert any(m.name == "models/gemini-nano-banana-2.1" for m in client.models.list())


def test_sdk3_sees_a_rate_limit_once_with_its_details(emulator: GeminiEmulator) -> None:
    emulator.variant = "rate_limit"
    client = sdk_client(emulator)
    with pytest.raises(errors.ClientError) as caught:
        client.models.generate_content(model="gemini-nano-banana-2.1", contents="x")
    assert caught.value.code == 429 and caught.value.status == "RESOURCE_EXHAUSTED"
    assert len(emulator.calls) == 1


def test_sdk3_sees_a_prompt_block_reason(emulator: GeminiEmulator) -> None:
    emulator.variant = "blocked_prompt"
    client = sdk_client(emulator)
    response = client.models.generate_content(model="gemini-nano-banana-2.1", contents="x")
    assert response.candidates is None
    assert response.prompt_feedback.block_reason == types.BlockedReason.PROHIBITED_CONTENT


# ------------------------------------------------------------------------- google-genai 1.40


@pytest.fixture(scope="session")
def old_sdk_python() -> Path:
    """The interpreter of a virtualenv holding google-genai 1.40.0 (built once, then cached)."""
    python = OLD_SDK_VENV / "bin" / "python"
    check = [str(python), "-c", "import google.genai as g; print(g.__version__)"]
    found = subprocess.run(check, capture_output=True, text=True, check=False) if python.exists() else None
    if found is not None and found.stdout.strip() == OLD_SDK:
        return python
    try:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(OLD_SDK_VENV)], check=True, timeout=300)
        subprocess.run([str(python), "-m", "pip", "install", "-q", f"google-genai=={OLD_SDK}"],
                       check=True, timeout=600, capture_output=True)
    except (subprocess.SubprocessError, OSError) as exc:
        pytest.skip(f"could not build a google-genai {OLD_SDK} virtualenv: {exc}")
    return python


def run(python: Path, script: str, *args: str, env: dict[str, str] | None = None) -> Any:
    done = subprocess.run([str(python), "-c", textwrap.dedent(script), *args], capture_output=True,
                          text=True, timeout=300, env=env, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


SDK_SCRIPT = """
    import base64, json, sys
    import google.genai as genai
    from google.genai import errors, types

    base, png, jpg = sys.argv[1], base64.b64decode(sys.argv[2]), base64.b64decode(sys.argv[3])
    client = genai.Client(api_key="k-sdk-old-test", http_options=types.HttpOptions(base_url=base))
    out = {"version": genai.__version__}

    def images(response):
        return [p for p in response.candidates[0].content.parts if p.inline_data is not None]

    config = types.GenerateContentConfig(response_modalities=["TEXT", "IMAGE"], seed=42,
                                         image_config=types.ImageConfig(aspect_ratio="1:1"))
    r = client.models.generate_content(model="gemini-nano-banana-2.1", contents="a cat", config=config)
    out["generate"] = [r.text, len(images(r)), images(r)[0].inline_data.data[:4].hex()]
    r = client.models.generate_content(model="gemini-3-pro-image", contents=[
        "combine", types.Part.from_bytes(data=png, mime_type="image/png"),
        types.Part.from_bytes(data=jpg, mime_type="image/jpeg")])
    out["edit"] = len(images(r))
    chat = client.chats.create(model="gemini-3-pro-image",
                               config=types.GenerateContentConfig(response_modalities=["TEXT", "IMAGE"]))
    chat.send_message("draw a dog")
    out["chat"] = len(images(chat.send_message("make it blue")))
    try:
        client.models.generate_content(model="gemini-nano-banana-2.1", contents="emulate:rate_limit")
    except errors.ClientError as exc:
        out["error"] = [exc.code, exc.status]
    print(json.dumps(out))
"""


@pytest.mark.slow
def test_sdk_1_40_works_against_the_emulator_unchanged(old_sdk_python: Path, emulator: GeminiEmulator) -> None:
    png, jpg = sample_png(), jpeg()
    out = run(old_sdk_python, SDK_SCRIPT, emulator.base_url, base64.b64encode(png).decode(),
              base64.b64encode(jpg).decode())
    assert out["version"] == OLD_SDK
    assert out["generate"] == ["Here is the image you asked for.", 1, "89504e47"]
    assert out["edit"] == 1 and out["chat"] == 1
    assert out["error"] == [429, "RESOURCE_EXHAUSTED"]
    paths = [c.request.path for c in emulator.calls]
    assert all(p.startswith("/v1beta/") for p in paths)  # 1.x defaults to v1beta
    assert len(paths) == 5  # the 429 was not retried by the SDK
    assert emulator.calls[1].images == [png, jpg]
    assert "mimeType" in emulator.calls[1].raw_contents()[0]["parts"][1]["inlineData"]  # 1.x spelling
    assert emulator.calls[3].contents[1]["role"] == "model" and emulator.replay_problems == []


PLUGIN_SCRIPT = """
    import json, sys
    import google.genai
    from apiedit import ConfigurationError, EditRequest, ImageData, Turn
    from apiedit.host import Host
    from apiedit.testing.conformance import sample_png

    base = sys.argv[1]
    host = Host(env={"APIEDIT_LOAD_PLUGINS": "gemini"})

    def edit(**fields):
        return host.edit("gemini", EditRequest(**fields), api_key="k-plugin-old-sdk", base_url=base)

    out = {"version": google.genai.__version__}
    first = edit(model="gemini-3-pro-image", prompt="a dog", aspect_ratio="16:9")
    compose = edit(model="gemini-3-pro-image", prompt="combine",
                   images=(ImageData(sample_png((1, 2, 3))), ImageData(sample_png((4, 5, 6)))))
    history = (Turn("user", "a dog"), Turn("assistant", first.text, first.images, "gemini", first.model, first.state))
    second = edit(model="gemini-3-pro-image", prompt="make it blue", history=history)
    sized = edit(model="gemini-3-pro-image", prompt="big", resolution="4K")
    out["transports"] = [r.info["transport"] for r in (first, compose, second, sized)]
    out["images"] = [len(r.images) for r in (first, compose, second, sized)]
    import os
    os.environ["APIEDIT_GEMINI_TRANSPORT"] = "sdk"
    try:
        edit(model="gemini-3-pro-image", prompt="big", resolution="4K")
    except ConfigurationError as exc:
        out["forced"] = "cannot express" in str(exc)
    print(json.dumps(out))
"""


@pytest.mark.slow
def test_the_plugin_uses_sdk_1_40_and_goes_rest_only_for_what_it_cannot_express(
    old_sdk_python: Path, emulator: GeminiEmulator, apiedit_home: Path
) -> None:
    site = next((OLD_SDK_VENV / "lib").glob("python3*/site-packages"))
    env = {**os.environ, "PYTHONPATH": str(site), "APIEDIT_GEMINI_TRANSPORT": "auto"}
    out = run(Path(sys.executable), PLUGIN_SCRIPT, emulator.base_url, env=env)
    assert out["version"] == OLD_SDK
    assert out["transports"] == ["sdk", "sdk", "sdk", "rest"]  # 1.40's ImageConfig has no image_size
    assert out["images"] == [1, 1, 1, 1]
    assert out["forced"] is True
    assert len(emulator.calls) == 4 and emulator.billable_count == 4
    assert emulator.replay_problems == []
