"""One conversation turn is paid for once, even when two processes send it at the same moment.

Two real processes share one conversation store and one OpenAI emulator (which answers
slowly, so that the two sends overlap); before each turn they meet at a barrier and send the
identical turn. The emulator's billable counter must show one paid call per turn, and both
callers must get the image the store holds for that turn.
"""

from __future__ import annotations

import hashlib
import multiprocessing
from pathlib import Path
from typing import Any

from apiedit.conversation import Conversation, ConversationStore
from apiedit.testing.emulator import Fault

TURNS = 25


def _sender(db: str, base_url: str, key: str, barrier: Any, out: Any) -> None:
    from apiedit.host import Host

    host = Host(env={"APIEDIT_LOAD_PLUGINS": "openai"})
    chat = Conversation.open("race", store=ConversationStore(db), host=host)
    seen = []
    for index in range(TURNS):
        barrier.wait(timeout=60)
        result = chat.send("openai", model="gpt-image-1.5", prompt=f"step {index}",
                           api_key=key, base_url=base_url)
        seen.append((result.info["turn"], hashlib.sha256(result.images[0].data).hexdigest()))
    out.put(seen)


def test_two_processes_sending_the_same_turns_are_billed_once_per_turn(
    emulator_factory, apiedit_home, sentinel_key, tmp_path: Path
) -> None:
    from apiedit_openai.emulator import OpenAIEmulator

    emulator = emulator_factory(OpenAIEmulator)
    emulator.inject(Fault(path="/images/", delay=0.15, times=0))  # both sends are in flight
    db = str(tmp_path / "conversations.sqlite3")
    Conversation.open("race", store=ConversationStore(db), max_messages=2 * TURNS,
                      max_images=2 * TURNS)
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(2), ctx.Queue()
    workers = [ctx.Process(target=_sender, args=(db, emulator.base_url, sentinel_key, barrier, out))
               for _ in range(2)]
    for worker in workers:
        worker.start()
    results = [out.get(timeout=180) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0

    assert emulator.billable_count == TURNS
    stored = Conversation("race", ConversationStore(db)).exchanges()
    assert [e.turn for e in stored] == list(range(1, TURNS + 1))
    by_turn = {e.turn: hashlib.sha256(e.assistant.images[0].data).hexdigest() for e in stored}
    for seen in results:
        assert [turn for turn, _ in seen] == list(range(1, TURNS + 1))
        assert all(digest == by_turn[turn] for turn, digest in seen)


def test_a_waiting_sender_takes_over_when_the_claim_holder_died(apiedit_home, tmp_path: Path) -> None:
    """A claim left by a killed process does not block the turn."""
    from apiedit.conversation.claims import claim_turn

    store = ConversationStore(tmp_path / "c.sqlite3")
    store.exchanges("x")  # opens the file
    ctx = multiprocessing.get_context("spawn")
    holder = ctx.Process(target=_claim_and_exit, args=(str(tmp_path / "c.sqlite3"),))
    holder.start()
    holder.join(timeout=60)
    claim = claim_turn(store._db, "x", lambda parent: "same-key", lease_s=600)
    assert claim.state == "mine"  # the dead holder's claim no longer counts
    again = claim_turn(store._db, "x", lambda parent: "same-key", lease_s=600)
    assert again.state == "busy"  # but a live one does


def _claim_and_exit(db: str) -> None:
    from apiedit.conversation.claims import claim_turn

    store = ConversationStore(db)
    assert claim_turn(store._db, "x", lambda parent: "same-key", lease_s=600).state == "mine"


def test_two_threads_sending_the_same_turn_are_billed_once(
    emulator_factory, apiedit_home, sentinel_key, tmp_path: Path
) -> None:
    import threading

    from apiedit.host import Host
    from apiedit_openai.emulator import OpenAIEmulator

    emulator = emulator_factory(OpenAIEmulator)
    emulator.inject(Fault(path="/images/", delay=0.3, times=0))
    host = Host(env={"APIEDIT_LOAD_PLUGINS": "openai"})
    chat = Conversation.open("threads", store=ConversationStore(tmp_path / "t.sqlite3"), host=host)
    barrier, results = threading.Barrier(2), []

    def send() -> None:
        barrier.wait(timeout=10)
        results.append(chat.send("openai", model="gpt-image-1.5", prompt="a fox",
                                 api_key=sentinel_key, base_url=emulator.base_url))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert emulator.billable_count == 1
    assert [r.info["turn"] for r in results] == [1, 1]
    assert results[0].images[0].data == results[1].images[0].data
    assert sorted(bool(r.info.get("reused")) for r in results) == [False, True]
