"""What a person at a terminal sees: the spinner, Ctrl-C, `apiedit emulate` and `apiedit chat`."""

from __future__ import annotations

import _thread
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pexpect
import pytest

from apiedit.console.running import CancelledByUser, run_cancellable
from apiedit.testing.emulator import Emulator, Fault

from .conftest import APIEDIT, MODEL, one_error_line, png


def wait_for(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_ctrl_c_after_the_request_went_out_says_it_may_have_been_billed(
    cli_env, edit_args, openai_emulator: Emulator, apiedit_home: Path,
) -> None:
    openai_emulator.inject(Fault(method="POST", delay=30, times=0))
    proc = subprocess.Popen([*APIEDIT, *edit_args, "-p", "a slow fox"], env=cli_env,
                            cwd=apiedit_home, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: openai_emulator.requests_to("/images", "POST"))
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert time.monotonic() - started < 5  # does not wait for the slow provider
    assert proc.returncode == 130 and out == ""
    assert "may have been billed" in one_error_line(err)


def test_ctrl_c_before_anything_was_sent_says_nothing_was_billed() -> None:
    def call(cancel, progress):
        _thread.interrupt_main()  # Ctrl-C while the request is still being prepared
        cancel.wait(5)
        return "never used"

    with pytest.raises(CancelledByUser, match="nothing was billed") as caught:
        run_cancellable("Acme", call)
    assert caught.value.billable_sent is False


def test_the_spinner_shows_elapsed_time_and_the_phase_on_a_terminal(
    cli_env, edit_args, openai_emulator: Emulator, apiedit_home: Path,
) -> None:
    openai_emulator.inject(Fault(method="POST", delay=1.5))
    child = pexpect.spawn(sys.executable, ["-m", "apiedit", *edit_args, "-p", "a fox"],
                          env=cli_env, cwd=str(apiedit_home), encoding="utf-8", timeout=30)
    child.expect(r"\d+\.\ds  OpenAI: generating with gpt-image-1\.5")
    child.expect(re.escape(str(apiedit_home / "out" / "apiedit-1.png")))
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def start_emulate(cli_env, *args: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([*APIEDIT, "emulate", "openai", *args], env=cli_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = proc.stdout.readline().strip()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url), url
    return proc, url


def test_emulate_prints_a_base_url_that_the_cli_can_use(run_cli, cli_env, apiedit_home) -> None:
    proc, url = start_emulate(cli_env, "--port", "0")
    try:
        done = run_cli("edit", "openai", "--base-url", url, "-m", MODEL, "-p", "a fox", "-o", "out")
        assert done.returncode == 0 and (apiedit_home / "out" / "apiedit-1.png").exists()
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert "--base-url " + url in err and "1 billable request(s) served" in err


def test_emulate_injects_the_fault_asked_for(run_cli, cli_env) -> None:
    proc, url = start_emulate(cli_env, "--fault", "quota", "--delay", "0.2")
    try:
        started = time.monotonic()
        done = run_cli("edit", "openai", "--base-url", url, "-m", MODEL, "-p", "a fox")
        assert time.monotonic() - started >= 0.2
    finally:
        proc.terminate()
        proc.communicate(timeout=20)
    assert done.returncode == 5
    assert "quota" in one_error_line(done.stderr).lower()


def test_emulate_refuses_an_unknown_fault_with_a_suggestion(run_cli) -> None:
    done = run_cli("emulate", "openai", "--fault", "quot")
    assert done.returncode == 3 and "did you mean 'quota'?" in one_error_line(done.stderr)


def test_chat_runs_turns_and_slash_commands_in_a_terminal(
    cli_env, openai_emulator: Emulator, apiedit_home: Path,
) -> None:
    (apiedit_home / "me.png").write_bytes(png((190, 150, 120)))
    child = pexpect.spawn(
        sys.executable,
        ["-m", "apiedit", "chat", "openai", "-m", MODEL, "--base-url", openai_emulator.base_url,
         "--conversation", "portrait", "-o", "out"],
        env=cli_env, cwd=str(apiedit_home), encoding="utf-8", timeout=30,
    )
    prompt = "you> "
    child.expect("0 turn\\(s\\) so far")
    child.expect(prompt)
    child.sendline("/image me.png")
    child.expect("attached me.png")
    child.expect(prompt)
    child.sendline("make me smile")
    child.expect(r"turn 1: make me smile → out/portrait-turn1-1\.png")
    child.expect(prompt)
    child.sendline("add a flower")
    child.expect(r"turn 2: add a flower → out/portrait-turn2-1\.png")
    child.expect(prompt)
    child.sendline("/history")
    child.expect(r"turn 1: \[openai/gpt-image-1\.5\] make me smile \(1 in, 1 out\)")
    child.expect(r"turn 2: \[openai/gpt-image-1\.5\] add a flower \(1 in, 1 out\)")
    child.expect(prompt)
    child.sendline("/undo")
    child.expect("undid turn 2: now in conversation 'portrait-2'")
    child.expect(prompt)
    child.sendline("put me on a beach")
    child.expect(r"turn 2: put me on a beach → out/portrait-2-turn2-1\.png")
    child.expect(prompt)
    child.sendline("/image nosuch.png")
    child.expect("error: /image 'nosuch.png': no such file")
    child.expect(prompt)
    child.sendline("/reset")
    child.expect("reset: the next turn is turn 1")
    child.expect(prompt)
    child.sendline("/quit")
    child.expect("bye")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    # Turn 3 of the undone branch was built on turn 1's answer, not on the undone turn 2.
    posts = openai_emulator.requests_to("/images", "POST")
    assert len(posts) == 3
    assert (apiedit_home / "out" / "portrait-turn1-1.png").read_bytes() in posts[2].body


def test_the_emulator_module_runs_as_a_script(cli_env) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "apiedit_openai.emulator", "--port", "0"],
                            env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", proc.stdout.readline().strip())
    finally:
        proc.terminate()
        proc.communicate(timeout=20)
    assert proc.returncode == 0


def test_emulate_on_a_busy_port_says_to_pick_another(run_cli, openai_emulator: Emulator) -> None:
    done = run_cli("emulate", "openai", "--port", str(openai_emulator.port))
    assert done.returncode == 3 and "Pass another --port" in one_error_line(done.stderr)


def test_ctrl_c_in_chat_cancels_the_turn_and_keeps_the_loop(
    cli_env, openai_emulator: Emulator, apiedit_home: Path,
) -> None:
    openai_emulator.inject(Fault(method="POST", delay=3))
    child = pexpect.spawn(
        sys.executable,
        ["-m", "apiedit", "chat", "openai", "-m", MODEL, "--base-url", openai_emulator.base_url,
         "--conversation", "slow", "-o", "out"],
        env=cli_env, cwd=str(apiedit_home), encoding="utf-8", timeout=30,
    )
    child.expect("you> ")
    child.sendline("a slow cat")
    wait_for(lambda: openai_emulator.requests_to("/images", "POST"))
    child.sendintr()
    child.expect("cancelled: Cancelled. The request had already been sent to OpenAI, so it may "
                 "have been billed")
    child.expect("you> ")
    time.sleep(3.5)  # the abandoned answer arrives meanwhile: it must not become a turn
    child.sendline("/history")
    child.expect("no turns yet")
    child.sendline("a quick cat")
    child.expect(r"turn 1: a quick cat → out/slow-turn1-1\.png")
    child.sendline("/quit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
