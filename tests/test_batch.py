"""`apiedit.batch` live mode over real HTTP against the loopback emulators: every line sent
once, outputs written, resume sends nothing already sent, identical lines reused, bad manifest
lines and budgets refused before anything is paid."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from apiedit import batch
from apiedit.errors import InvalidInputError
from apiedit.host import Host

MODELS = {"openrouter": "google/gemini-nano-banana-2.1", "pixelwords": "gemini-2.5-flash-image",
          "modelscope": "Qwen/Qwen-Image"}
KEYS = {"openrouter": "OPENROUTER_API_KEY", "pixelwords": "PIXELWORDS_API_KEY",
        "modelscope": "MODELSCOPE_API_KEY"}


def _emulator_class(provider: str):
    if provider == "openrouter":
        from apiedit_openrouter.emulator import OpenRouterEmulator as cls
    elif provider == "pixelwords":
        from apiedit_pixelwords.emulator import PixelWordsEmulator as cls
    else:
        from apiedit_modelscope.emulator import ModelScopeEmulator as cls
    return cls


@pytest.fixture
def live(emulator_factory, apiedit_home, sentinel_key, monkeypatch):
    def start(provider: str):
        emulator = emulator_factory(_emulator_class(provider))
        if provider == "modelscope":
            emulator.polls_until_done = 0
        monkeypatch.setenv(KEYS[provider], sentinel_key)
        monkeypatch.setenv(f"APIEDIT_{provider.upper()}_BASE_URL", emulator.base_url)
        monkeypatch.setenv("APIEDIT_LOAD_PLUGINS", provider)
        return emulator, Host()
    return start


def _manifest(path: Path, provider: str, n: int, extra: list[dict] | None = None) -> Path:
    rows = [{"id": f"r{i}", "provider": provider, "model": MODELS[provider],
             "prompt": f"a red fox number {i}", "seed": i} for i in range(n)]
    path.write_text("\n".join(json.dumps(r) for r in rows + (extra or [])) + "\n")
    return path


@pytest.mark.parametrize("provider", ["openrouter", "pixelwords", "modelscope"])
def test_live_run_sends_each_line_once_and_resume_sends_nothing(
        live, provider, tmp_path, sentinel_key) -> None:
    emulator, host = live(provider)
    manifest = _manifest(tmp_path / "m.jsonl", provider, 4)
    out = tmp_path / "out"
    rep = batch.submit(manifest, out, mode="live", concurrency=2, host=host)
    assert rep["counts"]["done"] == 4, rep
    assert emulator.billable_count == 4
    files = sorted(p.name for p in (out / "outputs").iterdir())
    assert files == [f"r{i}-1.png" for i in range(4)] or len(files) == 4
    listed = list(batch.results(out))
    assert [r["state"] for r in listed] == ["done"] * 4
    assert all(Path(o["path"]).is_file() for r in listed for o in r["outputs"])
    again = batch.resume(out, host=host)
    assert again["counts"]["done"] == 4 and emulator.billable_count == 4
    assert json.loads((out / "report.json").read_text())["counts"]["done"] == 4
    for f in out.rglob("*"):
        if f.is_file():
            assert sentinel_key.encode() not in f.read_bytes()


def test_identical_line_in_a_later_run_in_the_same_dir_is_not_sent_again(live, tmp_path) -> None:
    emulator, host = live("openrouter")
    out = tmp_path / "out"
    batch.submit(_manifest(tmp_path / "a.jsonl", "openrouter", 2), out, mode="live", host=host)
    same = {"id": "copy", "provider": "openrouter", "model": MODELS["openrouter"],
            "prompt": "a red fox number 1", "seed": 1}
    (tmp_path / "b.jsonl").write_text(json.dumps(same) + "\n")
    rep = batch.submit(tmp_path / "b.jsonl", out, mode="live", host=host)
    assert emulator.billable_count == 2 and rep["counts"]["done"] == 3 and rep["reused"] == 1
    by_id = {r["id"]: r for r in batch.results(out)}
    assert Path(by_id["copy"]["outputs"][0]["path"]).read_bytes() == \
        Path(by_id["r1"]["outputs"][0]["path"]).read_bytes()


def test_a_line_in_flight_at_a_crash_is_unknown_and_not_resent(live, tmp_path) -> None:
    emulator, host = live("openrouter")
    out = tmp_path / "out"
    batch.submit(_manifest(tmp_path / "m.jsonl", "openrouter", 2), out, mode="live", host=host)
    from apiedit.batch.journal import Journal

    journal = Journal(out)  # what a kill -9 mid-call leaves behind
    journal.update("r1", state="sending", outputs=[])
    journal.close()
    rep = batch.resume(out, host=host)
    assert emulator.billable_count == 2
    assert rep["counts"]["unknown"] == 1 and rep["unknown"][0]["id"] == "r1"
    assert "may have been billed" in rep["unknown"][0]["error"]
    rep = batch.resume(out, retry_unknown=True, host=host)
    assert rep["counts"]["done"] == 2 and emulator.billable_count == 3


def test_a_failing_line_does_not_stop_the_batch(live, tmp_path) -> None:
    emulator, host = live("openrouter")
    emulator.inject(emulator.fault_for("blocked", times=1))
    rep = batch.submit(_manifest(tmp_path / "m.jsonl", "openrouter", 3), tmp_path / "out",
                       mode="live", concurrency=1, host=host)
    assert rep["counts"]["done"] == 2 and rep["counts"]["failed"] == 1
    assert rep["failed_by_type"] == {"ContentBlockedError": 1}


def test_bad_manifest_lines_are_all_reported_with_line_numbers_before_anything_is_sent(
        live, tmp_path) -> None:
    emulator, host = live("openrouter")
    good = {"provider": "openrouter", "model": MODELS["openrouter"], "prompt": "x"}
    rows = [json.dumps({"id": "a", **good}), "{not json", json.dumps({"id": "a", **good}),
            json.dumps({"id": "b", **good, "size": "huge"}),
            json.dumps({"id": "c", **good, "images": ["missing.png"]}),
            json.dumps({"id": "d", **good, "provider": "nope"}),
            json.dumps({"id": "e", **good, "colour": "red"}), json.dumps({"id": "f", "prompt": "x"})]
    (tmp_path / "m.jsonl").write_text("\n".join(rows) + "\n")
    with pytest.raises(InvalidInputError) as info:
        batch.submit(tmp_path / "m.jsonl", tmp_path / "out", mode="live", host=host)
    text = str(info.value)
    for no in range(2, 9):
        assert f"line {no}:" in text, (no, text)
    assert "line 1:" not in text and "duplicate id 'a'" in text
    assert emulator.billable_count == 0


def test_csv_manifest_with_the_same_columns(live, tmp_path) -> None:
    emulator, host = live("openrouter")
    (tmp_path / "m.csv").write_text(
        "id,provider,model,prompt,seed\n"
        f"x1,openrouter,{MODELS['openrouter']},a cat,3\nx2,openrouter,{MODELS['openrouter']},a dog,\n")
    rep = batch.submit(tmp_path / "m.csv", tmp_path / "out", mode="live", host=host)
    assert rep["counts"]["done"] == 2 and emulator.billable_count == 2


def test_budget_refusal_sends_nothing_and_unknown_prices_need_consent(
        live, emulator_factory, sentinel_key, monkeypatch, tmp_path) -> None:
    from apiedit_openai.emulator import OpenAIEmulator

    openai = emulator_factory(OpenAIEmulator)
    monkeypatch.setenv("OPENAI_API_KEY", sentinel_key)
    monkeypatch.setenv("APIEDIT_OPENAI_BASE_URL", openai.base_url)
    monkeypatch.setenv("APIEDIT_LOAD_PLUGINS", "openai")
    host = Host()
    rows = [{"id": f"o{i}", "provider": "openai", "model": "gpt-image-1.5", "prompt": "a fox",
             "size": "1024x1024", "quality": "medium", "seed": i} for i in range(3)]
    (tmp_path / "o.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    with pytest.raises(InvalidInputError, match=r"Not started: the estimated cost ≈ \$0\.10"):
        batch.submit(tmp_path / "o.jsonl", tmp_path / "o", mode="live", budget="0.05", host=host)
    assert openai.billable_count == 0
    seen = []
    rep = batch.submit(tmp_path / "o.jsonl", tmp_path / "o", mode="live", budget="0.50",
                       host=host, on_estimate=seen.append)
    assert rep["counts"]["done"] == 3 and openai.billable_count == 3
    assert seen[0]["live"].label().startswith("≈ $0.10") and seen[0]["native"].label().startswith("≈ $0.05")

    emulator, host = live("openrouter")  # no price in OpenRouter's table for this model
    manifest = _manifest(tmp_path / "m.jsonl", "openrouter", 3)
    with pytest.raises(InvalidInputError, match="allow-unknown-prices"):
        batch.submit(manifest, tmp_path / "out", mode="live", budget="10", host=host)
    assert emulator.billable_count == 0
    rep = batch.submit(manifest, tmp_path / "out", mode="live", budget="10",
                       allow_unknown_prices=True, host=host)
    assert rep["counts"]["done"] == 3 and emulator.billable_count == 3


def test_concurrency_is_bounded_so_an_emulator_enforcing_the_limit_never_answers_429(
        live, tmp_path) -> None:
    emulator, host = live("openrouter")
    emulator.max_concurrent, emulator.latency = 2, 0.3
    rep = batch.submit(_manifest(tmp_path / "m.jsonl", "openrouter", 6), tmp_path / "out",
                       mode="live", concurrency=2, host=host)
    assert rep["counts"]["done"] == 6 and emulator.billable_count == 6
    assert emulator.concurrency_refusals == 0


def test_the_emulator_limit_does_refuse_a_request_over_it(live, tmp_path) -> None:
    import threading

    emulator, host = live("openrouter")
    emulator.max_concurrent, emulator.latency = 1, 0.5
    from apiedit.types import EditRequest

    errors = []

    def call() -> None:
        try:
            host.edit("openrouter", EditRequest(model=MODELS["openrouter"], prompt="x"))
        except Exception as exc:  # the second one: a rate limit (may be retried by http)
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert emulator.concurrency_refusals >= 1


@pytest.fixture
def image_server(tmp_path):
    """A loopback web server for manifest lines whose inputs are http(s) URLs."""
    import functools
    import http.server
    import threading

    from PIL import Image

    served = tmp_path / "www"
    served.mkdir()
    Image.new("RGB", (40, 30), (10, 120, 200)).save(served / "cat.png", format="PNG")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", (served / "cat.png").read_bytes()
    server.shutdown()


def test_url_inputs_are_fetched_and_sent_and_a_dead_url_fails_only_its_line(
        live, image_server, tmp_path) -> None:
    import base64

    emulator, host = live("openrouter")
    base, png = image_server
    rows = [{"id": "url", "provider": "openrouter", "model": MODELS["openrouter"],
             "prompt": "make it red", "images": [f"{base}/cat.png"]},
            {"id": "dead", "provider": "openrouter", "model": MODELS["openrouter"],
             "prompt": "make it red", "images": [f"{base}/missing.png"]}]
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("\n".join(json.dumps(r) for r in rows))
    rep = batch.submit(manifest, tmp_path / "out", mode="live", host=host)
    assert rep["counts"]["done"] == 1 and rep["counts"]["failed"] == 1, rep
    by_id = {r["id"]: r for r in batch.results(tmp_path / "out")}
    assert by_id["url"]["state"] == "done" and by_id["dead"]["state"] == "failed"
    assert by_id["dead"]["error_type"].endswith("Error")
    assert "404" in by_id["dead"]["error_message"] or "missing" in by_id["dead"]["error_message"]
    assert emulator.billable_count == 1  # the dead URL cost nothing
    sent = [r.body for r in emulator.requests if r.billable][0]
    assert base64.b64encode(png) in sent  # the downloaded bytes went to the provider
