"""The conversation store: durable, bounded, safe under threads, processes and crashes."""

from __future__ import annotations

import base64
import hashlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from apiedit import ConfigurationError, ImageData, InvalidInputError, ProviderError, Turn
from apiedit.conversation import ConversationStore, default_store

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def image(tag: str) -> ImageData:
    """Distinct bytes per tag; the store never decodes them."""
    return ImageData(PNG_SIGNATURE + hashlib.sha256(tag.encode()).digest() * 8, "image/png")


def turn_pair(text: str, *, inputs: tuple[ImageData, ...] = (), outputs: tuple[ImageData, ...] = (),
              state: dict | None = None) -> tuple[Turn, Turn]:
    user = Turn(role="user", text=text, images=inputs, provider="example", model="m1")
    answer = Turn(role="assistant", text=f"answer to {text}", images=outputs or (image(text),),
                  provider="example", model="m1", state=state or {})
    return user, answer


def files_on_disk(store: ConversationStore) -> set[str]:
    """The hashes of the stored image files; any other file (a temp file) fails the test."""
    names = [p.name for p in store.images.root.rglob("*") if p.is_file()]
    assert all(len(n.split(".")[0]) == 64 for n in names), names
    return {n.split(".")[0] for n in names}


@pytest.fixture
def store(tmp_path: Path) -> ConversationStore:
    with ConversationStore(tmp_path / "conversations.sqlite3") as opened:
        yield opened


# ---- basics ------------------------------------------------------------------------------


def test_default_store_lives_in_the_data_directory(apiedit_home: Path) -> None:
    assert default_store().path == apiedit_home / "data" / "conversations.sqlite3"


def test_store_uses_wal_and_a_schema_version(store: ConversationStore) -> None:
    store.append("a", *turn_pair("hello"))
    conn = sqlite3.connect(store.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    conn.close()


def test_a_store_from_a_newer_apiedit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(ConfigurationError, match="newer apiedit"):
        ConversationStore(path).names()


def test_turns_are_numbered_and_keep_roles_text_images_provider_and_model(
    store: ConversationStore,
) -> None:
    source = image("source")
    store.append("a", *turn_pair("make her smile", inputs=(source,)))
    store.append("a", *turn_pair("add a flower"))
    turns = store.exchanges("a")
    assert [t.turn for t in turns] == [1, 2]
    first = turns[0]
    assert (first.user.role, first.user.text, first.user.images) == ("user", "make her smile", (source,))
    assert (first.assistant.role, first.assistant.provider, first.assistant.model) == (
        "assistant", "example", "m1")
    assert [m.text for m in store.history("a")] == [
        "make her smile", "answer to make her smile", "add a flower", "answer to add a flower"]


def test_images_are_stored_once_per_content_under_their_hash(store: ConversationStore) -> None:
    shared = image("shared")
    store.append("a", *turn_pair("one", inputs=(shared,), outputs=(shared,)))
    store.append("b", *turn_pair("two", inputs=(shared,)))
    path = store.images.path(shared.sha256, "png")
    assert path == store.images.root / shared.sha256[:2] / f"{shared.sha256}.png"
    assert path.read_bytes() == shared.data
    assert list(store.images.root.rglob(f"{shared.sha256}*")) == [path]


def test_turns_survive_closing_and_reopening_the_store(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    state = {"thought_signature": base64.b64encode(os.urandom(64)).decode()}
    with ConversationStore(path) as first:
        first.append("a", *turn_pair("smile", state=state))
    with ConversationStore(path) as again:
        (stored,) = again.exchanges("a")
    assert stored.assistant.state == state
    assert stored.assistant.images == (image("smile"),)


def test_provider_state_round_trips_verbatim_including_bytes(store: ConversationStore) -> None:
    signature = base64.b64encode(os.urandom(300)).decode()
    state = {
        "thought_signature": signature,
        "raw_signature": os.urandom(40),
        "parts": [{"text": "ok", "thought": True}, {"inline": b"\x00\xff"}],
        "$bytes": "a key that looks like the bytes tag",
        "nested": {"$ref": 1, "unicode": "\u00e9\U0001F600", "big": 2**70, "f": 0.1},
    }
    store.append("a", *turn_pair("smile", state=state))
    stored = store.exchanges("a")[0].assistant.state
    assert stored == state
    assert stored["thought_signature"] is not signature and stored["thought_signature"] == signature
    assert list(stored) == list(state)  # key order too


def test_state_that_is_not_json_data_is_refused_before_anything_is_written(
    store: ConversationStore,
) -> None:
    with pytest.raises(ProviderError, match="not JSON data"):
        store.append("a", *turn_pair("x", state={"obj": object()}))
    assert store.exchanges("a") == [] and files_on_disk(store) == set()


def test_append_needs_a_user_message_then_an_answer(store: ConversationStore) -> None:
    user, answer = turn_pair("x")
    with pytest.raises(ValueError):
        store.append("a", answer, user)


def test_an_empty_name_is_refused(store: ConversationStore) -> None:
    with pytest.raises(InvalidInputError, match="name"):
        store.append("  ", *turn_pair("x"))


# ---- dedupe ------------------------------------------------------------------------------


def test_appending_the_newest_turns_request_key_again_stores_nothing(store: ConversationStore) -> None:
    first = store.append("a", *turn_pair("smile"), request_key="k1")
    again = store.append("a", *turn_pair("smile but different answer"), request_key="k1")
    assert again.turn == first.turn == 1
    assert again.assistant.text == "answer to smile"
    assert len(store.exchanges("a")) == 1
    assert files_on_disk(store) == {image("smile").sha256}  # the unused answer's file is gone


def test_the_same_key_after_another_turn_is_a_new_turn(store: ConversationStore) -> None:
    store.append("a", *turn_pair("smile"), request_key="k1")
    store.append("a", *turn_pair("flower"), request_key="k2")
    store.append("a", *turn_pair("smile"), request_key="k1")
    assert [t.turn for t in store.exchanges("a")] == [1, 2, 3]


def test_parent_key_defaults_to_the_newest_turns_key(store: ConversationStore) -> None:
    store.append("a", *turn_pair("smile"), request_key="k1")
    second = store.append("a", *turn_pair("flower"), request_key="k2")
    assert second.parent_key == "k1"
    assert store.exchanges("a")[1].parent_key == "k1"


# ---- reset, delete, fork, limits ---------------------------------------------------------


def test_reset_forgets_turns_and_restarts_numbering(store: ConversationStore) -> None:
    store.append("a", *turn_pair("smile"))
    store.reset("a")
    assert store.exchanges("a") == [] and "a" in store.names()
    assert store.append("a", *turn_pair("flower")).turn == 1
    assert files_on_disk(store) == {image("flower").sha256}


def test_delete_removes_the_conversation_and_its_unshared_images(store: ConversationStore) -> None:
    store.append("a", *turn_pair("smile"))
    store.append("b", *turn_pair("beach"))
    assert store.delete("a") is True
    assert store.delete("a") is False
    assert store.names() == ["b"]
    assert files_on_disk(store) == {image("beach").sha256}


def test_conversations_with_different_names_never_share_turns(store: ConversationStore) -> None:
    store.append("left", *turn_pair("smile"))
    store.append("right", *turn_pair("beach"))
    assert [m.text for m in store.history("left")] == ["smile", "answer to smile"]
    assert [m.text for m in store.history("right")] == ["beach", "answer to beach"]


def test_reset_switch_resets_once_while_it_stays_on(store: ConversationStore) -> None:
    store.append("a", *turn_pair("old"))
    assert store.apply_reset_switch("a", True) is True
    store.append("a", *turn_pair("smile"))
    assert store.apply_reset_switch("a", True) is False  # left on: the history stays
    store.append("a", *turn_pair("flower"))
    assert [e.user.text for e in store.exchanges("a")] == ["smile", "flower"]


def test_reset_switch_is_rearmed_by_a_run_with_it_off(store: ConversationStore) -> None:
    store.append("a", *turn_pair("old"))
    assert store.apply_reset_switch("a", False) is False
    assert len(store.exchanges("a")) == 1
    assert store.apply_reset_switch("a", True) is True
    assert store.exchanges("a") == []
    store.append("a", *turn_pair("new"))
    assert store.apply_reset_switch("a", False) is False
    assert store.apply_reset_switch("a", True) is True
    assert store.exchanges("a") == []


def test_reset_switch_state_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    with ConversationStore(path) as first:
        assert first.apply_reset_switch("a", True) is True
        first.append("a", *turn_pair("smile"))
    with ConversationStore(path) as again:
        assert again.apply_reset_switch("a", True) is False
        assert len(again.exchanges("a")) == 1


def test_fork_copies_turns_up_to_the_given_one(store: ConversationStore) -> None:
    for text in ("smile", "flower", "beach"):
        store.append("a", *turn_pair(text, state={"sig": text}))
    store.fork("a", 2, "b")
    forked = store.exchanges("b")
    assert [(e.turn, e.user.text, e.assistant.state) for e in forked] == [
        (1, "smile", {"sig": "smile"}), (2, "flower", {"sig": "flower"})]
    store.append("b", *turn_pair("mountains"))
    assert [e.user.text for e in store.exchanges("a")] == ["smile", "flower", "beach"]
    assert [e.turn for e in store.exchanges("b")] == [1, 2, 3]


def test_fork_refuses_a_missing_turn_and_an_existing_target(store: ConversationStore) -> None:
    store.append("a", *turn_pair("smile"))
    store.append("b", *turn_pair("beach"))
    with pytest.raises(InvalidInputError, match="no turn 5"):
        store.fork("a", 5, "c")
    with pytest.raises(InvalidInputError, match="already exists"):
        store.fork("a", 1, "b")


def test_pruning_keeps_the_last_20_messages_by_default(store: ConversationStore) -> None:
    for index in range(15):
        store.append("a", *turn_pair(f"t{index}", outputs=(image("same"),)))
    turns = store.exchanges("a")
    assert [t.turn for t in turns] == list(range(6, 16))
    assert len(store.history("a")) == 20


def test_pruning_keeps_at_most_10_distinct_images_by_default(store: ConversationStore) -> None:
    for index in range(8):
        store.append("a", *turn_pair(f"t{index}", inputs=(image(f"in{index}"),)))
    turns = store.exchanges("a")
    assert [t.turn for t in turns] == [4, 5, 6, 7, 8]
    distinct = {i.sha256 for t in turns for m in t.messages for i in m.images}
    assert len(distinct) == 10
    assert files_on_disk(store) == distinct  # pruned turns' files are deleted


def test_an_image_fed_back_as_the_next_input_counts_once(store: ConversationStore) -> None:
    previous = image("start")
    for index in range(12):
        out = image(f"out{index}")
        store.append("a", *turn_pair(f"t{index}", inputs=(previous,), outputs=(out,)))
        previous = out
    turns = store.exchanges("a")
    assert len(turns) == 9  # 9 outputs + the input of the oldest kept turn = 10 images
    assert len({i.sha256 for t in turns for m in t.messages for i in m.images}) == 10


def test_limits_are_configurable_per_store_and_per_conversation(tmp_path: Path) -> None:
    with ConversationStore(tmp_path / "c.sqlite3", max_messages=4, max_images=100) as small:
        for index in range(5):
            small.append("a", *turn_pair(f"t{index}"))
            small.append("b", *turn_pair(f"t{index}"))
        assert [t.turn for t in small.exchanges("a")] == [4, 5]
        small.set_limits("b", max_messages=2)
        assert [t.turn for t in small.exchanges("b")] == [5]
        assert small.limits("b") == (2, 100) and small.limits("a") == (4, 100)


def test_the_newest_turn_is_kept_even_beyond_the_image_budget(tmp_path: Path) -> None:
    with ConversationStore(tmp_path / "c.sqlite3", max_images=2) as store:
        store.append("a", *turn_pair("one"))
        many = tuple(image(f"in{i}") for i in range(4))
        store.append("a", *turn_pair("four inputs", inputs=many))
        assert [t.user.text for t in store.exchanges("a")] == ["four inputs"]


def test_pruning_keeps_image_files_another_conversation_still_uses(store: ConversationStore) -> None:
    for index in range(3):
        store.append("a", *turn_pair(f"t{index}"))
    store.fork("a", 1, "b")
    kept = image("t0")
    store.set_limits("a", max_messages=2)
    assert [t.turn for t in store.exchanges("a")] == [3]
    assert store.images.path(kept.sha256, "png").exists()  # the fork still uses it
    assert not store.images.path(image("t1").sha256, "png").exists()
    assert store.exchanges("b")[0].assistant.images == (kept,)
    store.delete("b")
    assert not store.images.path(kept.sha256, "png").exists()


def test_collect_garbage_removes_files_of_writers_that_died_before_committing(
    store: ConversationStore,
) -> None:
    store.append("a", *turn_pair("kept"))
    orphan = image("orphan")
    store.images.write(orphan.data)  # as a writer killed between its file and its commit
    assert store.collect_garbage() == 1
    assert files_on_disk(store) == {image("kept").sha256}
    assert store.check() == []


def test_a_missing_image_file_is_reported_with_what_to_do(store: ConversationStore) -> None:
    store.append("a", *turn_pair("smile"))
    store.images.path(image("smile").sha256, "png").unlink()
    with pytest.raises(ConfigurationError, match="Reset or delete"):
        store.exchanges("a")


def test_summaries_list_every_conversation(store: ConversationStore) -> None:
    store.append("a", *turn_pair("one"))
    store.append("a", *turn_pair("two"))
    store.apply_reset_switch("empty", True)
    rows = {r.name: r for r in store.summaries()}
    assert (rows["a"].turns, rows["a"].first_turn, rows["a"].last_turn, rows["a"].images) == (2, 1, 2, 2)
    assert rows["empty"].turns == 0


# ---- concurrency and crashes -------------------------------------------------------------


def _check_complete(store: ConversationStore, name: str, texts: set[str]) -> None:
    turns = store.exchanges(name)
    assert [t.turn for t in turns] == list(range(1, len(texts) + 1))
    assert sorted(t.user.text for t in turns) == sorted(texts)
    assert all(t.assistant.text == f"answer to {t.user.text}" for t in turns)
    assert store.check() == []


@pytest.mark.parametrize("shared", [True, False], ids=["one-store", "store-per-thread"])
def test_threads_append_concurrently_without_losing_or_duplicating_turns(
    tmp_path: Path, shared: bool
) -> None:
    path = tmp_path / "c.sqlite3"
    common = ConversationStore(path, max_messages=1000, max_images=1000)
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def worker(index: int) -> None:
        store = common if shared else ConversationStore(path, max_messages=1000, max_images=1000)
        try:
            start.wait()
            for step in range(20):
                text = f"w{index}-{step}"
                store.append("shared", *turn_pair(text, inputs=(image("common"),)),
                             request_key=text)
                store.append(f"own-{index}", *turn_pair(text))
        except BaseException as exc:
            errors.append(exc)
        finally:
            if not shared:
                store.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    _check_complete(common, "shared", {f"w{i}-{s}" for i in range(8) for s in range(20)})
    for index in range(8):
        _check_complete(common, f"own-{index}", {f"w{index}-{s}" for s in range(20)})
    common.close()


WRITER = textwrap.dedent("""
    import hashlib, sys, time
    from pathlib import Path
    from apiedit import ImageData, Turn
    from apiedit.conversation import ConversationStore

    path, tag, count, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    limits = dict(max_messages=int(sys.argv[5]), max_images=int(sys.argv[6]))
    store = ConversationStore(path, **limits)
    while not go.exists():
        time.sleep(0.001)
    def image(text):
        return ImageData(b"\\x89PNG\\r\\n\\x1a\\n" + hashlib.sha256(text.encode()).digest() * 8)
    step = 0
    while count == 0 or step < count:
        text = f"{tag}-{step}"
        store.append("shared", Turn(role="user", text=text, images=[image("common")]),
                     Turn(role="assistant", text="answer to " + text, images=[image(text)],
                          state={"sig": text}))
        print(text, flush=True)
        step += 1
""")


def _writer(path: Path, tag: str, count: int, go: Path, limits: tuple[int, int] = (1000, 1000)):
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), tag, str(count), str(go), *map(str, limits)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def test_two_processes_append_concurrently_without_losing_or_duplicating_turns(
    tmp_path: Path,
) -> None:
    path, go = tmp_path / "c.sqlite3", tmp_path / "go"
    writers = [_writer(path, tag, 40, go) for tag in ("p1", "p2")]
    time.sleep(0.5)  # both are importing and opening the store
    go.touch()
    for writer in writers:
        _, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
        assert "locked" not in err
    with ConversationStore(path, max_messages=1000, max_images=1000) as store:
        _check_complete(store, "shared", {f"{tag}-{i}" for tag in ("p1", "p2") for i in range(40)})


def test_a_process_killed_mid_write_leaves_a_readable_store_of_whole_turns(tmp_path: Path) -> None:
    path, go = tmp_path / "c.sqlite3", tmp_path / "go"
    go.touch()
    rng = random.Random(6)
    written: list[str] = []
    for round_ in range(4):
        # Small limits so that kills also land in pruning and image collection.
        writer = _writer(path, f"r{round_}", 0, go, limits=(6, 4))
        assert writer.stdout is not None
        for _ in range(5 + round_ * 3):
            written.append(writer.stdout.readline().strip())
        time.sleep(rng.uniform(0, 0.05))
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
        with ConversationStore(path, max_messages=6, max_images=4) as store:
            assert store.check() == []
            turns = store.exchanges("shared")
            assert 1 <= len(turns) <= 3
            numbers = [t.turn for t in turns]
            assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))
            for turn in turns:
                assert turn.user.role == "user" and turn.assistant.role == "assistant"
                assert turn.assistant.text == f"answer to {turn.user.text}"
                assert turn.assistant.state == {"sig": turn.user.text}
                assert turn.assistant.images[0].sha256 == image(turn.user.text).sha256
            # Everything the writer reported as stored is there (or pruned by a later turn).
            tag, newest = turns[-1].user.text.split("-")
            assert tag == f"r{round_}" and int(newest) >= int(written[-1].split("-")[1])
            # Opening the store collected what the killed writer left behind.
            referenced = {i.sha256 for t in turns for m in t.messages for i in m.images}
            assert files_on_disk(store) == referenced


# ---- loading only what a turn needs ------------------------------------------------------


def test_state_that_copies_an_answer_image_is_stored_once_and_restored_identically(
    store: ConversationStore,
) -> None:
    answer_image = ImageData(PNG_SIGNATURE + os.urandom(4096), "image/png")
    text = base64.b64encode(answer_image.data).decode("ascii")
    state = {"parts": [{"inlineData": {"mimeType": "image/png", "data": text}},
                       {"thoughtSignature": "c2lnbmF0dXJl", "text": "done"}]}
    store.append("a", *turn_pair("draw", outputs=(answer_image,), state=state))
    raw = sqlite3.connect(store.path).execute("SELECT state FROM messages WHERE position = 1").fetchone()[0]
    assert text not in raw and len(raw) < 200  # a reference to the image file, not a copy
    loaded = store.exchanges("a")[0].assistant
    assert dict(loaded.state) == state and loaded.images == (answer_image,)


def test_a_base64_that_is_not_canonical_is_kept_verbatim(store: ConversationStore) -> None:
    answer_image = ImageData(PNG_SIGNATURE + os.urandom(4097), "image/png")
    unpadded = base64.b64encode(answer_image.data).decode("ascii").rstrip("=")
    store.append("a", *turn_pair("draw", outputs=(answer_image,), state={"data": unpadded}))
    assert store.exchanges("a")[0].assistant.state["data"] == unpadded


def test_heads_and_last_answer_image_read_no_other_image_file(
    store: ConversationStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(5):
        store.append("a", *turn_pair(f"turn {i}", inputs=(image(f"in {i}"),)))
    reads: list[str] = []
    original = store.images.read
    monkeypatch.setattr(store.images, "read", lambda sha, ext: reads.append(sha) or original(sha, ext))
    heads = store.heads("a")
    assert [h.turn for h in heads] == [1, 2, 3, 4, 5] and reads == []
    assert heads[-1].request_key == store.last_exchange("a").request_key
    reads.clear()
    assert store.last_answer_image("a") == image("turn 4")
    assert reads == [hashlib.sha256(image("turn 4").data).hexdigest()]
    assert store.last_answer_image("nothing here") is None


def test_a_lazy_load_reads_no_image_until_its_bytes_are_used(store: ConversationStore) -> None:
    big = ImageData(PNG_SIGNATURE + os.urandom(4096), "image/png")
    state = {"parts": [{"data": base64.b64encode(big.data).decode()}]}  # as Gemini replays it
    store.append("c", *turn_pair("one", inputs=(image("in"),), outputs=(big,), state=state))
    (lazy,) = store.exchanges("c", lazy=True)
    (plain,) = store.exchanges("c")
    stored = lazy.assistant.images[0]
    assert not stored.loaded and stored.sha256 == big.sha256  # the hash needs no read
    text = lazy.assistant.state["parts"][0]["data"]
    assert not stored.loaded and text.image is stored  # ImageText: the base64 is not built
    assert str(text) == plain.assistant.state["parts"][0]["data"]
    assert stored.data == big.data and stored.loaded and stored == big
    assert lazy.user.images == plain.user.images


@pytest.mark.parametrize("harm", ["deleted", "damaged"])
def test_a_lazily_loaded_image_that_is_gone_or_damaged_is_a_typed_error(
    store: ConversationStore, harm: str
) -> None:
    store.append("c", *turn_pair("one"))
    (lazy,) = store.exchanges("c", lazy=True)
    stored = lazy.assistant.images[0]
    if harm == "deleted":
        stored.path.unlink()
    else:
        stored.path.write_bytes(b"not the image")
    with pytest.raises(ConfigurationError, match="Reset or delete the conversation"):
        stored.data
