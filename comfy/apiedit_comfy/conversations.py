"""The node's conversation controls on top of `apiedit.Conversation`.

Every run with conversation mode on records the reset switch (a run with it off re-arms it),
so a switch left on resets only once; an identical re-queue returns the stored turn without
calling the provider. The store lives under ComfyUI's private user directory (config.py).
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Sequence

from apiedit.conversation import Conversation
from apiedit.types import EditResult, ImageData


def send_turn(
    provider: str,
    images: Sequence[ImageData],
    fields: dict[str, Any],
    *,
    name: str,
    use_last_image: bool,
    reset: bool,
    cancel: threading.Event,
    base_url: str | None,
    trust_base_url: bool,
    progress: Callable[[str], None],
) -> EditResult:
    conversation = Conversation.open(name)
    if conversation.apply_reset_switch(reset):
        progress(f"conversation {name!r} reset")
    fields = dict(fields)
    return conversation.send(
        provider,
        model=fields.pop("model"),
        prompt=fields.pop("prompt"),
        images=tuple(images),
        use_last_image=use_last_image,
        base_url=base_url,
        trust_base_url=trust_base_url,
        cancel=cancel,
        progress=progress,
        **fields,
    )
