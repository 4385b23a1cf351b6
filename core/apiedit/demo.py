"""`apiedit demo`: run every installed provider against its built-in loopback emulator.

Nothing leaves the machine and no key is needed; it shows the whole path (plugin discovery,
validation, HTTP, decoding) with the same code real calls use.
"""

from __future__ import annotations

import io
from importlib.metadata import entry_points
from pathlib import Path

from .errors import ApiEditError

EMULATOR_GROUP = "apiedit.emulators"
DEMO_KEY = "demo-key-not-secret"


def _sample_png(colour: tuple[int, int, int], size: tuple[int, int] = (96, 64)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    return buf.getvalue()


def run_demo(only: list[str] | None, out: Path) -> int:
    from .host import default_host
    from .images import extension_for
    from .types import EditRequest, ImageData

    host = default_host()
    providers = host.providers()
    emulators = {ep.name: ep for ep in entry_points(group=EMULATOR_GROUP)}
    chosen = [p for p in providers if p in emulators and (not only or p in only)]
    if not chosen:
        print("No installed provider ships an emulator; install the plugins first (see README).")
        return 1
    inputs = [ImageData(_sample_png(c)) for c in ((200, 40, 40), (40, 160, 60), (40, 60, 200))]
    out.mkdir(parents=True, exist_ok=True)
    failures = 0
    for provider in chosen:
        emulator_class = emulators[provider].load()
        with emulator_class() as emulator:
            models = getattr(emulator_class, "demo_models", {})
            jobs = [
                ("text-to-image", models.get("generate"), ()),
                ("edit", models.get("edit"), inputs[:1]),
                ("compose", models.get("compose"), inputs),
            ]
            for job, model, images in jobs:
                if not model:
                    continue
                request = EditRequest(model=model, prompt=f"demo {job}", images=images)
                try:
                    result = host.edit(provider, request, api_key=DEMO_KEY, base_url=emulator.base_url)
                except ApiEditError as exc:
                    failures += 1
                    print(f"{provider:<11} {job:<14} FAILED: {exc}")
                    continue
                path = out / f"{provider}-{job}.{extension_for(result.images[0].data)}"
                path.write_bytes(result.images[0].data)
                print(f"{provider:<11} {job:<14} {model:<34} -> {path}")
    return 1 if failures else 0
