"""Conversations send history images through the Files API: uploaded once, referred to by URI.

Real `apiedit.Conversation` turns against the emulator, over both transports: the emulator
resolves each `fileData` URI to the stored bytes, so its replay check proves the model sees
the exact images it issued; a file it forgot or that expired is refused with 403, as Gemini
does, and the turn still succeeds with one paid answer.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from apiedit.conversation import Conversation, ConversationStore
from apiedit.host import Host
from apiedit_gemini import files as gemini_files
from apiedit_gemini.emulator import GeminiEmulator

MODEL = "gemini-3-pro-image"


def _png(seed: int, side: int = 64) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (side, side), (seed % 256, 40, 90)).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def chat(apiedit_home: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Conversation:
    monkeypatch.setenv(gemini_files.FILES_ENV, "always")  # the emulator's images are small
    store = ConversationStore(tmp_path / "c.sqlite3")
    return Conversation.open("files", store=store, host=Host(env={"APIEDIT_LOAD_PLUGINS": "gemini"}))


def _send(chat: Conversation, emulator: GeminiEmulator, key: str, prompt: str, **kw: Any) -> Any:
    return chat.send("gemini", model=MODEL, prompt=prompt, api_key=key, base_url=emulator.base_url, **kw)


def _uploads(emulator: GeminiEmulator) -> list[Any]:
    return emulator.requests_to(r"/upload/v1beta/files$", "POST")


def _turns(chat: Conversation, emulator: GeminiEmulator, key: str, n: int) -> list[Any]:
    results = [_send(chat, emulator, key, "turn 1", images=[_png(1)])]
    results += [_send(chat, emulator, key, f"turn {i}") for i in range(2, n + 1)]
    return results


def test_each_history_image_is_uploaded_once_and_then_referred_to_by_uri(
    transport: str, chat: Conversation, emulator: GeminiEmulator, sentinel_key: str
) -> None:
    results = _turns(chat, emulator, sentinel_key, 4)
    # turn 1 has no history; each later turn uploads only what became history since: turn 2
    # the input and turn 1's answer, turns 3 and 4 the previous answer
    assert len(_uploads(emulator)) == 2 + 1 + 1
    third, fourth = emulator.calls[2], emulator.calls[3]
    assert len(third.file_uris) == 3 and len(fourth.file_uris) == 4
    assert fourth.file_uris[:3] == third.file_uris  # the same files, not new uploads
    # the request itself carries URIs, not bytes; no inline image in the history
    raw = fourth.raw_contents()
    history_parts = [p for c in raw[:-1] for p in c["parts"]]
    assert not any("inlineData" in p or "inline_data" in p for p in history_parts)
    assert sum(1 for p in history_parts if "fileData" in p or "file_data" in p) == 4
    # the model saw the exact bytes: the input, and each answer as issued (signatures checked)
    assert emulator.replay_problems == []
    assert fourth.contents[0]["parts"][1]["inlineData"]["data"]  # resolved from the file
    assert results[3].info["history_files"] == {"referred": 4, "uploaded": 1}
    assert len(emulator.responses) == 4  # one paid answer per turn


def test_the_files_are_kept_with_the_conversation_across_a_restart(
    transport: str, chat: Conversation, emulator: GeminiEmulator, sentinel_key: str, tmp_path: Path
) -> None:
    _turns(chat, emulator, sentinel_key, 2)
    chat.store.close()
    reopened = Conversation.open("files", store=ConversationStore(tmp_path / "c.sqlite3"),
                                 host=chat.host)
    before = len(_uploads(emulator))
    _send(reopened, emulator, sentinel_key, "turn 3")
    assert len(_uploads(emulator)) == before + 1  # only turn 2's answer is new
    stored = reopened.exchanges()[-1].assistant.state["files"]
    assert len(stored) == 3 and all(e["uri"].startswith(emulator.base_url) for e in stored.values())
    assert sentinel_key not in json.dumps(stored)


@pytest.mark.parametrize("how", ["forgotten", "expired"])
def test_a_file_gone_mid_conversation_is_uploaded_again_and_the_turn_paid_once(
    transport: str, chat: Conversation, emulator: GeminiEmulator, sentinel_key: str, how: str
) -> None:
    _turns(chat, emulator, sentinel_key, 3)
    if how == "forgotten":
        emulator.forget_files()
    else:
        emulator.expire_files()  # Google's clock says 48 h passed; ours still trusts the stamp
    uploads, answers = len(_uploads(emulator)), len(emulator.responses)
    result = _send(chat, emulator, sentinel_key, "turn 4")
    refused, retried = emulator.calls[-2], emulator.calls[-1]
    assert refused.file_uris == [] or len(refused.file_uris) < 4  # the 403 named a gone file
    assert len(retried.file_uris) == 4 and emulator.replay_problems == []
    assert len(emulator.responses) == answers + 1  # billed once: the refused call did not run
    assert len(_uploads(emulator)) == uploads + 4  # the 3 gone files again, + turn 3's answer
    assert result.info["turn"] == 4
    assert any("uploaded again" in w for w in result.warnings)


def test_a_file_near_its_stored_expiry_is_uploaded_again_before_sending(
    transport: str, chat: Conversation, emulator: GeminiEmulator, sentinel_key: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _turns(chat, emulator, sentinel_key, 2)
    real = gemini_files._now
    monkeypatch.setattr(gemini_files, "_now", lambda: real() + 47.5 * 3600)  # < 1 h left
    uploads, calls = len(_uploads(emulator)), len(emulator.calls)
    _send(chat, emulator, sentinel_key, "turn 3")
    assert len(emulator.calls) == calls + 1  # no refused call: the expiry was known
    assert len(_uploads(emulator)) == uploads + 3


def test_a_second_refusal_is_a_typed_error_and_nothing_is_stored(
    chat: Conversation, emulator: GeminiEmulator, sentinel_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from apiedit_gemini.wire import FileGoneError

    _turns(chat, emulator, sentinel_key, 2)
    emulator.forget_files()
    # the emulator forgets every upload at once: the resent turn is refused as well
    original = emulator.store_file

    def forgetful(*args: Any, **kw: Any) -> dict[str, Any]:
        made = original(*args, **kw)
        made["_expires"] = 0
        return made

    monkeypatch.setattr(emulator, "store_file", forgetful)
    with pytest.raises(FileGoneError) as caught:
        _send(chat, emulator, sentinel_key, "turn 3")
    assert "APIEDIT_GEMINI_HISTORY_FILES=off" in str(caught.value)
    assert sentinel_key not in str(caught.value)
    assert [e.turn for e in chat.exchanges()] == [1, 2]
    assert len(emulator.responses) == 2


def test_off_sends_history_inline_as_before(
    chat: Conversation, emulator: GeminiEmulator, sentinel_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(gemini_files.FILES_ENV, "off")
    _turns(chat, emulator, sentinel_key, 3)
    assert _uploads(emulator) == [] and emulator.calls[2].file_uris == []
    assert "files" not in chat.exchanges()[-1].assistant.state
    assert emulator.replay_problems == []


def test_auto_keeps_small_history_images_inline(
    chat: Conversation, emulator: GeminiEmulator, sentinel_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(gemini_files.FILES_ENV, "auto")  # the emulator's answers are < 256 KB
    _turns(chat, emulator, sentinel_key, 3)
    assert _uploads(emulator) == []


def test_unsent_history_images_are_not_read_from_the_store(
    chat: Conversation, emulator: GeminiEmulator, sentinel_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With every history image already uploaded, a turn reads none of their files."""
    from apiedit.conversation import lazyimage

    emulator.size_divisor = 1  # answers big enough (> 1 KB of base64) to be kept by reference
    _turns(chat, emulator, sentinel_key, 3)
    reads: list[str] = []
    original = lazyimage.StoredImage._read

    def counted(self: Any) -> bytes:
        reads.append(self.sha256)
        return original(self)

    monkeypatch.setattr(lazyimage.StoredImage, "_read", counted)
    _send(chat, emulator, sentinel_key, "turn 4")
    assert len(reads) == 1  # turn 3's answer, uploaded now; the 3 older ones stay on disk


def test_google_genai_uploads_to_the_emulator_unchanged(emulator: GeminiEmulator, sentinel_key: str) -> None:
    """The emulator speaks the Files API as the official SDK does (so its upload works)."""
    genai = pytest.importorskip("google.genai")
    from google.genai import types

    client = genai.Client(api_key=sentinel_key, vertexai=False,
                          http_options=types.HttpOptions(base_url=emulator.base_url, api_version="v1beta"))
    made = client.files.upload(file=io.BytesIO(_png(7)), config={"mime_type": "image/png"})
    assert made.uri and made.name.startswith("files/")
    assert client.files.get(name=made.name).size_bytes == len(_png(7))
    answer = client.models.generate_content(
        model=MODEL, contents=[types.Part.from_uri(file_uri=made.uri, mime_type="image/png"), "edit it"])
    assert emulator.calls[-1].file_uris == [made.uri]
    assert emulator.calls[-1].images == [_png(7)]
    assert answer.candidates



@pytest.mark.parametrize("answer", [404, "200 without an upload URL"])
def test_an_endpoint_without_a_files_api_gets_the_history_inline_with_a_warning(
    transport: str, chat: Conversation, emulator: GeminiEmulator, sentinel_key: str, answer: Any
) -> None:
    from apiedit.testing.emulator import Fault

    if answer == 404:
        emulator.inject(Fault(method="POST", path=r"/upload/", status=404, times=0))
    else:  # a proxy that answers anything with an empty 200
        emulator.inject(Fault(method="POST", path=r"/upload/", status=200, body=b"{}", times=0))
    results = _turns(chat, emulator, sentinel_key, 3)
    assert emulator.calls[2].file_uris == []
    assert emulator.replay_problems == [] and len(emulator.responses) == 3
    assert len(_uploads(emulator)) == 2  # one try per turn, then inline for the rest of it
    assert any("no Files API" in w for w in results[2].warnings)


def test_the_request_stays_small_however_long_the_conversation(
    chat: Conversation, emulator: GeminiEmulator, sentinel_key: str
) -> None:
    """A 1024² photo-sized input and 8 turns: every request after the first carries URIs and
    text only (no growth with the history), and each history image is uploaded exactly once."""
    from PIL import Image

    emulator.size_divisor = 1
    buf = io.BytesIO()
    Image.effect_noise((1024, 1024), 60).convert("RGB").save(buf, "PNG")
    photo = buf.getvalue()
    assert len(photo) > 1024 * 1024
    _send(chat, emulator, sentinel_key, "turn 1", images=[photo])
    for turn in range(2, 9):
        _send(chat, emulator, sentinel_key, f"turn {turn}")
    bodies = [len(c.request.body) for c in emulator.calls]
    assert bodies[0] > len(photo)  # turn 1 sends its input inline
    assert max(bodies[1:]) < 16 * 1024  # later turns: the photo and 7 answers by URI
    assert bodies[-1] - bodies[1] < 4 * 1024  # a few hundred bytes per turn, never an image
    uploaded = [r.body for r in emulator.requests_to(r"/_upload/")]
    answers = [_answer_image(r) for r in emulator.responses[:7]]
    assert sorted(uploaded) == sorted([photo, *answers])  # each history image once, as received


def _answer_image(response: dict[str, Any]) -> bytes:
    import base64

    (part,) = [p for p in response["candidates"][0]["content"]["parts"] if "inlineData" in p]
    return base64.b64decode(part["inlineData"]["data"])
