"""The conformance suite catches real plugin bugs: each planted in a copy of the example plugin.

For every mutation below, the example plugin (`examples/apiedit-example`, an async-job
provider) is copied to a temporary directory, one line of it is changed (the test first checks
the pattern is there exactly once, so a refactor of the example cannot silently turn a mutant
into the original), and the copy's own conformance test runs in a subprocess with the copy
first on PYTHONPATH: the installed `apiedit` entry point `example = "apiedit_example"` then
imports the copy (a conftest written into the copy proves it). The unmutated copy must pass
the whole suite; on each mutant, the suite's test that is meant to catch that bug (`caught_by`)
must fail (a test failure, not a collection error or a crash). Running only that test keeps
the twelve runs quick; they go four at a time, as they mostly wait on loopback HTTP.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "apiedit-example"
WIRE = "apiedit_example/wire.py"


@dataclass(frozen=True)
class Mutation:
    """One planted bug: replace `old` (found exactly once in `path`) with `new`; the suite's
    tests `caught_by` selects (a `pytest -k` expression: the test's name, and a word of its
    parameters where only some of them apply) must fail."""

    name: str
    old: str
    new: str
    caught_by: str
    path: str = WIRE


MUTATIONS = [
    Mutation("input_images_reversed",
             "for image in request.images]", "for image in reversed(request.images)]",
             "test_compose_several_images"),
    Mutation("only_the_first_input_sent",
             "for image in request.images]", "for image in request.images[:1]]",
             "test_compose_several_images"),
    Mutation("count_ignored", '"n": request.n,', '"n": 1,',
             "test_each_supported_knob_reaches_the_wire and count"),
    Mutation("seed_dropped", '"seed": request.seed,', '"seed": None,',
             "test_each_supported_knob_reaches_the_wire and seed"),
    Mutation("failed_job_mapped_to_a_generic_error",
             "on_failure=lambda payload: failed_task_error(settings, payload, task_id=job_id, "
             "envelope=envelope),",
             'on_failure=lambda payload: apiedit.ProviderError(f"job {job_id} failed", '
             "provider=settings.provider),",
             "test_an_in_band_failure_is_a_typed_error and blocked"),
    Mutation("only_the_first_output_downloaded",
             "for url in urls]", "for url in urls[:1]]",
             "test_n_images_come_back_in_order"),
    Mutation("plain_requests_get_instead_of_the_safe_download",
             "return download_image(url, settings)",
             "return apiedit.ImageData(requests.get(url, timeout=30).content)",
             "test_output_links_are_fetched_only_through_the_safe_downloader"),
    # beyond the seven: the other promises the suite makes
    Mutation("prompt_dropped", '"prompt": request.prompt,', '"prompt": "",',
             "test_text_to_image_returns_decodable_images"),
    Mutation("outputs_reversed", "for url in urls]", "for url in reversed(urls)]",
             "test_n_images_come_back_in_order"),
    Mutation("paid_submit_not_marked_billable",
             'settings.http.request("POST", "jobs", billable=True,',
             'settings.http.request("POST", "jobs", billable=False,',
             "test_read_timeout_after_sending_is_not_resent"),
    Mutation("error_envelope_ignored",
             "provider=settings.provider, envelope=envelope)", "provider=settings.provider)",
             "test_provider_errors_map_to_typed_errors and blocked"),
]

_PROVE_THE_COPY = '''
import apiedit_example

def pytest_sessionstart(session):
    here = __file__.rsplit("/tests/", 1)[0]
    assert apiedit_example.__file__.startswith(here), (
        f"the installed example was imported ({apiedit_example.__file__}), not the copy in {here}")
'''


@dataclass(frozen=True)
class Run:
    returncode: int
    output: str


def _copy(where: Path, mutation: Mutation | None) -> Path:
    shutil.copytree(EXAMPLE / "apiedit_example", where / "apiedit_example",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(EXAMPLE / "tests", where / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    (where / "tests" / "conftest.py").write_text(_PROVE_THE_COPY)
    if mutation is not None:
        target = where / mutation.path
        text = target.read_text()
        assert text.count(mutation.old) == 1, (
            f"mutation {mutation.name}: {mutation.old!r} must occur exactly once in {mutation.path}")
        target.write_text(text.replace(mutation.old, mutation.new))
    return where


def _run_suite(where: Path, only: str | None = None) -> Run:
    """The copy's tests in a subprocess (`only`: just the conformance tests it selects, `-k`)."""
    target = ["tests/test_example_conformance.py", "-k", only] if only else ["tests"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "APIEDIT_", "COV_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(where), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *target, "-q", "-rf", "-p", "no:cacheprovider",
         "-p", "no:randomly", "--no-header"],
        cwd=where, env=env, capture_output=True, text=True, timeout=300,
    )
    return Run(done.returncode, done.stdout + done.stderr)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """The suite's verdict on the original ("original") and on every mutant, by name."""
    jobs = {"original": None, **{m.name: m for m in MUTATIONS}}
    copies = {name: _copy(tmp_path_factory.mktemp(name), m) for name, m in jobs.items()}
    only = {m.name: m.caught_by for m in MUTATIONS}
    with ThreadPoolExecutor(max_workers=4) as pool:
        verdicts = pool.map(lambda name: _run_suite(copies[name], only.get(name)), copies)
        return dict(zip(copies, verdicts))


def test_the_unmutated_example_passes_the_suite(runs: dict[str, Run]) -> None:
    run = runs["original"]
    assert run.returncode == 0, run.output[-3000:]
    assert " passed" in run.output and "failed" not in run.output


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m.name for m in MUTATIONS])
def test_the_suite_catches_the_planted_bug(mutation: Mutation, runs: dict[str, Run]) -> None:
    run = runs[mutation.name]
    assert run.returncode != 0, (
        f"the conformance suite passed the example with the bug {mutation.name!r} planted "
        f"({mutation.old!r} -> {mutation.new!r}):\n{run.output[-1500:]}")
    summary = run.output.strip().splitlines()[-1]  # "2 failed, 26 passed, 8 skipped in 9.1s"
    assert run.returncode == 1 and " failed" in summary and "error" not in summary, (
        f"the mutant {mutation.name!r} broke the run instead of failing a test:\n{run.output[-3000:]}")
    failed = [line for line in run.output.splitlines() if line.startswith("FAILED ")]
    name = mutation.caught_by.split()[0]
    assert failed and all(f"::{name}" in line for line in failed), "\n".join(failed)
