"""`apiedit emulate PROVIDER`: a provider's loopback emulator in the foreground.

For users trying the command line without a key, plugin authors and the docs: the base URL it
prints goes to `--base-url` (or `APIEDIT_<PROVIDER>_BASE_URL`); nothing is billed.
"""

from __future__ import annotations

import signal
import sys
import threading
from importlib.metadata import entry_points
from typing import Any

from ..errors import InvalidInputError, UnknownProviderError
from ..host import PLUGIN_LIST_HINT, did_you_mean

__all__ = ["EMULATOR_GROUP", "emulator_class", "module_main", "run_emulator"]

EMULATOR_GROUP = "apiedit.emulators"


def emulator_class(provider: str) -> Any:
    """The emulator class a plugin registers under `apiedit.emulators`, by provider id."""
    found = {ep.name: ep for ep in entry_points(group=EMULATOR_GROUP)}
    if provider not in found:
        raise UnknownProviderError(
            f"No installed plugin ships an emulator for {provider!r}"
            f"{did_you_mean(provider, found)} (emulators: {', '.join(sorted(found)) or 'none'}).",
            hint=PLUGIN_LIST_HINT, hint_id="unknown_provider", provider=provider,
        )
    return found[provider].load()


def configure(emulator: Any, *, delay: float = 0.0, fault: str | None = None) -> None:
    """Apply `--fault` (to every paid POST) and `--delay` (to every request), forever."""
    from ..testing.emulator import ERROR_KINDS, Fault

    if delay < 0:
        raise InvalidInputError(f"--delay must be 0 or more seconds, not {delay}.")
    if fault is not None:
        if fault not in ERROR_KINDS:
            raise InvalidInputError(
                f"Unknown --fault {fault!r}{did_you_mean(fault, ERROR_KINDS)}; choose one of "
                f"{', '.join(ERROR_KINDS)}."
            )
        emulator.inject(emulator.fault_for(fault, method="POST", times=0, delay=delay))
    if delay:
        emulator.inject(Fault(times=0, delay=delay))


def run_emulator(provider: str, *, port: int = 0, delay: float = 0.0, fault: str | None = None) -> int:
    """Serve until Ctrl-C or SIGTERM, after printing the base URL on the first stdout line."""
    cls = emulator_class(provider)
    if not 0 <= port <= 65535:
        raise InvalidInputError(f"--port must be between 0 and 65535, not {port}.")
    emulator = cls(port=port).present()
    configure(emulator, delay=delay, fault=fault)
    # Before the URL is printed: whoever read it may stop us at once.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        _start(emulator, port)
        _announce(provider, cls, emulator, delay, fault)
        while True:
            threading.Event().wait(3600)
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
        signal.signal(signal.SIGTERM, previous)
    print(f"stopped ({emulator.billable_count} billable request(s) served)", file=sys.stderr)
    return 0


def _start(emulator: Any, port: int) -> None:
    try:
        emulator.start()
    except OSError as exc:
        raise InvalidInputError(
            f"Cannot listen on 127.0.0.1:{port} ({exc.strerror}). Pass another --port, or 0 for "
            "any free one."
        ) from None


def _announce(provider: str, cls: Any, emulator: Any, delay: float, fault: str | None) -> None:
    """The base URL alone on stdout's first line (for scripts), then how to use it on stderr."""
    from ..host import default_host

    info = default_host().providers().get(provider)
    key_var = info.key_env_vars[0] if info and info.key_env_vars else "the key variable"
    model = getattr(cls, "demo_models", {}).get("generate", "MODEL")
    print(emulator.base_url, flush=True)
    extra = ", ".join(x for x in (f"delay {delay:g} s" if delay else "",
                                  f"fault {fault}" if fault else "") if x)
    print(
        f"{provider} emulator on {emulator.base_url} ({extra or 'no faults'}): local only, any "
        f"key works, nothing is billed. Try:\n"
        f"  {key_var}=any apiedit edit {provider} --base-url {emulator.base_url} "
        f"-m {model} -p \"a red fox in snow\"\nCtrl-C stops it.",
        file=sys.stderr, flush=True,
    )


def _interrupt(_signum: int, _frame: Any) -> None:
    """SIGTERM stops the emulator as Ctrl-C does (service managers, test harnesses)."""
    raise KeyboardInterrupt


def module_main(provider: str) -> None:
    """`python -m apiedit_<provider>.emulator [--port N ...]` is `apiedit emulate <provider>`."""
    from ..cli import main

    raise SystemExit(main(["emulate", provider, *sys.argv[1:]]))
