"""Multi-turn with a stateless API: core's Conversation feeds each answer into the next edit."""

from __future__ import annotations

import pytest


def test_three_turn_conversation_sends_each_answer_as_the_next_input(host, emulator, sentinel_key,
                                                                    apiedit_home, png):
    conversation = pytest.importorskip("apiedit.conversation")
    with conversation.ConversationStore(apiedit_home / "data" / "conversations.sqlite3") as store:
        chat = conversation.Conversation.open("cottage", store=store, host=host)

        def say(prompt, **kw):
            return chat.send("openai", model="gpt-image-1.5", prompt=prompt, api_key=sentinel_key,
                             base_url=emulator.base_url, **kw)

        first = say("a cottage", images=[png((120, 60, 30))])
        second = say("add snow")
        third = say("make it night")

    assert [c.prompt for c in emulator.calls] == ["a cottage", "add snow", "make it night"]
    assert [c.endpoint for c in emulator.calls] == ["edits"] * 3
    # The emulator saw turn 2 edit turn 1's output, and turn 3 edit exactly turn 2's output.
    assert emulator.origin_of(emulator.calls[1].images[0]) == (0, 0)
    assert emulator.origin_of(emulator.calls[2].images[0]) == (1, 0)
    assert emulator.calls[2].images == [second.images[0].data]
    assert [r.info["conversation"] for r in (first, second, third)] == ["last_image"] * 3
    assert emulator.billable_count == 3


def test_the_plugin_never_claims_native_conversations(host):
    assert host.get_provider("openai").conversation.value == "last_image"
    assert host.supports_conversation("openai", "gpt-image-1.5") is False
