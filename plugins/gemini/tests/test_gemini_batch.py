"""The Gemini native batch hooks over real HTTP against the emulator's Files API + Batch Mode."""

from __future__ import annotations

import io
import json
import tracemalloc
from typing import Any

import pytest
from apiedit import EditRequest
from apiedit.batch.types import BatchItem, BatchJob, BatchLine, BatchState
from apiedit.errors import ApiEditError, ContentBlockedError, InvalidInputError, ProviderError
from apiedit.host import Host
from apiedit.testing.emulator import Fault
from apiedit.types import ImageData
from apiedit_gemini import batch as gb
from apiedit_gemini.emulator import GeminiEmulator

MODEL = "gemini-nano-banana-2.1"


@pytest.fixture
def settings(host: Host, emulator: GeminiEmulator, sentinel_key: str) -> Any:
    return host.settings("gemini", api_key=sentinel_key, base_url=emulator.base_url)


def png(colour: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (64, 48),
        noisy: bool = False) -> bytes:
    from PIL import Image

    if noisy:
        import os

        img = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    else:
        img = Image.new("RGB", size, colour)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def gen(cid: str, prompt: str = "a red fox") -> BatchLine:
    return BatchLine(cid, EditRequest(model=MODEL, prompt=prompt))


def submit(settings: Any, lines: list[BatchLine],
           token: str = "tok-1") -> tuple[list[BatchJob], list[BatchJob]]:
    journaled: list[BatchJob] = []
    jobs = gb.submit_batch(MODEL, lines, token, journaled.append, settings)
    return list(jobs), journaled


def results(settings: Any, jobs: list[BatchJob]) -> dict[str, BatchItem]:
    return {item.custom_id: item for job in jobs for item in gb.fetch_batch_results(job, settings)}


def _input_lines(emulator: GeminiEmulator) -> list[dict[str, Any]]:
    return [json.loads(raw) for f in emulator.stored_files.values()
            if f["displayName"].endswith(".jsonl") for raw in f["_data"].splitlines()]


def test_submit_poll_fetch(settings: Any, emulator: GeminiEmulator) -> None:
    edit = BatchLine("e1", EditRequest(model=MODEL, prompt="make it blue",
                                       images=(ImageData(png()), ImageData(png((0, 0, 255))))))
    jobs, journaled = submit(settings, [gen("g1"), edit])
    assert journaled == jobs and len(jobs) == 1
    assert jobs[0].job_id.startswith("batches/") and jobs[0].custom_ids == ("g1", "e1")
    assert jobs[0].state["input_file"].startswith("files/") and jobs[0].state["input_expires"]
    created = emulator.requests_to(r":batchGenerateContent$", "POST")[0].json()
    assert created["batch"]["displayName"] == "tok-1"
    lines = _input_lines(emulator)
    assert [line["key"] for line in lines] == ["g1", "e1"]
    parts = lines[1]["request"]["contents"][0]["parts"]
    assert [("inlineData" in p) for p in parts] == [False, True, True]  # text, then both images
    assert gb.poll_batch(jobs[0], settings).state is BatchState.SUCCEEDED
    got = results(settings, jobs)
    assert all(i.result is not None and i.result.images for i in got.values())
    assert emulator.batch_lines_billed == 2


def test_big_input_image_goes_as_file_data(settings: Any, emulator: GeminiEmulator,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gb, "INLINE_LIMIT", 10_000)
    big = BatchLine("big", EditRequest(model=MODEL, prompt="x",
                                       images=(ImageData(png(size=(256, 256), noisy=True)),)))
    jobs, _ = submit(settings, [big])
    part = _input_lines(emulator)[0]["request"]["contents"][0]["parts"][1]
    assert part["fileData"]["fileUri"].startswith(emulator.base_url)
    assert jobs[0].state["image_files"][0]["name"].startswith("files/")
    assert results(settings, jobs)["big"].result is not None
    # the emulator received the image itself, resolved from the file
    assert emulator.calls[-1].images[0].startswith(b"\x89PNG")


def test_failed_line_typed_partial_success(settings: Any, emulator: GeminiEmulator) -> None:
    jobs, _ = submit(settings, [gen("ok"), gen("bad", "emulate:blocked_prompt a fox"),
                                gen("quota", "emulate:quota")])
    status = gb.poll_batch(jobs[0], settings)
    assert status.state is BatchState.PARTIALLY_SUCCEEDED
    # a blocked prompt is a 200 answer (promptFeedback.blockReason): Google counts it a success
    assert (status.total, status.succeeded, status.failed) == (3, 2, 1)
    got = results(settings, jobs)
    assert got["ok"].result is not None
    assert isinstance(got["bad"].error, ContentBlockedError)
    assert isinstance(got["quota"].error, ProviderError)


def test_cancel_keeps_finished_lines(settings: Any, emulator: GeminiEmulator) -> None:
    emulator.batch_hold_after = 1
    jobs, _ = submit(settings, [gen("a"), gen("b"), gen("c")])
    assert gb.poll_batch(jobs[0], settings).state is BatchState.RUNNING
    assert gb.cancel_batch(jobs[0], settings).state is BatchState.CANCELLED
    got = results(settings, jobs)
    assert got["a"].result is not None
    assert isinstance(got["b"].error, ProviderError) and "CANCELLED" in str(got["b"].error)
    assert emulator.batch_lines_billed == 1


def test_failed_and_expired_jobs(settings: Any, emulator: GeminiEmulator) -> None:
    emulator.batch_outcome = "failed"
    jobs, _ = submit(settings, [gen("a")], token="t-f")
    assert gb.poll_batch(jobs[0], settings).state is BatchState.FAILED
    assert results(settings, jobs)["a"].error is not None
    emulator.batch_outcome, emulator.batch_hold_after = "expired", 1
    jobs, _ = submit(settings, [gen("b"), gen("c")], token="t-e")
    assert gb.poll_batch(jobs[0], settings).state is BatchState.EXPIRED
    got = results(settings, jobs)
    assert got["b"].result is not None and "EXPIRED" in str(got["c"].error)


def test_resubmit_same_token_creates_nothing(settings: Any, emulator: GeminiEmulator) -> None:
    first, _ = submit(settings, [gen("a"), gen("b")], token="same")
    emulator.seed_batches(250)  # newer jobs of someone else: the lookup pages past them
    again, journaled = submit(settings, [gen("a"), gen("b")], token="same")
    assert [j.job_id for j in again] == [j.job_id for j in first] and journaled == []
    assert emulator.billable_count == 1
    assert len(emulator.requests_to(r"/upload/v1beta/files$", "POST")) == 1


@pytest.mark.parametrize("created", [True, False])
def test_5xx_on_create_then_resume(settings: Any, emulator: GeminiEmulator, created: bool) -> None:
    if created:
        emulator.batch_create_error_after = 1
    else:
        emulator.inject(Fault(method="POST", path=r":batchGenerateContent$", status=500))
    with pytest.raises(ApiEditError):
        submit(settings, [gen("a")], token="crash")
    assert len(emulator.requests_to(r":batchGenerateContent$", "POST")) == 1  # not retried
    jobs, journaled = submit(settings, [gen("a")], token="crash")
    assert len(journaled) == (0 if created else 1)
    assert len([o for o in emulator.jobs.values()
                if o["metadata"].get("displayName") == "crash"]) == 1
    # the input uploaded by the first attempt is still valid: not uploaded again
    assert len(emulator.requests_to(r"/upload/v1beta/files$", "POST")) == 1
    assert results(settings, jobs)["a"].result is not None


def test_reupload_after_file_expiry(settings: Any, emulator: GeminiEmulator) -> None:
    emulator.inject(Fault(method="POST", path=r":batchGenerateContent$", status=503))
    with pytest.raises(ApiEditError):
        submit(settings, [gen("a")], token="late")
    emulator.expire_files()  # the resume comes 48 h later
    jobs, _ = submit(settings, [gen("a")], token="late")
    assert len(emulator.requests_to(r"/upload/v1beta/files$", "POST")) == 2
    assert not jobs[0].state.get("reused_input")
    assert results(settings, jobs)["a"].result is not None


def test_a_bad_line_fails_before_any_upload(settings: Any, emulator: GeminiEmulator) -> None:
    bad = BatchLine("bad-seed", EditRequest(model=MODEL, prompt="x", extra={"temperature": "hot"}))
    with pytest.raises(InvalidInputError, match="bad-seed"):
        submit(settings, [gen("a"), bad])
    assert emulator.requests_to(r"/files", "POST") == [] and emulator.billable_count == 0


def test_results_are_streamed(settings: Any, emulator: GeminiEmulator) -> None:
    emulator.result_padding = 20_000  # a ~21 MB result file
    jobs, _ = submit(settings, [gen(f"r{i}", f"prompt {i}") for i in range(1000)])
    gb.poll_batch(jobs[0], settings)  # the emulator runs the lines here, outside the trace
    out = next(f for f in emulator.stored_files.values() if f["displayName"] == "batch-results")
    tracemalloc.start()
    stream = gb.fetch_batch_results(jobs[0], settings)
    first = next(stream)
    assert first.custom_id == "r0" and first.result is not None
    del first
    count = 1
    for item in stream:
        assert item.result is not None
        count += 1
        del item
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(out["_data"]) > 20_000_000
    assert count == 1000 and peak < len(out["_data"]) / 4, (peak, len(out["_data"]))


def test_supports_batch() -> None:
    for model in ("gemini-nano-banana-2.1", "gemini-3-pro-image", "gemini-3.1-flash-lite-image",
                  "gemini-3.1-flash-image", "gemini-nano-banana-3"):
        assert gb.supports_batch(model), model
    assert not gb.supports_batch("gemini-2.5-flash")  # a text model
    assert not gb.supports_batch("gemini-2.0-flash-exp-image-generation")  # retired
    assert not gb.supports_batch("gemini-2.5-flash-image")  # shut down 2026-10-02


def test_no_key_in_errors(settings: Any, emulator: GeminiEmulator, sentinel_key: str) -> None:
    emulator.valid_keys = {"another-key"}
    with pytest.raises(ApiEditError) as raised:
        submit(settings, [gen("a")])
    assert sentinel_key not in str(raised.value) and sentinel_key not in repr(raised.value.details)
    # (the autouse fixture checks the DEBUG log for the sentinel key)


def test_hooks_registered(host: Host) -> None:
    host.providers()
    names = [i.plugin_name for i in host._pm.hook.fetch_batch_results.get_hookimpls()]
    assert names


def test_official_sdk_talks_to_the_emulator(emulator: GeminiEmulator, sentinel_key: str,
                                            tmp_path: Any) -> None:
    genai = pytest.importorskip("google.genai")
    client = genai.Client(api_key=sentinel_key,
                          http_options={"base_url": emulator.base_url, "api_version": "v1beta"})
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"key": "s1", "request": {
        "contents": [{"role": "user", "parts": [{"text": "a cat"}]}]}}) + "\n")
    uploaded = client.files.upload(file=str(path),
                                   config={"mime_type": "application/jsonl", "display_name": "sdk"})
    job = client.batches.create(model=MODEL, src=uploaded.name, config={"display_name": "sdk-tok"})
    got = client.batches.get(name=job.name)
    assert got.state.name == "JOB_STATE_SUCCEEDED" and got.display_name == "sdk-tok"
    data = client.files.download(file=got.dest.file_name)
    assert json.loads(data.splitlines()[0])["response"]["candidates"]
