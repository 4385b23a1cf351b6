"""Native mode against `apiedit.testing.batch_fake` (a provider with a batch API, over real
HTTP): one paid job per (provider, model), journaled before polling, results streamed to
files, and a resume after a crash between "job created" and "job journaled" pays nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from apiedit import batch
from apiedit.errors import ProviderError
from apiedit.host import Host
from apiedit.testing.batch_fake import PNG, BatchFakeEmulator, BatchFakePlugin


@pytest.fixture
def fake(emulator_factory, apiedit_home):
    emulator = emulator_factory(BatchFakeEmulator)

    def host_with(plugin_class=BatchFakePlugin) -> Host:
        host = Host(load_entry_points=False)
        host.register(plugin_class(emulator.base_url), "fakebatch")
        return host
    return emulator, host_with


def _manifest(path: Path, prompts: list[str]) -> Path:
    path.write_text("\n".join(json.dumps({"id": f"n{i}", "provider": "fakebatch",
                                          "model": "fake-1", "prompt": p})
                              for i, p in enumerate(prompts)))
    return path


def test_auto_mode_uses_the_native_api_one_paid_job_and_streams_results(fake, tmp_path, monkeypatch) -> None:
    emulator, host_with = fake
    monkeypatch.setattr("apiedit.batch.native.POLL_SCHEDULE", (0.01,))
    manifest = _manifest(tmp_path / "m.jsonl", ["a cat", "a dog", "blocked fox", "an owl"])
    rep = batch.submit(manifest, tmp_path / "out", host=host_with())
    assert emulator.billable_count == 1 and len(emulator.jobs) == 1
    assert rep["counts"]["done"] == 3 and rep["failed_by_type"] == {"ContentBlockedError": 1}
    lines = {r["id"]: r for r in batch.results(tmp_path / "out")}
    assert {r["mode"] for r in lines.values()} == {"native"}
    assert Path(lines["n0"]["outputs"][0]["path"]).read_bytes() == PNG
    assert lines["n0"]["job_id"] == "job-1"
    assert batch.resume(tmp_path / "out", host=host_with())["counts"]["done"] == 3
    assert emulator.billable_count == 1


class _CrashAfterCreate(BatchFakePlugin):
    """Creates the job, then fails before calling `journal` (a crash at the worst moment)."""

    def submit_batch(self, model, lines, token, journal, settings):
        super().submit_batch(model, lines, token, lambda job: None, settings)
        raise ProviderError("connection reset after the job was created")


def test_resume_after_a_crash_between_create_and_journal_reuses_the_job(fake, tmp_path, monkeypatch) -> None:
    emulator, host_with = fake
    monkeypatch.setattr("apiedit.batch.native.POLL_SCHEDULE", (0.01,))
    manifest = _manifest(tmp_path / "m.jsonl", ["a cat", "a dog"])
    from apiedit.hookspecs import hookimpl

    _CrashAfterCreate.submit_batch = hookimpl(_CrashAfterCreate.submit_batch)
    rep = batch.submit(manifest, tmp_path / "out", host=host_with(_CrashAfterCreate))
    assert emulator.billable_count == 1 and rep["counts"]["pending"] == 2
    rep = batch.resume(tmp_path / "out", host=host_with())
    assert rep["counts"]["done"] == 2
    assert emulator.billable_count == 1 and len(emulator.jobs) == 1  # same token: same job


def test_native_mode_refused_for_a_provider_without_a_batch_api(fake, tmp_path) -> None:
    from apiedit.errors import InvalidInputError

    emulator, host_with = fake
    path = tmp_path / "m.jsonl"
    path.write_text(json.dumps({"id": "x", "provider": "fakebatch", "model": "other",
                                "prompt": "p"}))
    with pytest.raises(InvalidInputError, match="no native batch API"):
        batch.submit(path, tmp_path / "out", mode="native", host=host_with())
    assert emulator.billable_count == 0
