"""`apiedit demo` tells a story a person can follow, with pictures that show each step."""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path

from PIL import Image, ImageChops

from apiedit.testing import storybook

from .conftest import APIEDIT


def pixels_changed(a: bytes, b: bytes) -> float:
    """The share of pixels that differ between two pictures (compared at the same size)."""
    with Image.open(io.BytesIO(a)) as x, Image.open(io.BytesIO(b)) as y:
        x, y = x.convert("RGB").resize((128, 128)), y.convert("RGB").resize((128, 128))
        diff = ImageChops.difference(x, y).convert("L").point(lambda v: 255 if v > 24 else 0)
        return diff.histogram()[255] / (128 * 128)


def test_the_demo_says_it_is_local_saves_inputs_and_prints_each_prompt_and_file(
    cli_env: dict[str, str], apiedit_home: Path,
) -> None:
    env = {**cli_env, "APIEDIT_LOAD_PLUGINS": "openai,gemini"}
    done = subprocess.run([*APIEDIT, "demo", "-o", "story"], capture_output=True, text=True,
                          env=env, cwd=apiedit_home, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    first = done.stdout.splitlines()[0]
    assert "local emulator" in first and "No key, no cost" in first
    out = apiedit_home / "story"
    portrait, cat = (out / "input-portrait.png").read_bytes(), (out / "input-cat.png").read_bytes()
    steps = re.findall(r'^(\w+) +(\S+) +"([^"]+)".* → (\S+)$', done.stdout, re.MULTILINE)
    assert [s[1] for s in steps if s[0] == "openai"] == [
        "text-to-image", "edit", "compose", "turn1", "turn2", "turn3"]
    assert [s[2] for s in steps if s[1].startswith("turn")][:3] == [
        "make her smile", "add a flower in her hair", "now put her on a beach"]
    files = {(p, what): (apiedit_home / f).read_bytes() for p, what, _, f in steps}
    for provider in ("openai", "gemini"):
        turns = [files[provider, f"turn{i}"] for i in (1, 2, 3)]
        assert 0.002 < pixels_changed(portrait, turns[0]) < 0.3  # the smile, on the same face
        assert 0.002 < pixels_changed(turns[0], turns[1]) < 0.3  # a flower added
        assert pixels_changed(turns[1], turns[2]) > 0.3  # a whole new background
        assert pixels_changed(cat, files[provider, "edit"]) > 0.3  # recoloured
        assert len({files[provider, s] for s in ("text-to-image", "edit", "compose")}) == 3


def test_storybook_writes_the_prompt_into_the_picture() -> None:
    one = storybook.paint("a lighthouse at dusk", size=(512, 512))
    other = storybook.paint("a windmill at dawn", size=(512, 512))
    with Image.open(io.BytesIO(one)) as a, Image.open(io.BytesIO(other)) as b:
        band = (0, 512 - storybook.Frame(512, 512).band, 512, 512)
        a_band, b_band = a.convert("RGB").crop(band), b.convert("RGB").crop(band)
        assert ImageChops.difference(a_band, b_band).getbbox() is not None  # different words
        assert (255, 255, 255) in {c for _, c in a_band.getcolors(1 << 16)}  # white lettering


def test_a_composition_holds_every_input_subject() -> None:
    portrait, cat = storybook.draw_portrait(), storybook.draw_cat()
    both = storybook.paint("the two of them in a park", [portrait, cat], (768, 512))
    with Image.open(io.BytesIO(both)) as img:
        colours = {c for _, c in img.convert("RGB").getcolors(1 << 18)}
    assert storybook.SKIN in colours and storybook.HAIR in colours  # the person
    assert (230, 140, 50) in colours  # the cat's fur
