"""Native multi-turn: history as user/model turns, model parts replayed exactly as received."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from apiedit import EditResult, ImageData, InvalidInputError, Turn
from apiedit.testing.conformance import sample_png
from apiedit_gemini.emulator import GeminiEmulator, _fingerprint

Call = Callable[..., EditResult]
MODEL = "gemini-3-pro-image"


def assistant(result: EditResult) -> Turn:
    return Turn("assistant", text=result.text, images=result.images, provider="gemini",
                model=result.model, state=result.state)


def three_turns(call: Call) -> list[EditResult]:
    first = call(model=MODEL, prompt="draw a dog")
    history: tuple[Turn, ...] = (Turn("user", "draw a dog"), assistant(first))
    second = call(model=MODEL, prompt="make it blue", history=history)
    history += (Turn("user", "make it blue"), assistant(second))
    third = call(model=MODEL, prompt="add a hat", history=history)
    return [first, second, third]


def test_third_turn_carries_both_earlier_turns_in_order(
    transport: str, call: Call, emulator: GeminiEmulator
) -> None:
    *_, third = three_turns(call)
    contents = emulator.calls[2].contents
    assert [c["role"] for c in contents] == ["user", "model", "user", "model", "user"]
    assert [contents[i]["parts"][0]["text"] for i in (0, 2, 4)] == ["draw a dog", "make it blue", "add a hat"]
    assert third.info["conversation"] == "native"
    assert emulator.replay_problems == []


def test_model_turns_are_replayed_with_identical_signatures_and_images(
    transport: str, call: Call, emulator: GeminiEmulator
) -> None:
    three_turns(call)
    contents = emulator.calls[2].contents
    for position, answer in ((1, emulator.responses[0]), (3, emulator.responses[1])):
        issued = answer["candidates"][0]["content"]["parts"]
        assert any("thoughtSignature" in p for p in issued)
        assert _fingerprint(contents[position]["parts"]) == _fingerprint(issued)


def test_rest_replays_the_model_parts_byte_for_byte(call: Call, emulator: GeminiEmulator, monkeypatch) -> None:
    monkeypatch.setenv("APIEDIT_GEMINI_TRANSPORT", "rest")
    three_turns(call)
    raw = emulator.calls[2].raw_contents()
    for position, answer in ((1, emulator.responses[0]), (3, emulator.responses[1])):
        issued = answer["candidates"][0]["content"]["parts"]
        assert json.dumps(raw[position]["parts"]) == json.dumps(issued)


def test_state_holds_the_model_parts_exactly_as_received(
    transport: str, call: Call, emulator: GeminiEmulator
) -> None:
    emulator.response_base64 = "unpadded"
    result = call(model=MODEL)
    assert result.state["parts"] == emulator.responses[0]["candidates"][0]["content"]["parts"]
    json.dumps(dict(result.state))  # storable as JSON


def test_thought_parts_are_replayed_too(transport: str, call: Call, emulator: GeminiEmulator) -> None:
    emulator.variant = "with_thoughts"
    first = call(model=MODEL, prompt="a castle")
    emulator.variant = "image_text"
    call(model=MODEL, prompt="at night", history=(Turn("user", "a castle"), assistant(first)))
    replayed = emulator.calls[1].contents[1]["parts"]
    assert [bool(p.get("thought")) for p in replayed] == [True, True, False, False]
    assert emulator.replay_problems == []


def test_user_images_of_earlier_turns_are_sent_again(transport: str, call: Call, emulator: GeminiEmulator) -> None:
    photo = sample_png((10, 200, 10))
    first = call(model=MODEL, prompt="restore this", images=(ImageData(photo),))
    history = (Turn("user", "restore this", images=(ImageData(photo),)), assistant(first))
    call(model=MODEL, prompt="now in colour", history=history)
    first_turn = emulator.calls[1].contents[0]["parts"]
    assert first_turn[0] == {"text": "restore this"}
    assert first_turn[1]["inlineData"]["mimeType"] == "image/png"


def test_a_tampered_signature_is_refused_by_the_provider(
    transport: str, call: Call, emulator: GeminiEmulator
) -> None:
    first = call(model=MODEL)
    parts = [dict(p) for p in first.state["parts"]]
    parts[-1]["thoughtSignature"] = "AAAA" + parts[-1]["thoughtSignature"][4:]
    tampered = Turn("assistant", text=first.text, images=first.images, provider="gemini",
                    state={**first.state, "parts": parts})
    with pytest.raises(InvalidInputError, match="Corrupted thought signature"):
        call(model=MODEL, prompt="again", history=(Turn("user", "a red fox in snow"), tampered))


def test_an_assistant_turn_without_state_uses_the_skip_signature_on_gemini_3(
    transport: str, call: Call, emulator: GeminiEmulator
) -> None:
    earlier = ImageData(sample_png((90, 90, 90)))
    history = (Turn("user", "a grey square"), Turn("assistant", "Here it is.", images=(earlier,), provider="openai"))
    result = call(model=MODEL, prompt="make it round", history=history)
    model_turn = emulator.calls[0].raw_contents()[1]
    assert model_turn["role"] == "model"
    signatures = {p.get("thoughtSignature") or p.get("thought_signature") for p in model_turn["parts"]}
    assert len(signatures) == 1 and signatures.pop() is not None
    assert result.images


def test_a_history_that_ends_with_a_user_turn_is_merged_into_this_turn(
    transport: str, call: Call, emulator: GeminiEmulator
) -> None:
    first = call(model=MODEL, prompt="a boat")
    history = (Turn("user", "a boat"), assistant(first), Turn("user", "on a lake"))
    call(model=MODEL, prompt="at dawn", history=history)
    contents = emulator.calls[1].contents
    assert [c["role"] for c in contents] == ["user", "model", "user"]
    assert [p["text"] for p in contents[2]["parts"]] == ["on a lake", "at dawn"]


def test_turn_state_survives_a_json_round_trip(transport: str, call: Call, emulator: GeminiEmulator) -> None:
    first = call(model=MODEL)
    stored = json.loads(json.dumps(dict(first.state)))
    restored = Turn("assistant", text=first.text, provider="gemini", state=stored)
    call(model=MODEL, prompt="again", history=(Turn("user", "a red fox in snow"), restored))
    assert emulator.replay_problems == []
