"""`apiedit chat PROVIDER -m MODEL`: a multi-turn editing loop on a stored conversation.

Each line is the next turn's prompt; each answer's image is saved (never overwriting) and its
path printed. Slash commands steer the conversation; a failed turn stores nothing, so the loop
simply goes on.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

from ..errors import ApiEditError
from ..types import ImageData
from .hints import cli_message
from .inputs import read_image
from .outputs import file_stem, prepare_out_dir, save_images
from .running import CancelledByUser, run_cancellable

__all__ = ["run_chat"]

HELP = ("Type a prompt to send the next turn. /image PATH attaches an input image to it, "
        "/reset forgets every turn, /history lists the turns, /undo goes back one turn, "
        "/quit leaves.")


class ChatSession:
    """The loop's state: the conversation, the images waiting for the next turn, the output."""

    def __init__(self, provider: str, model: str, conversation: str, out: Path,
                 base_url: str | None, allow_unlisted: bool) -> None:
        from ..conversation import Conversation
        from ..host import default_host

        self.host = default_host()
        self.provider, self.model = provider, model
        self.label = self.host.get_provider(provider).label
        self.host.get_model(provider, model, allow_unlisted=allow_unlisted, base_url=base_url)
        self.conversation = Conversation.open(conversation)
        self.out, self.base_url, self.allow_unlisted = out, base_url, allow_unlisted
        self.pending: list[ImageData] = []

    # ---- turns ---------------------------------------------------------------------------
    def send(self, prompt: str) -> None:
        images = tuple(self.pending)
        result = run_cancellable(self.label, lambda cancel, progress: self.conversation.send(
            self.provider, model=self.model, prompt=prompt, images=images,
            base_url=self.base_url, allow_unlisted=self.allow_unlisted, cancel=cancel,
            progress=progress,
        ))
        self.pending.clear()
        turn = result.info.get("turn")
        stem = file_stem(f"{self.conversation.name}-turn{turn if turn is not None else 'unsaved'}")
        for path in save_images(result.images, self.out, stem):
            print(f"turn {turn}: {prompt} → {path}")
        if result.info.get("reused"):
            print("  (the same request as the last turn: its stored answer, not billed again)")
        if result.text:
            print(f"  model text: {result.text}")
        for warning in result.warnings:
            print(f"  warning: {warning}")

    # ---- slash commands ------------------------------------------------------------------
    def attach(self, path: str) -> None:
        if not path:
            print("usage: /image PATH")
            return
        self.pending.append(read_image(path, "/image"))
        print(f"attached {path} ({len(self.pending)} image(s) for the next turn)")

    def reset(self) -> None:
        self.conversation.reset()
        self.pending.clear()
        print(f"conversation {self.conversation.name!r} reset: the next turn is turn 1")

    def history(self) -> None:
        exchanges = self.conversation.exchanges()
        if not exchanges:
            print("no turns yet")
        for e in exchanges:
            print(f"turn {e.turn}: [{e.user.provider}/{e.user.model}] {e.user.text} "
                  f"({len(e.user.images)} in, {len(e.assistant.images)} out)")

    def undo(self) -> None:
        """Go back one turn by forking: the old conversation keeps every turn, for safety."""
        exchanges = self.conversation.exchanges()
        if not exchanges:
            print("nothing to undo")
            return
        taken = set(self.conversation.names(store=self.conversation.store))
        base = self.conversation.name
        new_name = next(f"{base}-{k}" for k in range(2, 10_000) if f"{base}-{k}" not in taken)
        if len(exchanges) == 1:
            from ..conversation import Conversation

            self.conversation = Conversation.open(new_name, store=self.conversation.store)
        else:
            self.conversation = self.conversation.fork(exchanges[-2].turn, new_name)
        print(f"undid turn {exchanges[-1].turn}: now in conversation {new_name!r} "
              f"({len(exchanges) - 1} turn(s); {base!r} keeps all {len(exchanges)})")


def run_chat(provider: str, model: str, *, conversation: str = "chat", out: str = ".",
             base_url: str | None = None, allow_unlisted: bool = False,
             read_line: Callable[[str], str] = input) -> int:
    """The interactive loop; returns when the user types /quit or ends the input."""
    out_dir = prepare_out_dir(out)
    session = ChatSession(provider, model, conversation, out_dir, base_url, allow_unlisted)
    turns = len(session.conversation.exchanges())
    print(f"Chat with {session.label} {model} in conversation {conversation!r} "
          f"({turns} turn(s) so far); images go to {out_dir}. {HELP}", flush=True)
    commands: dict[str, Callable[[str], None]] = {
        "/image": session.attach,
        "/reset": lambda _arg: session.reset(),
        "/history": lambda _arg: session.history(),
        "/undo": lambda _arg: session.undo(),
        "/help": lambda _arg: print(HELP),
    }
    while True:
        try:
            line = read_line("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            break
        if not line:
            continue
        word, _, arg = line.partition(" ")
        if word in ("/quit", "/exit"):
            break
        try:
            if word.startswith("/"):
                if word not in commands:
                    print(f"unknown command {word}. {HELP}")
                    continue
                commands[word](arg.strip())
            else:
                session.send(line)
        except CancelledByUser as exc:
            print(f"cancelled: {exc}")
        except ApiEditError as exc:
            print(f"error: {cli_message(exc)}", file=sys.stderr)
        sys.stdout.flush()
    print(f"bye: conversation {session.conversation.name!r} is stored; "
          f"continue with `apiedit chat {provider} -m {model} --conversation "
          f"{session.conversation.name}`.")
    return 0
