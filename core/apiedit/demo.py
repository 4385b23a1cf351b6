"""`apiedit demo`: every installed provider against its own loopback emulator, as a short story.

Nothing leaves the machine and no key is needed; the path is the one real calls take (plugin
discovery, validation, HTTP, decoding). The emulators paint storybook pictures
(`apiedit.testing.storybook`), so each file shows what its step asked for: text-to-image, an
edit, a composition and a three-turn conversation (smile, flower, beach).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Callable

from .console.emulate import EMULATOR_GROUP, emulator_class
from .errors import ApiEditError

__all__ = ["EMULATOR_GROUP", "run_demo"]

DEMO_KEY = "demo-key-not-secret"
TEXT_TO_IMAGE = "a red fox in snow"
EDIT = "paint the cat in warm sunset colours"
COMPOSE = "the woman and her cat together in a park"
TURNS = ("make her smile", "add a flower in her hair", "now put her on a beach")


def _inputs(out: Path) -> dict[str, bytes]:
    """The demo's input pictures, saved next to the outputs so each edit can be compared."""
    from .testing.storybook import draw_cat, draw_portrait

    inputs = {"portrait": draw_portrait(), "cat": draw_cat()}
    for name, data in inputs.items():
        (out / f"input-{name}.png").write_bytes(data)
    return inputs


class _Story:
    """One provider's steps; each prints `prompt → file` or what failed."""

    def __init__(self, provider: str, emulator: Any, out: Path, host: Any) -> None:
        self.provider, self.emulator, self.out, self.host = provider, emulator, out, host
        self.failures = 0
        self.step = 0

    def run(self, what: str, prompt: str, call: Callable[[], Any], note: str = "") -> Any:
        from .images import extension_for

        self.step += 1
        label = f"{self.provider:<11} {what:<15}"
        try:
            result = call()
        except ApiEditError as exc:
            self.failures += 1
            print(f"{label} FAILED: {exc}")
            return None
        data = result.images[0].data
        path = self.out / f"{self.provider}-{self.step}-{what}.{extension_for(data)}"
        path.write_bytes(data)
        print(f"{label} \"{prompt}\"{note} → {path}")
        return result


def _tell(provider: str, cls: Any, out: Path, host: Any, inputs: dict[str, bytes],
          store_dir: Path) -> int:
    from .conversation import Conversation, ConversationStore
    from .types import EditRequest, ImageData

    models = getattr(cls, "demo_models", {})
    with cls() as emulator:
        emulator.present()
        story = _Story(provider, emulator, out, host)
        options: dict[str, Any] = {"api_key": DEMO_KEY, "base_url": emulator.base_url}
        portrait, cat = ImageData(inputs["portrait"]), ImageData(inputs["cat"])

        def edit(model: str, prompt: str, *images: ImageData) -> Callable[[], Any]:
            return lambda: host.edit(provider, EditRequest(model=model, prompt=prompt, images=images),
                                     **options)

        if models.get("generate"):
            story.run("text-to-image", TEXT_TO_IMAGE, edit(models["generate"], TEXT_TO_IMAGE))
        if models.get("edit"):
            story.run("edit", EDIT, edit(models["edit"], EDIT, cat), " (input-cat.png)")
        if models.get("compose"):
            story.run("compose", COMPOSE, edit(models["compose"], COMPOSE, portrait, cat),
                      " (input-portrait.png + input-cat.png)")
        if models.get("edit"):
            store = ConversationStore(store_dir / f"{provider}.sqlite3")
            chat = Conversation.open("portrait", store=store, host=host)
            for turn, prompt in enumerate(TURNS, 1):
                images = (portrait,) if turn == 1 else ()
                note = " (input-portrait.png)" if turn == 1 else f" (continues turn {turn - 1})"
                result = story.run(
                    f"turn{turn}", prompt,
                    lambda p=prompt, i=images: chat.send(provider, model=models["edit"], prompt=p,
                                                         images=i, **options), note)
                if result is None:
                    break
            store.close()
    return story.failures


def run_demo(only: list[str] | None, out: Path) -> int:
    from importlib.metadata import entry_points

    from .host import default_host

    host = default_host()
    with_emulators = {ep.name for ep in entry_points(group=EMULATOR_GROUP)}
    for name in only or ():
        if name not in with_emulators or name not in host.providers():
            host.get_provider(name)  # an unknown or broken plugin: its own error, with a suggestion
            emulator_class(name)  # installed, but ships no emulator
    chosen = [p for p in host.providers() if p in with_emulators and (not only or p in only)]
    if not chosen:
        print("No installed provider ships an emulator; install the plugins first (see README).")
        return 1
    print("apiedit demo: each installed provider talks to its own local emulator over loopback "
          "HTTP. No key, no cost, nothing leaves this machine; the pictures are drawn by the "
          f"emulators, not by real models. Files go to {out}/.")
    out.mkdir(parents=True, exist_ok=True)
    inputs = _inputs(out)
    print(f"inputs: {out / 'input-portrait.png'}, {out / 'input-cat.png'}")
    failures = 0
    with tempfile.TemporaryDirectory(prefix="apiedit-demo-") as store_dir:
        for provider in chosen:
            failures += _tell(provider, emulator_class(provider), out, host, inputs, Path(store_dir))
    print(f"done: open {out}/ to see each step's picture next to its inputs."
          if not failures else f"{failures} step(s) failed; see above.")
    return 1 if failures else 0
