"""Every everyday mistake is one `error:` line saying what to do, with its family's exit code,
and costs nothing: the emulator counts no billable request."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from apiedit.testing.emulator import Emulator

from .conftest import APIEDIT, MODEL, one_error_line, png


@pytest.fixture
def files(apiedit_home: Path) -> Path:
    (apiedit_home / "a-directory").mkdir()
    (apiedit_home / "notes.txt").write_text("not an image\n")
    (apiedit_home / "photo.png").write_bytes(png())
    (apiedit_home / "broken.png").write_bytes(png()[:60])  # a PNG cut off after its header
    (apiedit_home / "taken.png").write_bytes(b"the user's earlier image")
    return apiedit_home


INPUT_MISTAKES = [
    (["-p", "x", "-i", "nosuch.png"], "-i 'nosuch.png': no such file"),
    (["-p", "x", "-i", "a-directory"], "-i 'a-directory' is a directory"),
    (["-p", "x", "-i", "https://example.org/cat.png"], "-i takes a local file, not a URL"),
    (["-p", "x", "-i", "notes.txt"], "-i 'notes.txt' is not an image"),
    (["-p", "x", "-i", "broken.png"], "could not be decoded"),
    (["-p", "x", "-i", "photo.png", "--mask", "nosuch.png"], "--mask 'nosuch.png': no such file"),
    (["-p", "x", "--size", "banana"], "not 'banana'. Use --size WIDTHxHEIGHT"),
    (["-p", "x", "--aspect-ratio", "wide"], "not 'wide'. Use --aspect-ratio W:H"),
    (["-p", "x", "-n", "0"], "at least 1, not 0. Use -n 1 or more."),
    (["-p", "x", "-n", "-1"], "at least 1, not -1. Use -n 1 or more."),
    (["-p", "   "], "The prompt is empty"),
]


@pytest.mark.parametrize(("args", "expected"), INPUT_MISTAKES, ids=[" ".join(a) for a, _ in INPUT_MISTAKES])
def test_an_input_mistake_is_one_line_exit_3_and_costs_nothing(
    run_cli, edit_args: list[str], files: Path, openai_emulator: Emulator, args: list[str],
    expected: str,
) -> None:
    done = run_cli(*edit_args, *args)
    assert done.returncode == 3
    assert expected in one_error_line(done.stderr)
    assert done.stdout == "" and openai_emulator.billable_count == 0


def test_an_output_path_that_is_a_file_is_refused_before_the_paid_call(
    run_cli, openai_emulator: Emulator, files: Path,
) -> None:
    done = run_cli("edit", "openai", "--base-url", openai_emulator.base_url, "-m", MODEL,
                   "-p", "a fox", "-o", "taken.png")
    assert done.returncode == 3
    assert "-o 'taken.png' is a file" in one_error_line(done.stderr)
    assert openai_emulator.billable_count == 0
    assert (files / "taken.png").read_bytes() == b"the user's earlier image"


def test_outputs_are_numbered_and_never_overwritten(run_cli, edit_args: list[str], apiedit_home: Path) -> None:
    first = run_cli(*edit_args, "-p", "a red fox")
    second = run_cli(*edit_args, "-p", "a blue fox")
    out = apiedit_home / "out"
    assert (first.returncode, second.returncode) == (0, 0)
    assert first.stdout.strip() == str(out / "apiedit-1.png")
    assert second.stdout.strip() == str(out / "apiedit-2.png")
    assert (out / "apiedit-1.png").read_bytes() != (out / "apiedit-2.png").read_bytes()


def test_a_typo_in_the_provider_suggests_the_installed_one_never_a_package(run_cli) -> None:
    done = run_cli("edit", "opnai", "-m", MODEL, "-p", "x")
    assert done.returncode == 8
    line = one_error_line(done.stderr)
    assert "did you mean 'openai'?" in line and "README" in line
    assert "pip install" not in line and "apiedit-opnai" not in line


def test_an_unknown_model_points_to_the_cli_flags(run_cli, edit_args: list[str]) -> None:
    done = run_cli(*[a if a != MODEL else "gpt-image-nosuch" for a in edit_args], "-p", "x")
    assert done.returncode == 3
    line = one_error_line(done.stderr)
    # any id is sent (the provider judges it), so the hint is the list, not a flag to force it
    assert "`apiedit models openai --refresh`" in line and "--allow-unlisted" not in line
    assert "free-text" not in line


def test_a_missing_key_says_which_variable_and_command(run_cli, edit_args, cli_env) -> None:
    env = {k: v for k, v in cli_env.items() if k != "OPENAI_API_KEY"}
    done = run_cli(*edit_args, "-p", "x", env=env)
    assert done.returncode == 4
    line = one_error_line(done.stderr)
    assert "OPENAI_API_KEY" in line and "`apiedit keys set openai`" in line
    assert "ComfyUI" not in line


@pytest.mark.parametrize(("kind", "code"), [
    ("auth", 4), ("quota", 5), ("rate_limit", 5), ("blocked", 6), ("server_error", 7),
])
def test_a_provider_failure_exits_with_its_family_code(
    run_cli, edit_args: list[str], openai_emulator: Emulator, sentinel_key: str, kind: str, code: int,
) -> None:
    openai_emulator.inject(openai_emulator.fault_for(kind, method="POST", times=0))
    done = run_cli(*edit_args, "-p", "a fox")
    assert done.returncode == code
    one_error_line(done.stderr)
    assert sentinel_key not in done.stderr + done.stdout


def test_a_missing_flag_is_a_usage_error_in_one_line(run_cli) -> None:
    done = run_cli("edit", "openai", "-p", "x")
    assert done.returncode == 2
    assert "-m/--model" in one_error_line(done.stderr)


def test_showing_an_unknown_conversation_fails(run_cli) -> None:
    done = run_cli("conversations", "show", "nosuch")
    assert done.returncode == 3
    assert "no conversation 'nosuch'" in one_error_line(done.stderr)


def test_debug_shows_the_traceback(run_cli, edit_args: list[str]) -> None:
    done = run_cli("--debug", *edit_args, "-p", "x", "--size", "banana")
    assert done.returncode == 3
    assert "Traceback" in done.stderr and done.stderr.splitlines()[-1].startswith("error: ")


def test_version_and_exit_codes_are_in_the_help(run_cli) -> None:
    from apiedit import __version__

    version = run_cli("--version")
    assert (version.returncode, version.stdout.strip()) == (0, f"apiedit {__version__}")
    helptext = run_cli("edit", "--help").stdout
    assert "exit codes:" in helptext and "130  cancelled" in helptext and "5    quota" in helptext


def test_a_closed_pipe_is_not_an_error(cli_env: dict[str, str], apiedit_home: Path) -> None:
    # The reader is gone before the command writes: `apiedit models openai | head -0`.
    proc = subprocess.Popen([*APIEDIT, "models", "openai"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=cli_env, cwd=apiedit_home)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0
    assert err == ""


def test_progress_is_quiet_when_stderr_is_not_a_terminal(run_cli, edit_args: list[str]) -> None:
    done = run_cli(*edit_args, "-p", "a fox")
    assert done.returncode == 0 and done.stderr == ""


def test_a_demo_of_an_unknown_provider_suggests_the_installed_one(run_cli) -> None:
    done = run_cli("demo", "--provider", "opnai", "-o", "d")
    assert done.returncode == 8
    assert "did you mean 'openai'?" in one_error_line(done.stderr) and done.stdout == ""


def test_a_typo_in_a_conversation_name_is_pointed_out(run_cli, edit_args: list[str]) -> None:
    assert run_cli(*edit_args, "-p", "a fox", "--conversation", "portrait").returncode == 0
    done = run_cli("conversations", "show", "portrat")
    assert done.returncode == 3 and "did you mean 'portrait'?" in one_error_line(done.stderr)
