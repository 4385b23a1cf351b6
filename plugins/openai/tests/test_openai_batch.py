"""The OpenAI native batch hooks over real HTTP against the emulator's Files + Batch API."""

from __future__ import annotations

import json
import logging
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest
from apiedit.batch.types import BatchItem, BatchJob, BatchLine, BatchState
from apiedit.errors import ApiEditError, ContentBlockedError, InvalidInputError, ProviderError
from apiedit.host import Host
from apiedit.testing.emulator import Fault
from apiedit.types import EditRequest, ImageData
from apiedit_openai import batch as ob
from apiedit_openai.emulator import OpenAIEmulator

MODEL = "gpt-image-2"


@pytest.fixture
def settings(host: Host, emulator: OpenAIEmulator, sentinel_key: str) -> Any:
    return host.settings("openai", api_key=sentinel_key, base_url=emulator.base_url)


def gen(cid: str, prompt: str = "a red fox") -> BatchLine:
    return BatchLine(cid, EditRequest(model=MODEL, prompt=prompt))


def edit(cid: str, png: Callable[..., bytes], mask: bool = False) -> BatchLine:
    request = EditRequest(model=MODEL, prompt="make it blue",
                          images=(ImageData(png((10, 200, 10))), ImageData(png((200, 10, 10)))),
                          mask=ImageData(png((255,), mode="L")) if mask else None)
    return BatchLine(cid, request)


def submit(settings: Any, lines: list[BatchLine],
           token: str = "tok-1") -> tuple[list[BatchJob], list[BatchJob]]:
    journaled: list[BatchJob] = []
    jobs = ob.submit_batch(MODEL, lines, token, journaled.append, settings)
    return list(jobs), journaled


def results(settings: Any, jobs: list[BatchJob]) -> dict[str, BatchItem]:
    return {item.custom_id: item for job in jobs for item in ob.fetch_batch_results(job, settings)}


def test_submit_poll_fetch_generations_and_edits(settings: Any, emulator: OpenAIEmulator,
                                                 png: Callable[..., bytes],
                                                 spec_errors: Callable[[str, Any], list[str]]) -> None:
    lines = [gen("g1"), gen("g2", "a blue whale"), edit("e1", png, mask=True)]
    jobs, journaled = submit(settings, lines)
    # one job per endpoint, each journaled as it was created
    assert [j.state["endpoint"] for j in jobs] == ["generations", "edits"]
    assert journaled == jobs
    assert [j.custom_ids for j in jobs] == [("g1", "g2"), ("e1",)]
    uploaded = [json.loads(raw) for f in emulator.uploads.values() if f["purpose"] == "batch"
                for raw in f["_data"].splitlines()]
    assert {u["url"] for u in uploaded} == {"/v1/images/generations", "/v1/images/edits"}
    edit_body = next(u["body"] for u in uploaded if u["custom_id"] == "e1")
    assert [i["image_url"][:22] for i in edit_body["images"]] == ["data:image/jpeg;base64,"] * 2 \
        or all(i["image_url"].startswith("data:image/") for i in edit_body["images"])
    assert edit_body["mask"]["image_url"].startswith("data:image/png;base64,")
    created = [r.json() for r in emulator.requests_to(r"^/batches$", "POST")]
    assert all(c["completion_window"] == "24h" and c["metadata"]["apiedit_token"] == "tok-1"
               for c in created)
    assert all(ob.poll_batch(j, settings).state is BatchState.SUCCEEDED for j in jobs)
    batches = [json.loads(a.body) for r, a in emulator.answers if r.path.startswith("/batches/")
               or (r.path == "/batches" and r.method == "POST")]
    lists = [json.loads(a.body) for r, a in emulator.answers
             if r.path == "/batches" and r.method == "GET"]
    assert batches and lists
    assert [e for b in batches for e in spec_errors("Batch", b)] == []
    assert [e for page in lists for e in spec_errors("ListBatchesResponse", page)] == []
    got = results(settings, jobs)
    assert set(got) == {"g1", "g2", "e1"}
    assert all(item.result is not None and item.result.images for item in got.values())
    # the edit saw both inputs in order: two strips, green then red
    strips = emulator.calls[-1].images
    assert len(strips) == 2 and emulator.calls[-1].mask is not None
    assert emulator.batch_lines_billed == 3


def test_failed_line_is_typed_and_partial_success(settings: Any, emulator: OpenAIEmulator) -> None:
    jobs, _ = submit(settings, [gen("ok"), gen("bad", "emulate:blocked a fox"), gen("ok2")])
    status = ob.poll_batch(jobs[0], settings)
    assert status.state is BatchState.PARTIALLY_SUCCEEDED
    assert (status.total, status.succeeded, status.failed) == (3, 2, 1)
    got = results(settings, jobs)
    assert got["ok"].result is not None and got["ok2"].result is not None
    assert isinstance(got["bad"].error, ContentBlockedError)  # typed as the live path types it


def test_cancel_gives_partial_results(settings: Any, emulator: OpenAIEmulator) -> None:
    emulator.batch_hold_after = 2
    jobs, _ = submit(settings, [gen(f"l{i}") for i in range(5)])
    assert ob.poll_batch(jobs[0], settings).state is BatchState.RUNNING
    assert ob.cancel_batch(jobs[0], settings).state is BatchState.CANCELLING
    status = ob.poll_batch(jobs[0], settings)
    assert status.state is BatchState.CANCELLED
    got = results(settings, jobs)
    assert [c for c, i in got.items() if i.result] == ["l0", "l1"]
    assert all(isinstance(got[c].error, ProviderError) and "cancelled" in str(got[c].error)
               for c in ("l2", "l3", "l4"))
    assert emulator.batch_lines_billed == 2


def test_whole_job_failed_and_expired(settings: Any, emulator: OpenAIEmulator) -> None:
    emulator.batch_outcome = "failed"
    jobs, _ = submit(settings, [gen("a")], token="t-fail")
    status = ob.poll_batch(jobs[0], settings)
    assert status.state is BatchState.FAILED and "not valid" in status.message
    assert isinstance(results(settings, jobs)["a"].error, ProviderError)
    emulator.batch_outcome = "expired"
    emulator.batch_hold_after = 1
    jobs, _ = submit(settings, [gen("b"), gen("c")], token="t-exp")
    assert ob.poll_batch(jobs[0], settings).state is BatchState.EXPIRED
    got = results(settings, jobs)
    assert got["b"].result is not None
    assert got["c"].error is not None and got["c"].error.code == "batch_expired"


def test_resubmit_same_token_pays_nothing_more(settings: Any, emulator: OpenAIEmulator) -> None:
    emulator.seed_batches(150)  # someone else's jobs: the lookup must page past them
    lines = [gen(f"x{i}") for i in range(3)]
    first, _ = submit(settings, lines, token="same")
    billed = emulator.billable_count
    again, journaled = submit(settings, lines, token="same")
    assert [j.job_id for j in again] == [j.job_id for j in first]
    assert journaled == []  # nothing new was created
    assert emulator.billable_count == billed == 1
    assert len(emulator.requests_to(r"^/files$", "POST")) == 1  # not even re-uploaded


@pytest.mark.parametrize("created", [True, False])
def test_5xx_on_create_then_resume(settings: Any, emulator: OpenAIEmulator, created: bool) -> None:
    if created:
        emulator.batch_create_error_after = 1  # the job exists, the answer says 500
    else:
        emulator.inject(Fault(method="POST", path=r"^/batches$", status=500))
    with pytest.raises(ApiEditError):
        submit(settings, [gen("a")], token="crash")
    assert len(emulator.requests_to(r"^/batches$", "POST")) == 1  # a paid create is not retried
    jobs, journaled = submit(settings, [gen("a")], token="crash")
    assert len(jobs) == 1
    assert len(journaled) == (0 if created else 1)
    assert len([b for b in emulator.batches.values()
                if b["metadata"].get("apiedit_token") == "crash"]) == 1
    assert results(settings, jobs)["a"].result is not None


def test_split_at_the_line_limit_and_by_endpoint(settings: Any, emulator: OpenAIEmulator,
                                                 png: Callable[..., bytes],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ob, "MAX_LINES", 2)
    lines = [gen("g1"), edit("e1", png), gen("g2"), gen("g3"), edit("e2", png)]
    jobs, journaled = submit(settings, lines)
    assert [(j.state["endpoint"], j.custom_ids) for j in jobs] == [
        ("generations", ("g1", "g2")), ("edits", ("e1", "e2")), ("generations", ("g3",))]
    assert len(journaled) == 3
    assert set(results(settings, jobs)) == {"g1", "g2", "g3", "e1", "e2"}


def test_split_at_the_byte_limit(settings: Any, emulator: OpenAIEmulator,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ob, "MAX_FILE_BYTES", 300)
    jobs, _ = submit(settings, [gen(f"g{i}", "p" * 100) for i in range(4)])
    assert [len(j.custom_ids) for j in jobs] == [1, 1, 1, 1]
    assert all(f["bytes"] <= 300 for f in emulator.uploads.values() if f["purpose"] == "batch")


def test_a_line_that_cannot_be_sent_fails_before_any_upload(settings: Any,
                                                            emulator: OpenAIEmulator) -> None:
    bad = BatchLine("too-big", EditRequest(model=MODEL, prompt="x", size="9999x9999"))
    with pytest.raises(InvalidInputError, match="too-big"):
        submit(settings, [gen("a"), bad])
    assert emulator.requests_to(r"^/files$") == [] and emulator.billable_count == 0


def test_results_are_streamed(settings: Any, emulator: OpenAIEmulator) -> None:
    jobs, _ = submit(settings, [gen(f"r{i}", f"prompt {i}") for i in range(1000)])
    ob.poll_batch(jobs[0], settings)  # the emulator runs the 1,000 lines here, not in the trace
    tracemalloc.start()
    stream = ob.fetch_batch_results(jobs[0], settings)
    first = next(stream)  # lazy: one item without reading the rest
    assert first.custom_id == "r0" and first.result is not None
    del first
    count = 1
    for item in stream:
        assert item.result is not None
        count += 1
        del item
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    output = next(f for f in emulator.uploads.values() if f["filename"] == "batch_output.jsonl")
    assert count == 1000
    assert peak < output["bytes"] / 4, (peak, output["bytes"])


def test_supports_batch() -> None:
    assert ob.supports_batch("gpt-image-2") and ob.supports_batch("gpt-image-1.5")
    assert not ob.supports_batch("dall-e-3") and not ob.supports_batch("dall-e-2")


def test_no_key_in_errors_or_logs(settings: Any, emulator: OpenAIEmulator, sentinel_key: str,
                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    emulator.valid_keys = {"sk-some-other-key-1234"}
    with pytest.raises(ApiEditError) as raised:
        submit(settings, [gen("a")])
    emulator.valid_keys = None
    emulator.batch_hold_after = 0
    jobs, _ = submit(settings, [gen("b", "emulate:auth")], token="t2")
    ob.cancel_batch(jobs[0], settings)
    texts = [str(raised.value), repr(raised.value.details)] + [
        str(i.error) for i in ob.fetch_batch_results(jobs[0], settings)]
    for text in texts + [caplog.text]:
        assert sentinel_key not in text


def test_hooks_registered(host: Host) -> None:
    import apiedit_openai

    for hook in ("supports_batch", "submit_batch", "poll_batch", "fetch_batch_results",
                 "cancel_batch"):
        assert hasattr(apiedit_openai, hook)
    host.providers()  # loads the plugins
    impls = [i.plugin_name for i in host._pm.hook.submit_batch.get_hookimpls()]
    assert impls, "the openai plugin's submit_batch is not registered with the host"


def test_official_sdk_talks_to_the_emulator(emulator: OpenAIEmulator, sentinel_key: str) -> None:
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(api_key=sentinel_key, base_url=emulator.base_url, max_retries=0)
    line = {"custom_id": "s1", "method": "POST", "url": "/v1/images/generations",
            "body": {"model": MODEL, "prompt": "a cat"}}
    uploaded = client.files.create(file=("in.jsonl", json.dumps(line).encode()), purpose="batch")
    batch = client.batches.create(input_file_id=uploaded.id, endpoint="/v1/images/generations",
                                  completion_window="24h", metadata={"apiedit_token": "sdk"})
    got = client.batches.retrieve(batch.id)
    assert got.status == "completed" and got.request_counts.completed == 1
    content = client.files.content(got.output_file_id).text
    assert json.loads(content.splitlines()[0])["response"]["status_code"] == 200
    assert [b.id for b in client.batches.list(limit=5)] == [batch.id]
