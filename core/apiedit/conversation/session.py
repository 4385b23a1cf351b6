"""`apiedit.Conversation`: a named multi-turn edit that survives restarts.

    chat = apiedit.Conversation.open("portrait")
    chat.send("gemini", model="gemini-2.5-flash-image", prompt="make her smile", images=[png])
    chat.send("gemini", model="gemini-2.5-flash-image", prompt="add a flower in her hair")

Models that keep a conversation natively receive the stored turns as `EditRequest.history`
(provider state such as Gemini thought signatures replayed verbatim); the others continue
from the last answer's image, fed back as the input.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from contextlib import suppress
from typing import TYPE_CHECKING, Any, Callable, Iterable

import attrs

from ..errors import ApiEditError, CancelledError
from ..redact import get_logger
from ..types import Capability, EditRequest, EditResult, ImageData, Turn
from .claims import Claim, claim_turn, release_claim
from .requestkey import request_key
from .store import ConversationStore, Exchange, TurnHead, check_name, default_store, store_at

if TYPE_CHECKING:
    from ..host import Host

__all__ = ["Conversation"]

log = get_logger("apiedit.conversation")

NATIVE = "native"
LAST_IMAGE = "last_image"
DEFAULT_TIMEOUT_S = 300.0  # the host's default deadline when a request sets none
CLAIM_POLL_S = 0.1  # how often a waiting sender looks for the other sender's answer


@attrs.frozen
class _Claimed:
    state: str
    claim: Claim
    result: EditResult | None = None


def _tell(progress: Callable[[str], None] | None, text: str) -> None:
    if progress is not None:
        with suppress(Exception):  # a broken progress sink must not fail the turn
            progress(text)


def _resolve_store(store: ConversationStore | str | os.PathLike[str] | None) -> ConversationStore:
    if store is None:
        return default_store()
    if isinstance(store, ConversationStore):
        return store
    return store_at(store)


def _wrap(images: Iterable[ImageData | bytes]) -> tuple[ImageData, ...]:
    out = []
    for image in images:
        if isinstance(image, ImageData):
            out.append(image)
        else:
            from ..images import sniff_mime

            data = bytes(image)
            out.append(ImageData(data, sniff_mime(data) or "image/png"))
    return tuple(out)


def _native_count(heads: list[TurnHead], provider: str, model: str) -> int:
    """How many of the newest turns were made with this provider and model (see _native_run)."""
    count = 0
    for head in reversed(heads):
        if (head.provider, head.model) != (provider, model):
            break
        count += 1
    return count


def _native_run(exchanges: list[Exchange], provider: str, model: str) -> list[Exchange]:
    """The newest turns made with this provider and model: the history it can replay.

    Provider state (thought signatures...) is only valid for the model that made it, so a
    switch of provider or model starts the native history afresh from the last image.
    """
    run: list[Exchange] = []
    for exchange in reversed(exchanges):
        if (exchange.user.provider, exchange.user.model) != (provider, model):
            break
        run.append(exchange)
    run.reverse()
    return run


def _takes_lazy_state(host: Host, provider: str) -> bool:
    """Whether the provider's plugin declares `LAZY_HISTORY_STATE = True`: it accepts
    `lazyimage.ImageText` in a history turn's state (Gemini refers to uploaded files instead of
    building that text). Every other plugin gets plain JSON state, as before."""
    manager = getattr(host, "_pm", None)
    plugin = manager.get_plugin(provider) if manager is not None else None
    return bool(getattr(plugin, "LAZY_HISTORY_STATE", False))


def _plain_state(turn: Turn) -> Turn:
    from .lazyimage import ImageText, materialize

    def has_text(value: Any) -> bool:
        if isinstance(value, ImageText):
            return True
        if isinstance(value, dict):
            return any(has_text(v) for v in value.values())
        return isinstance(value, list) and any(has_text(v) for v in value)

    return attrs.evolve(turn, state=materialize(turn.state)) if has_text(dict(turn.state)) else turn


class Conversation:
    """A named conversation in a `ConversationStore`; cheap to create, safe to share."""

    def __init__(self, name: str, store: ConversationStore, host: Host | None = None) -> None:
        self.name = check_name(name)
        self.store = store
        self._host = host

    def __repr__(self) -> str:
        return f"Conversation({self.name!r}, store={self.store!r})"

    @classmethod
    def open(
        cls,
        name: str,
        *,
        store: ConversationStore | str | os.PathLike[str] | None = None,
        host: Host | None = None,
        max_messages: int | None = None,
        max_images: int | None = None,
    ) -> Conversation:
        """The conversation `name` (new and empty if never used) in `store` (a store, a path,
        or None for the default under the user data directory). Limits given here are kept
        for this conversation from now on."""
        resolved = _resolve_store(store)
        if max_messages is not None or max_images is not None:
            resolved.set_limits(name, max_messages=max_messages, max_images=max_images)
        return cls(name, resolved, host)

    @classmethod
    def names(cls, *, store: ConversationStore | str | os.PathLike[str] | None = None) -> list[str]:
        """The names of every conversation in `store`."""
        return _resolve_store(store).names()

    @property
    def host(self) -> Host:
        if self._host is None:
            from ..host import default_host

            return default_host()
        return self._host

    # ---- sending -------------------------------------------------------------------------
    def send(
        self,
        provider: str,
        *,
        model: str,
        prompt: str,
        images: Iterable[ImageData | bytes] = (),
        use_last_image: bool = True,
        dedupe: bool = True,
        api_key: str | None = None,
        base_url: str | None = None,
        trust_base_url: bool = True,
        allow_unlisted: bool = False,
        cancel: threading.Event | None = None,
        progress: Callable[[str], None] | None = None,
        **request_fields: Any,
    ) -> EditResult:
        """Send the next turn and store it with its answer; on any error nothing is stored.

        `images` are this turn's inputs. Without any, and with `use_last_image`, a model that
        does not keep conversations gets the last answer's image as its input. Other
        `EditRequest` fields (`size`, `seed`, ...) go in `request_fields`. A `base_url` that
        came from a workflow rather than the user is passed with `trust_base_url=False`.

        Sending exactly the request that produced the newest turn again (same provider,
        model, prompt, images and options, from the same point of the conversation) returns
        that turn's stored answer without calling the provider; `dedupe=False` asks anew.
        The result's `info` says `conversation` ("native" or "last_image") and `turn`. An
        answer that arrives but cannot be stored is still returned, with a warning and
        `info["turn"]` None.
        """
        if "history" in request_fields:
            raise TypeError("send() takes no history: the conversation supplies it")
        request = EditRequest(model=model, prompt=prompt, images=_wrap(images), **request_fields)
        claim = None
        if dedupe:
            claim = self._claim(provider, request, use_last_image, cancel, progress)
            if claim.state == "stored":
                return claim.result  # type: ignore[return-value]
        try:
            return self._send_claimed(
                provider, request, claim.claim if claim else None, use_last_image,
                api_key=api_key, base_url=base_url, trust_base_url=trust_base_url,
                allow_unlisted=allow_unlisted, cancel=cancel, progress=progress,
            )
        finally:
            if claim is not None:
                release_claim(self.store._db, self.name, claim.claim)

    def _claim(self, provider: str, request: EditRequest, use_last_image: bool,
               cancel: threading.Event | None, progress: Callable[[str], None] | None) -> Any:
        """Wait until this turn is stored by another sender, or the caller holds its claim."""
        lease = 2 * (request.timeout_s or DEFAULT_TIMEOUT_S) + 60

        def key_for(parent: str | None) -> str:
            return request_key(provider, request, use_last_image=use_last_image, parent_key=parent)

        told = False
        while True:
            claim = claim_turn(self.store._db, self.name, key_for, lease_s=lease)
            if claim.state == "stored":
                log.info("Conversation %r: the request repeats turn %d; returning its stored "
                         "answer without calling %s.", self.name, claim.turn, provider)
                _tell(progress, f"Turn {claim.turn} repeated: using its stored answer (not billed).")
                # a stored claim is always the newest turn: read that one only
                stored = next((e for e in self.store.exchanges(self.name, last=1)
                               if e.turn == claim.turn), None)
                if stored is not None:  # else pruned or reset meanwhile: look again
                    return _Claimed("stored", claim, self._stored_result(stored))
                continue
            if claim.state == "mine":
                return _Claimed("mine", claim)
            if not told:
                told = True
                log.info("Conversation %r: another sender is already sending this turn; "
                         "waiting for its answer.", self.name)
                _tell(progress, "The same turn is being sent elsewhere: waiting for its answer "
                                "(billed once).")
            if cancel is not None and cancel.wait(CLAIM_POLL_S):
                raise CancelledError("Cancelled by the user.", provider=provider)
            if cancel is None:
                time.sleep(CLAIM_POLL_S)

    def _send_claimed(
        self, provider: str, request: EditRequest, claim: Claim | None, use_last_image: bool, *,
        api_key: str | None, base_url: str | None, trust_base_url: bool, allow_unlisted: bool,
        cancel: threading.Event | None, progress: Callable[[str], None] | None,
    ) -> EditResult:
        prompt, model = request.prompt, request.model
        # Only what this turn sends is loaded: the turn list first (no images, no state), then
        # the native run's turns, or just the one image a last-image turn continues from.
        heads = self.store.heads(self.name)
        if claim is not None:
            parent = claim.parent_key
        else:
            parent = heads[-1].request_key if heads else None
        key = request_key(provider, request, use_last_image=use_last_image, parent_key=parent)

        host = self.host
        native = host.supports_conversation(provider, model)
        history: tuple[Turn, ...] = ()
        if native:
            count = _native_count(heads, provider, model)
            # lazy: the images stay on disk until the plugin sends their bytes (a provider that
            # refers to uploaded files, or resends only the newest few, reads one or two)
            run = (_native_run(self.store.exchanges(self.name, last=count, lazy=True), provider, model)
                   if count else [])
            history = tuple(message for exchange in run for message in exchange.messages)
            if not _takes_lazy_state(host, provider):
                history = tuple(_plain_state(turn) for turn in history)
            # After a switch of provider or model the new one starts from the last image.
            feed = use_last_image and not request.images and count < len(heads)
        else:
            feed = use_last_image and not request.images
        warnings: list[str] = []
        fed = self.store.last_answer_image(self.name) if feed else None
        endpoint = dict(api_key=api_key, base_url=base_url, trust_base_url=trust_base_url)
        if fed is not None and not self._can_edit(host, provider, model, allow_unlisted, endpoint):
            warnings.append(
                f"{model} cannot edit images, so the conversation's last image was not fed back; "
                "this turn starts from the prompt alone."
            )
            fed = None
        sent = attrs.evolve(request, images=(fed,) if fed is not None else request.images,
                            history=history)
        result = host.edit(
            provider, sent, allow_unlisted=allow_unlisted, cancel=cancel, progress=progress,
            **endpoint,
        )
        if cancel is not None and cancel.is_set():
            # The user gave up on this turn while it ran (e.g. Ctrl-C in `apiedit chat`): a late
            # answer must not slip into the history behind their back.
            raise CancelledError(
                f"Cancelled; the answer that arrived afterwards was not stored in {self.name!r}.",
                provider=provider, request_id=result.request_id,
            )
        mode = NATIVE if native else LAST_IMAGE
        details = {"history_messages": len(history), "fed_last_image": fed is not None}
        warnings = [*result.warnings, *warnings]
        try:
            turn: int | None = self.store.append(
                self.name,
                Turn(role="user", text=prompt, images=sent.images, provider=provider, model=model),
                Turn(role="assistant", text=result.text, images=result.images,
                     provider=result.provider or provider, model=result.model or model,
                     state=result.state),
                request_key=key,
                parent_key=parent,
                info={"conversation": mode, "request_id": result.request_id,
                      "usage": dict(result.usage), "warnings": warnings,
                      "info": dict(result.info), **details},
            ).turn
        except (ApiEditError, OSError, sqlite3.Error) as exc:
            # The answer was paid for: hand it over, and say loudly that it was not kept.
            log.error("Conversation %r: the answer could not be stored: %s", self.name, exc)
            warnings.append(
                f"This answer could not be saved in conversation {self.name!r} ({exc}); the next "
                "turn continues from the turn before it."
            )
            turn = None
        return attrs.evolve(result, warnings=warnings,
                            info={**result.info, **self._turn_info(mode, turn), **details})

    def _can_edit(self, host: Host, provider: str, model: str, allow_unlisted: bool,
                  endpoint: dict[str, Any]) -> bool:
        info = host.get_model(provider, model, allow_unlisted=allow_unlisted, **endpoint)
        return info.supports(Capability.EDIT)

    def _turn_info(self, mode: str, turn: int | None) -> dict[str, Any]:
        return {"conversation": mode, "conversation_name": self.name, "turn": turn}

    def _stored_result(self, exchange: Exchange) -> EditResult:
        info = exchange.info
        answer = exchange.assistant
        return EditResult(
            images=answer.images,
            provider=answer.provider,
            model=answer.model,
            text=answer.text,
            request_id=info.get("request_id"),
            usage=info.get("usage") or {},
            warnings=tuple(info.get("warnings") or ()),
            info={**(info.get("info") or {}),
                  **self._turn_info(info.get("conversation", LAST_IMAGE), exchange.turn),
                  "history_messages": info.get("history_messages", 0),
                  "fed_last_image": info.get("fed_last_image", False),
                  "reused": True},
            state=answer.state,
        )

    # ---- reading and managing ------------------------------------------------------------
    def history(self) -> list[Turn]:
        """The stored messages, oldest first: each turn's user message, then its answer."""
        return self.store.history(self.name)

    def exchanges(self) -> list[Exchange]:
        """The stored turns with their numbers, keys and metadata, oldest first."""
        return self.store.exchanges(self.name)

    def last_image(self) -> ImageData | None:
        """The image the next turn continues from (the newest answer's first image)."""
        return self.store.last_answer_image(self.name)

    def reset(self) -> None:
        """Forget every turn; the next one is turn 1 again."""
        self.store.reset(self.name)

    def apply_reset_switch(self, flag: bool) -> bool:
        """For a UI switch: reset once when it is turned on, not on every run it stays on."""
        return self.store.apply_reset_switch(self.name, flag)

    def fork(self, at_turn: int, new_name: str) -> Conversation:
        """A new conversation `new_name` holding turns up to `at_turn`; both go on separately."""
        self.store.fork(self.name, at_turn, new_name)
        return Conversation(new_name, self.store, self._host)

    def delete(self) -> bool:
        """Remove this conversation and its turns."""
        return self.store.delete(self.name)

    def export(self, path: str | os.PathLike[str]) -> None:
        """Write the conversation to one JSON file, images embedded, state verbatim."""
        from .archive import export_conversation

        export_conversation(self.store, self.name, path)

    @classmethod
    def import_(
        cls,
        path: str | os.PathLike[str],
        name: str | None = None,
        *,
        store: ConversationStore | str | os.PathLike[str] | None = None,
        host: Host | None = None,
        replace: bool = False,
    ) -> Conversation:
        """Load an exported conversation (under its own name unless `name` is given); an
        existing conversation with turns is kept unless `replace`."""
        from .archive import import_conversation

        resolved = _resolve_store(store)
        imported = import_conversation(resolved, path, name, replace=replace)
        return cls(imported, resolved, host)
