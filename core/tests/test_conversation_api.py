"""`apiedit.Conversation` over real HTTP: last-image and native continuation, dedupe, failures."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import apiedit
import pytest
from apiedit import (
    Capability,
    ContentBlockedError,
    Conversation,
    ConversationMode,
    EditRequest,
    EditResult,
    ImageData,
    ModelInfo,
    ProviderInfo,
)
from apiedit.cli import main as cli_main
from apiedit.conversation import ConversationStore
from apiedit.host import Host
from apiedit.images import b64decode_any
from apiedit.testing.emulator import RecordedRequest
from apiedit_example.emulator import ExampleEmulator

MODEL = "example-image-1"


def png(colour: tuple[int, int, int]) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (16, 16), colour).save(buf, "PNG")
    return buf.getvalue()


class PaintingEmulator(ExampleEmulator):
    """The example API, but every answer is a new picture (its colour counts the requests), so
    each turn's output differs from its input and from every earlier output."""

    def paint(self, prompt: str, inputs: list[bytes], index: int) -> bytes:
        return png((40 * len(self.requests) % 256, 10, 200))

    def submits(self) -> list[RecordedRequest]:
        """The paid submits (each carries one turn's input images), in order."""
        return self.requests_to(r"^/jobs$", "POST")


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    """The example API is a job API; its polls wait core's schedule, which tests shorten."""
    from apiedit.protocols import async_tasks

    monkeypatch.setattr(async_tasks, "DEFAULT_SCHEDULE", (0.01, 0.01, 0.02))


@pytest.fixture
def store(apiedit_home: Path) -> ConversationStore:
    with ConversationStore(apiedit_home / "data" / "conversations.sqlite3") as opened:
        yield opened


@pytest.fixture
def painter(emulator_factory: Any) -> PaintingEmulator:
    return emulator_factory(PaintingEmulator)


def sent_images(request: RecordedRequest) -> list[bytes]:
    return [b64decode_any(i) for i in request.json()["images"]]


def say(conversation: Conversation, emulator: Any, key: str, prompt: str, **kw: Any) -> EditResult:
    return conversation.send("example", model=MODEL, prompt=prompt, api_key=key,
                             base_url=emulator.base_url, **kw)


# ---- last-image continuation -------------------------------------------------------------


def test_three_turn_last_image_conversation_feeds_each_answer_into_the_next_turn(
    store: ConversationStore, painter: PaintingEmulator, sentinel_key: str
) -> None:
    portrait = png((200, 180, 150))
    chat = Conversation.open("portrait", store=store)
    first = say(chat, painter, sentinel_key, "make her smile", images=[portrait])
    second = say(chat, painter, sentinel_key, "add a flower in her hair")
    third = say(chat, painter, sentinel_key, "put her on a beach")

    requests = painter.submits()
    assert sent_images(requests[0]) == [portrait]
    assert sent_images(requests[1]) == [first.images[0].data]
    assert sent_images(requests[2]) == [second.images[0].data]
    assert second.images[0].data != first.images[0].data
    assert [(r.info["conversation"], r.info["turn"]) for r in (first, second, third)] == [
        ("last_image", 1), ("last_image", 2), ("last_image", 3)]
    assert third.info["fed_last_image"] is True
    assert chat.last_image() == third.images[0]
    history = chat.history()
    assert [m.role for m in history] == ["user", "assistant"] * 3
    assert history[2].images == (first.images[0],)  # the image turn 2 actually sent


def test_a_given_image_wins_over_the_last_image(
    store: ConversationStore, painter: PaintingEmulator, sentinel_key: str
) -> None:
    chat = Conversation.open("c", store=store)
    say(chat, painter, sentinel_key, "a cat")
    other = png((1, 2, 3))
    say(chat, painter, sentinel_key, "use this one", images=[other])
    assert sent_images(painter.submits()[-1]) == [other]


def test_use_last_image_false_starts_from_the_prompt(
    store: ConversationStore, painter: PaintingEmulator, sentinel_key: str
) -> None:
    chat = Conversation.open("c", store=store)
    say(chat, painter, sentinel_key, "a cat")
    result = say(chat, painter, sentinel_key, "a dog", use_last_image=False)
    assert sent_images(painter.submits()[-1]) == []
    assert result.info["turn"] == 2 and result.info["fed_last_image"] is False


def test_a_conversation_continues_after_a_restart(
    apiedit_home: Path, painter: PaintingEmulator, sentinel_key: str
) -> None:
    path = apiedit_home / "c.sqlite3"
    with ConversationStore(path) as before:
        chat = Conversation.open("c", store=before)
        say(chat, painter, sentinel_key, "make her smile", images=[png((9, 9, 9))])
        second = say(chat, painter, sentinel_key, "add a flower")
    with ConversationStore(path) as after:
        third = say(Conversation.open("c", store=after), painter, sentinel_key, "beach background")
    assert sent_images(painter.submits()[-1]) == [second.images[0].data]
    assert third.info["turn"] == 3


def test_a_failed_turn_stores_nothing(
    store: ConversationStore, painter: PaintingEmulator, sentinel_key: str
) -> None:
    chat = Conversation.open("c", store=store)
    first = say(chat, painter, sentinel_key, "make her smile")
    painter.inject(painter.fault_for("blocked"))
    with pytest.raises(ContentBlockedError):
        say(chat, painter, sentinel_key, "add a flower")
    assert [e.turn for e in chat.exchanges()] == [1]
    retry = say(chat, painter, sentinel_key, "add a flower")
    assert retry.info["turn"] == 2
    assert sent_images(painter.submits()[-1]) == [first.images[0].data]


def test_repeating_the_last_request_returns_the_stored_answer_without_a_request(
    store: ConversationStore, painter: PaintingEmulator, sentinel_key: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    chat = Conversation.open("c", store=store)
    say(chat, painter, sentinel_key, "make her smile", images=[png((5, 5, 5))])
    second = say(chat, painter, sentinel_key, "add a flower", seed=7)
    billed = painter.billable_count
    with caplog.at_level("INFO", logger="apiedit.conversation"):
        again = say(chat, painter, sentinel_key, "add a flower", seed=7)
    assert painter.billable_count == billed == 2
    assert again.images == second.images and again.request_id == second.request_id
    assert again.info["turn"] == 2 and again.info["reused"] is True
    assert len(chat.exchanges()) == 2
    assert "repeats turn 2" in caplog.text


def test_a_changed_option_or_prompt_is_a_new_turn(
    store: ConversationStore, painter: PaintingEmulator, sentinel_key: str
) -> None:
    chat = Conversation.open("c", store=store)
    say(chat, painter, sentinel_key, "a cat", seed=1)
    assert say(chat, painter, sentinel_key, "a cat", seed=2).info["turn"] == 2
    assert say(chat, painter, sentinel_key, "a dog", seed=2).info["turn"] == 3
    assert painter.billable_count == 3


def test_dedupe_false_asks_the_provider_again(
    store: ConversationStore, painter: PaintingEmulator, sentinel_key: str
) -> None:
    chat = Conversation.open("c", store=store)
    say(chat, painter, sentinel_key, "a cat")
    again = say(chat, painter, sentinel_key, "a cat", dedupe=False)
    assert painter.billable_count == 2 and again.info["turn"] == 2


def test_repeat_after_a_restart_and_a_reset_switch_left_on_is_not_billed(
    apiedit_home: Path, painter: PaintingEmulator, sentinel_key: str
) -> None:
    """What a ComfyUI re-queue does: same inputs, reset switch still on."""
    path = apiedit_home / "c.sqlite3"
    for _ in range(2):
        with ConversationStore(path) as store:
            chat = Conversation.open("node-7", store=store)
            chat.apply_reset_switch(True)
            result = say(chat, painter, sentinel_key, "make her smile", images=[png((1, 1, 1))])
    assert painter.billable_count == 1
    assert result.info["turn"] == 1 and result.info["reused"] is True


def test_two_conversations_never_share_history(
    store: ConversationStore, painter: PaintingEmulator, sentinel_key: str
) -> None:
    left, right = Conversation.open("left", store=store), Conversation.open("right", store=store)
    a = say(left, painter, sentinel_key, "a cat")
    say(right, painter, sentinel_key, "a dog")
    say(left, painter, sentinel_key, "make it orange")
    assert sent_images(painter.submits()[-1]) == [a.images[0].data]
    assert [m.text for m in right.history() if m.role == "user"] == ["a dog"]


def test_fork_continues_separately(
    store: ConversationStore, painter: PaintingEmulator, sentinel_key: str
) -> None:
    chat = Conversation.open("c", store=store)
    first = say(chat, painter, sentinel_key, "make her smile")
    say(chat, painter, sentinel_key, "add a flower")
    branch = chat.fork(1, "c-beach")
    result = say(branch, painter, sentinel_key, "beach background")
    assert sent_images(painter.submits()[-1]) == [first.images[0].data]
    assert result.info["turn"] == 2
    assert len(chat.exchanges()) == 2 and len(branch.exchanges()) == 2


def test_import_refuses_a_tampered_file(
    store: ConversationStore, painter: PaintingEmulator, sentinel_key: str, tmp_path: Path
) -> None:
    chat = Conversation.open("c", store=store)
    say(chat, painter, sentinel_key, "a cat")
    chat.export(tmp_path / "c.json")
    document = json.loads((tmp_path / "c.json").read_text())
    sha = next(iter(document["images"]))
    document["images"][sha] = base64.b64encode(b"not the same image").decode()
    (tmp_path / "c.json").write_text(json.dumps(document))
    with pytest.raises(apiedit.InvalidInputError, match="checksum"):
        Conversation.import_(tmp_path / "c.json", "copy", store=store)
    assert "copy" not in store.names()


def test_import_keeps_an_existing_conversation_unless_told_to_replace_it(
    store: ConversationStore, painter: PaintingEmulator, sentinel_key: str, tmp_path: Path
) -> None:
    chat = Conversation.open("c", store=store)
    say(chat, painter, sentinel_key, "a cat")
    chat.export(tmp_path / "c.json")
    say(chat, painter, sentinel_key, "a hat")
    with pytest.raises(apiedit.InvalidInputError, match="already exists"):
        Conversation.import_(tmp_path / "c.json", store=store)
    assert len(chat.exchanges()) == 2
    Conversation.import_(tmp_path / "c.json", store=store, replace=True)
    assert [e.user.text for e in chat.exchanges()] == ["a cat"]


def test_an_imported_conversation_recognises_a_repeat_of_its_last_turn(
    store: ConversationStore, painter: PaintingEmulator, sentinel_key: str, tmp_path: Path
) -> None:
    chat = Conversation.open("c", store=store)
    say(chat, painter, sentinel_key, "make her smile", images=[png((3, 4, 5))])
    say(chat, painter, sentinel_key, "add a flower")
    chat.export(tmp_path / "c.json")
    copy = Conversation.import_(tmp_path / "c.json", "copy", store=store)
    again = say(copy, painter, sentinel_key, "add a flower")
    assert again.info["reused"] is True and painter.billable_count == 2


def test_no_key_ever_reaches_the_store_or_an_export(
    store: ConversationStore, painter: PaintingEmulator, sentinel_key: str, tmp_path: Path
) -> None:
    chat = Conversation.open("c", store=store)
    say(chat, painter, sentinel_key, "a cat")
    chat.export(tmp_path / "c.json")
    store.close()
    for path in [*store.path.parent.glob("conversations.sqlite3*"), tmp_path / "c.json"]:
        assert sentinel_key.encode() not in path.read_bytes(), path


# ---- native continuation -----------------------------------------------------------------


class NativeChatPlugin:
    """An in-process provider whose model keeps the conversation natively (like Gemini)."""

    def __init__(self) -> None:
        self.requests: list[EditRequest] = []
        self.signatures: list[str] = []

    @apiedit.hookimpl
    def provider_info(self) -> ProviderInfo:
        return ProviderInfo(id="native-test", label="Native Test", needs_key=False,
                            default_base_url="http://127.0.0.1:9",
                            conversation=ConversationMode.NATIVE)

    @apiedit.hookimpl
    def list_models(self) -> list[ModelInfo]:
        caps = Capability.GENERATE | Capability.EDIT | Capability.MULTI_IMAGE | Capability.CONVERSATION
        return [ModelInfo(id=m, capabilities=caps, max_input_images=4) for m in ("chat-a", "chat-b")]

    @apiedit.hookimpl
    def supports_conversation(self, model: str) -> bool:
        return True

    @apiedit.hookimpl
    def edit(self, request: EditRequest) -> EditResult:
        self.requests.append(request)
        signature = base64.b64encode(os.urandom(96)).decode()
        self.signatures.append(signature)
        number = len(self.requests)
        return EditResult(
            images=[ImageData(png((number * 50 % 256, 0, 0)))], provider="native-test",
            model=request.model, text=f"answer {number}",
            state={"thought_signature": signature, "raw": signature.encode()[:10],
                   "parts": [{"text": f"answer {number}", "thought_signature": signature}]},
        )


@pytest.fixture
def native(apiedit_home: Path) -> tuple[Host, NativeChatPlugin]:
    host = Host(load_entry_points=False)
    plugin = NativeChatPlugin()
    host.register(plugin, "native-test")
    return host, plugin


def test_a_native_model_receives_the_stored_turns_with_state_verbatim_after_a_restart(
    apiedit_home: Path, native: tuple[Host, NativeChatPlugin]
) -> None:
    host, plugin = native
    path = apiedit_home / "c.sqlite3"
    portrait = png((10, 20, 30))
    with ConversationStore(path) as before:
        chat = Conversation.open("c", store=before, host=host)
        first = chat.send("native-test", model="chat-a", prompt="make her smile", images=[portrait])
        second = chat.send("native-test", model="chat-a", prompt="add a flower")
    with ConversationStore(path) as after:
        chat = Conversation.open("c", store=after, host=host)
        third = chat.send("native-test", model="chat-a", prompt="beach background")

    assert plugin.requests[0].history == ()
    assert plugin.requests[1].images == ()  # native: the history carries the image
    history = plugin.requests[2].history
    assert [(m.role, m.text) for m in history] == [
        ("user", "make her smile"), ("assistant", "answer 1"),
        ("user", "add a flower"), ("assistant", "answer 2")]
    assert history[0].images == (ImageData(portrait),)
    assert history[1].images == first.images and history[3].images == second.images
    assert history[1].state["thought_signature"] == plugin.signatures[0]
    assert history[3].state == second.state
    assert history[3].state["raw"] == plugin.signatures[1].encode()[:10]
    assert plugin.requests[2].images == ()
    assert (third.info["conversation"], third.info["turn"], third.info["history_messages"]) == (
        "native", 3, 4)


def test_export_then_import_round_trips_images_and_state_byte_identically(
    apiedit_home: Path, native: tuple[Host, NativeChatPlugin], tmp_path: Path
) -> None:
    host, plugin = native
    with ConversationStore(apiedit_home / "c.sqlite3") as store:
        chat = Conversation.open("c", store=store, host=host)
        chat.send("native-test", model="chat-a", prompt="make her smile",
                  images=[png((3, 4, 5)), ImageData(b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp")])
        chat.send("native-test", model="chat-a", prompt="add a flower")
        chat.export(tmp_path / "c.json")
        original = chat.exchanges()
        copy = Conversation.import_(tmp_path / "c.json", "copy", store=store)
        imported = copy.exchanges()
    with ConversationStore(tmp_path / "elsewhere.sqlite3") as other:
        moved = Conversation.import_(tmp_path / "c.json", store=other).exchanges()
    assert plugin.signatures[1] == original[1].assistant.state["thought_signature"]
    for copied in (imported, moved):
        assert [(e.turn, e.request_key, e.parent_key) for e in copied] == [
            (e.turn, e.request_key, e.parent_key) for e in original]
        for a, b in zip(original, copied, strict=False):
            for m, n in zip(a.messages, b.messages, strict=False):
                assert [(i.data, i.mime_type) for i in m.images] == [
                    (i.data, i.mime_type) for i in n.images]
                assert (m.role, m.text, m.provider, m.model) == (n.role, n.text, n.provider, n.model)
                assert m.state == n.state
                assert json.dumps(m.state, default=repr) == json.dumps(n.state, default=repr)


class UnstorableStatePlugin(NativeChatPlugin):
    """A buggy plugin whose state is an SDK object, not JSON data."""

    @apiedit.hookimpl
    def edit(self, request: EditRequest) -> EditResult:
        result = super().edit(request)
        return EditResult(images=result.images, provider=result.provider, model=result.model,
                          state={"sdk_object": object()})


def test_an_answer_that_cannot_be_stored_is_returned_with_a_warning(
    store: ConversationStore, apiedit_home: Path
) -> None:
    host = Host(load_entry_points=False)
    host.register(UnstorableStatePlugin(), "native-test")
    chat = Conversation.open("c", store=store, host=host)
    result = chat.send("native-test", model="chat-a", prompt="a cat")
    assert result.images and result.info["turn"] is None
    assert any("could not be saved" in w for w in result.warnings)
    assert chat.exchanges() == []


def test_switching_the_native_model_starts_afresh_from_the_last_image(
    store: ConversationStore, native: tuple[Host, NativeChatPlugin]
) -> None:
    host, plugin = native
    chat = Conversation.open("c", store=store, host=host)
    first = chat.send("native-test", model="chat-a", prompt="a cat")
    switched = chat.send("native-test", model="chat-b", prompt="make it orange")
    assert plugin.requests[1].history == ()  # chat-a's signatures mean nothing to chat-b
    assert plugin.requests[1].images == first.images
    assert switched.info["fed_last_image"] is True
    chat.send("native-test", model="chat-b", prompt="add a hat")
    assert [m.text for m in plugin.requests[2].history] == ["make it orange", "answer 2"]


def test_switching_provider_mid_conversation_feeds_the_last_image(
    store: ConversationStore, native: tuple[Host, NativeChatPlugin], painter: PaintingEmulator,
    sentinel_key: str,
) -> None:
    host, plugin = native
    from importlib.metadata import entry_points

    example = next(ep for ep in entry_points(group="apiedit") if ep.name == "example")
    host.register(example.load(), "example")
    chat = Conversation.open("c", store=store, host=host)
    painted = say(chat, painter, sentinel_key, "a cat")
    result = chat.send("native-test", model="chat-a", prompt="make it orange")
    assert plugin.requests[0].history == () and plugin.requests[0].images == painted.images
    assert result.info["conversation"] == "native"


# ---- surface -----------------------------------------------------------------------------


def test_import_apiedit_stays_free_of_sqlite3() -> None:
    code = ("import sys, apiedit; print(sorted(m for m in ('sqlite3', 'apiedit.conversation') "
            "if m in sys.modules)); apiedit.Conversation; print('sqlite3' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:2] == ["[]", "True"]


def test_conversation_is_public(apiedit_home: Path) -> None:
    assert "Conversation" in apiedit.__all__ and "Conversation" in dir(apiedit)
    from apiedit import Conversation as imported

    assert imported is Conversation


def test_history_cannot_be_passed_in(store: ConversationStore) -> None:
    with pytest.raises(TypeError, match="history"):
        Conversation.open("c", store=store).send("example", model=MODEL, prompt="x", history=())


def test_cli_continues_a_conversation_and_manages_it(
    apiedit_home: Path, painter: PaintingEmulator, sentinel_key: str,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("EXAMPLE_API_KEY", sentinel_key)
    portrait = apiedit_home / "portrait.png"
    portrait.write_bytes(png((200, 180, 150)))
    out = apiedit_home / "out"
    base = ["edit", "example", "-m", MODEL, "--base-url", painter.base_url, "--conversation",
            "portrait", "-o", str(out)]
    assert cli_main([*base, "-p", "make her smile", "-i", str(portrait)]) == 0
    assert cli_main([*base, "-p", "add a flower in her hair"]) == 0
    assert cli_main([*base, "-p", "now put her on a beach"]) == 0
    assert cli_main([*base, "-p", "now put her on a beach"]) == 0  # repeated: not sent again
    assert painter.billable_count == 3
    assert sorted(p.name for p in out.iterdir()) == [
        "portrait-turn1-1.png", "portrait-turn2-1.png", "portrait-turn3-1.png"]
    assert sent_images(painter.submits()[2]) == [(out / "portrait-turn2-1.png").read_bytes()]
    err = capsys.readouterr().err
    assert "turn 3 (last_image)" in err and "turn 3 (stored answer reused" in err

    assert cli_main(["conversations", "list", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["name"], row["turns"], row["last_turn"]) == ("portrait", 3, 3)
    assert cli_main(["conversations", "fork", "portrait", "2", "branch"]) == 0
    assert cli_main(["conversations", "export", "branch", str(apiedit_home / "b.json")]) == 0
    assert cli_main(["conversations", "import", str(apiedit_home / "b.json"), "again"]) == 0
    capsys.readouterr()
    assert cli_main(["conversations", "show", "again", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [t["prompt"] for t in shown] == ["make her smile", "add a flower in her hair"]
    assert cli_main(["conversations", "reset", "portrait"]) == 0
    assert cli_main(["conversations", "delete", "branch"]) == 0
    capsys.readouterr()
    assert cli_main(["conversations", "list"]) == 0
    listing = capsys.readouterr().out
    assert "portrait" in listing and "empty" in listing and "branch" not in listing


def test_a_last_image_turn_reads_only_the_image_it_continues_from(
    store: ConversationStore, painter: PaintingEmulator, sentinel_key: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    chat = Conversation.open("reads", store=store)
    say(chat, painter, sentinel_key, "a red square", images=[png((200, 0, 0))])
    for prompt in ("bluer", "greener", "rounder"):
        say(chat, painter, sentinel_key, prompt)
    previous = chat.last_image()
    reads: list[str] = []
    original = store.images.read
    monkeypatch.setattr(store.images, "read", lambda sha, ext: reads.append(sha) or original(sha, ext))
    result = say(chat, painter, sentinel_key, "smaller")
    assert result.info["fed_last_image"] is True
    assert len(reads) == 1  # the previous answer, not the other stored images
    assert sent_images(painter.submits()[-1]) == [previous.data]


class ImageStatePlugin(NativeChatPlugin):
    """A native plugin whose state repeats its answer image's base64 (as Gemini's does) and
    that sends that state as JSON, the way a plugin written before lazy history would."""

    lazy = False

    def __init__(self) -> None:
        super().__init__()
        self.LAZY_HISTORY_STATE = self.lazy

    @apiedit.hookimpl
    def edit(self, request: EditRequest) -> EditResult:
        self.requests.append(request)
        json.dumps([dict(turn.state) for turn in request.history])  # would fail on ImageText
        image = _big_png(len(self.requests))  # > 1 KB of base64: stored by reference
        return EditResult(images=[ImageData(image)], provider="native-test", model=request.model,
                          text="ok", state={"parts": [{"data": base64.b64encode(image).decode()}]})


class LazyImageStatePlugin(ImageStatePlugin):
    lazy = True

    @apiedit.hookimpl
    def edit(self, request: EditRequest) -> EditResult:
        from apiedit.conversation.lazyimage import ImageText

        for turn in request.history:
            for part in turn.state.get("parts", []):
                assert isinstance(part["data"], ImageText) and not part["data"].image.loaded
        self.requests.append(request)
        image = _big_png(len(self.requests))
        return EditResult(images=[ImageData(image)], provider="native-test", model=request.model,
                          text="ok", state={"parts": [{"data": base64.b64encode(image).decode()}]})


def _big_png(seed: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.effect_noise((48, 48), 40 + seed).convert("RGB").save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.parametrize("plugin_class", [ImageStatePlugin, LazyImageStatePlugin])
def test_history_state_is_plain_json_unless_the_plugin_takes_lazy_state(
    apiedit_home: Path, plugin_class: type[ImageStatePlugin]
) -> None:
    host = Host(load_entry_points=False)
    plugin = plugin_class()
    host.register(plugin, "native-test")
    chat = Conversation.open("c", store=ConversationStore(apiedit_home / "c.sqlite3"), host=host)
    answers = [chat.send("native-test", model="chat-a", prompt=f"turn {i}") for i in range(3)]
    history = plugin.requests[2].history
    assert [str(m.state["parts"][0]["data"]) for m in history if m.role == "assistant"] == [
        base64.b64encode(a.images[0].data).decode() for a in answers[:2]]
