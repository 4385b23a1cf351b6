"""Run a real headless ComfyUI (CPU) for end-to-end tests of a node pack.

The install is made by `setup_comfyui.py` (same folder). A `ComfyServer` starts ComfyUI in a fresh
temp base dir and loads the pack in place from its checkout through an extra-model-paths file.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import requests

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]  # this checkout: the node pack under test
SETUP = HERE / "setup_comfyui.py"


@dataclass(frozen=True)
class ComfyEnv:
    """Paths of one installed ComfyUI (see setup_comfyui.py)."""

    home: Path
    version: str = "0.3.75"

    @property
    def python(self) -> Path:
        return self.home / "venv" / "bin" / "python"

    @property
    def comfyui_dir(self) -> Path:
        return self.home / "ComfyUI"

    @property
    def shim(self) -> Path:
        return self.home / "shim"

    @property
    def constraints(self) -> Path:
        return self.home / "constraints.txt"


def ensure_installed(home: Path | str | None = None, version: str = "0.3.75") -> ComfyEnv:
    """Run the (idempotent) installer and return the env; fast when already installed."""
    cmd = [sys.executable, str(SETUP), "--version", version]
    if home is not None:
        cmd += ["--dir", str(home)]
    done = subprocess.run(cmd)
    if done.returncode != 0:
        raise RuntimeError(f"installing ComfyUI {version} failed (see the output above)")
    if home is None:
        sys.path.insert(0, str(HERE))
        try:
            import setup_comfyui
        finally:
            sys.path.remove(str(HERE))
        home = setup_comfyui.default_home(version)
    return ComfyEnv(Path(home).resolve(), version)


def selected_versions() -> list[str]:
    """The ComfyUI versions to test: $APIEDIT_COMFYUI_VERSIONS (comma-separated), default all."""
    known = ("0.3.75", "0.33.0")
    raw = os.environ.get("APIEDIT_COMFYUI_VERSIONS", "")
    chosen = [v.strip() for v in raw.split(",") if v.strip()] or list(known)
    unknown = [v for v in chosen if v not in known]
    if unknown:
        raise ValueError(f"APIEDIT_COMFYUI_VERSIONS: unknown {unknown}; known: {', '.join(known)}")
    return chosen


# --- node-pack requirements, the way ComfyUI-Manager installs them -------------------------------

# prestartup_script.py: cm_global.pip_blacklist / pip_downgrade_blacklist
PIP_BLACKLIST = {"torch", "torchaudio", "torchsde", "torchvision"}
PIP_DOWNGRADE_BLACKLIST = ["torch", "torchaudio", "torchsde", "torchvision", "transformers",
                           "safetensors", "kornia"]


def _vtuple(v: str) -> tuple[int, int, int]:
    """Manager's `StrictVersion`: major.minor.patch as ints (missing parts = 0)."""
    nums = [int(re.sub(r"\D.*", "", p) or 0) for p in v.split(".")[:3]] + [0, 0, 0]
    return nums[0], nums[1], nums[2]


def _is_blacklisted(env: ComfyEnv, line: str) -> bool:
    """Copy of `is_blacklisted` (comfyui_manager/glob/manager_core.py)."""
    name = line.strip()
    m = re.search(r"([^<>!~=]+)([<>!~=]=?)([^ ]*)", name)
    if m:
        name = m.group(1)
    if name in PIP_BLACKLIST:
        return True
    if name in PIP_DOWNGRADE_BLACKLIST:
        installed = package_versions(env, [name]).get(name)
        if installed is None:
            return False
        if m is None:
            return True
        if m.group(2) in ("<=", "==", "<", "~=") and _vtuple(installed) >= _vtuple(m.group(3)):
            return True
    return False


def install_pack_requirements(env: ComfyEnv, pack_dir: Path | str, check: bool = True) -> list[str]:
    """Install `pack_dir/requirements.txt` like ComfyUI-Manager does; return the lines installed.

    Source read: `comfyui-manager` 4.3 wheel, `comfyui_manager/glob/manager_core.py`,
    `UnifiedManager.execute_install_script` (+ `try_install_script`, `is_blacklisted`,
    `ManagerFuncs.run_script`; `common/manager_util.py make_pip_cmd`; `prestartup_script.py`
    blacklists). What it does, and what is mimicked here:

    * one `python -m pip install <line>` per line, run with **cwd = the pack directory**
      (`run_script(install_cmd, cwd=repo_path)`, repo_path = custom_nodes/<pack>);
    * each line is `strip()`ped, skipped if empty or starting with `#`, an inline `# ...` comment
      is cut off; the rest is passed **as ONE argv element**, never split on spaces. So `./x` is
      a path relative to the pack dir, and `-e ./x` reaches pip as the single argument
      `"-e ./x"` (optparse reads it as `-e` with value `" ./x"`, also relative to the pack dir);
      a line with several options would not work as in a requirements file;
    * skips lines whose name (text before the first comparison operator, case-sensitive) is in
      the pip blacklist {torch, torchaudio, torchsde, torchvision}, and lines for
      transformers/safetensors/kornia that are already installed and would not upgrade;
    * not mimicked: `pip_overrides.json` remapping (empty by default), `--index-url` splitting
      (only in the legacy module-level `execute_install_script`), lazy/Windows deferral,
      the opt-in unified resolver, `install.py`, `PIPFixer.fix_broken()`.

    Verified consequence: `-e ./x` FAILS under Manager (pip: "ERROR:  ./x is not a valid
    editable requirement"), while `./x` installs (non-editable). Manager logs a failed line and goes on;
    so does this function, then raises `PackRequirementsError` if `check` and a line failed.
    Added here only: `-c <constraints>` pinning torch==2.13.0 on every call.
    """
    pack = Path(pack_dir).resolve()
    req = pack / "requirements.txt"
    done: list[str] = []
    failed: dict[str, str] = {}
    if not req.is_file():
        return done
    penv = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1")
    for raw in req.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.split("#")[0].strip()
        if not line or _is_blacklisted(env, line):
            continue
        r = subprocess.run([str(env.python), "-m", "pip", "install", line, "-c", str(env.constraints)],
                           cwd=pack, env=penv, capture_output=True, text=True)
        if r.returncode == 0:
            done.append(line)
        else:
            failed[line] = _redact(r.stdout + r.stderr)
    if check and failed:
        raise PackRequirementsError(done, failed)
    return done


class PackRequirementsError(RuntimeError):
    """Some requirement lines failed; `installed` lines, `failed` = {line: pip output tail}."""

    def __init__(self, installed: list[str], failed: dict[str, str]) -> None:
        super().__init__("pip failed for: " + "; ".join(
            f"{k!r}: {(v.strip().splitlines() or [''])[-1]}" for k, v in failed.items()))
        self.installed, self.failed = installed, failed


def _redact(text: str, n: int = 30) -> str:
    """Last `n` lines of pip output without local-index noise or URLs."""
    lines = [re.sub(r"https?://\S+", "<url>", ln) for ln in text.splitlines()
             if "is ignored: it is neither" not in ln]
    return "\n".join(lines[-n:])


def package_versions(env: ComfyEnv, names: list[str]) -> dict[str, str | None]:
    """Installed versions in the ComfyUI venv (None = not installed)."""
    code = ("import json,sys,importlib.metadata as m\n"
            "def v(n):\n    try: return m.version(n)\n    except m.PackageNotFoundError: return None\n"
            "print(json.dumps({n: v(n) for n in sys.argv[1:]}))")
    out = subprocess.run([str(env.python), "-c", code, *names], check=True, capture_output=True,
                         text=True).stdout
    versions: dict[str, str | None] = json.loads(out)
    return versions


# --- the server ----------------------------------------------------------------------------------

def model_choices(node_info: dict[str, Any]) -> tuple[list[str], str]:
    """The node's model ids and its default, from /object_info: a COMBO on 0.3.75, a
    DynamicCombo on 0.33 (options are {key, inputs}; the first is the default). The adaptive
    catch-all option for a typed model id is left out."""
    kind, spec = node_info["input"]["required"]["model"]
    if kind == "COMFY_DYNAMICCOMBO_V3":
        ids = [o["key"] for o in spec["options"] if not o["key"].startswith("(any model")]
        return ids, spec["options"][0]["key"]
    return list(spec["options"]), spec["default"]


class PromptError(RuntimeError):
    """POST /prompt answered 400; `body` is the JSON answer, `node_errors` its node errors."""

    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__(json.dumps(body)[:2000])
        self.body = body
        self.node_errors: dict[str, Any] = body.get("node_errors", {})


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ComfyServer:
    """A ComfyUI process with `pack_dir` loaded, in a fresh temp dir; also a small HTTP client.

    Use as a context manager. `restart()` keeps the base and user dirs (state on disk survives).
    """

    def __init__(self, env: ComfyEnv, pack_dir: Path | str, extra_env: dict[str, str] | None = None,
                 port: int | None = None, disable_metadata: bool = False,
                 user_dir: Path | str | None = None, timeout: float = 240.0,
                 pack_name: str | None = None, extra_args: list[str] | None = None) -> None:
        self.env = env
        self.extra_args = list(extra_args or [])
        self.pack_dir = Path(pack_dir).resolve()
        self.extra_env = dict(extra_env or {})
        self.port = port or free_port()
        self.disable_metadata = disable_metadata
        self.timeout = timeout
        self.tmp = Path(tempfile.mkdtemp(prefix="comfy-e2e-"))
        self.base = self.tmp / "base"
        (self.base / "custom_nodes").mkdir(parents=True)
        self.user_dir = Path(user_dir).resolve() if user_dir else None
        packs = self.tmp / "packs"
        packs.mkdir()
        # the symlink name becomes the pack's module name (/extensions/<name>/ for WEB_DIRECTORY)
        (packs / (pack_name or self.pack_dir.name)).symlink_to(self.pack_dir, target_is_directory=True)
        self.extra_paths = self.tmp / "extra_paths.yaml"
        self.extra_paths.write_text(f"e2e:\n  base_path: {json.dumps(str(packs))}\n"
                                    "  custom_nodes: .\n")
        self.log_path = self.tmp / "comfyui.log"
        self.url = f"http://127.0.0.1:{self.port}"
        self.client_id = uuid.uuid4().hex
        self.proc: subprocess.Popen[bytes] | None = None
        self.startup_seconds = 0.0

    # lifecycle
    def start(self) -> ComfyServer:
        """Start ComfyUI and wait for GET /system_stats == 200."""
        cmd = [str(self.env.python), "main.py", "--cpu", "--listen", "127.0.0.1",
               "--port", str(self.port), "--base-directory", str(self.base),
               "--extra-model-paths-config", str(self.extra_paths),
               "--database-url", "sqlite:///:memory:"]
        if self.disable_metadata:
            cmd.append("--disable-metadata")
        if self.user_dir:
            cmd += ["--user-directory", str(self.user_dir)]
        cmd += self.extra_args
        penv = dict(os.environ, PYTHONUNBUFFERED="1", **self.extra_env)
        penv["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(self.env.shim), self.extra_env.get("PYTHONPATH", "")) if p)
        t0 = time.monotonic()
        with self.log_path.open("ab") as log:
            log.write(f"\n=== start: {' '.join(cmd)}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(cmd, cwd=self.env.comfyui_dir, env=penv, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ComfyUI exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if requests.get(self.url + "/system_stats", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() - t0 > self.timeout:
                self.stop()
                raise TimeoutError(f"ComfyUI not up after {self.timeout}s:\n{self.log_tail()}")
            time.sleep(0.25)
        self.startup_seconds = time.monotonic() - t0
        return self

    def stop(self) -> None:
        """Terminate the server's process group (SIGTERM, then SIGKILL after 10 s)."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                proc.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def restart(self) -> ComfyServer:
        """Stop and start again with the same base/user dirs and port."""
        self.stop()
        return self.start()

    def cleanup(self) -> None:
        """Stop and delete the temp dir (the pack symlink is removed, not followed)."""
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> ComfyServer:
        try:
            return self.start()
        except BaseException:
            self.cleanup()
            raise

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.cleanup()

    def log_text(self) -> str:
        """The whole server log (all starts)."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, n: int = 60) -> str:
        """The last `n` log lines."""
        return "\n".join(self.log_text().splitlines()[-n:])

    # client
    def _get(self, path: str, **params: str) -> requests.Response:
        r = requests.get(self.url + path, params=params or None, timeout=30)
        r.raise_for_status()
        return r

    def system_stats(self) -> dict[str, Any]:
        """GET /system_stats (carries the running ComfyUI's version)."""
        stats: dict[str, Any] = self._get("/system_stats").json()
        return stats

    def object_info(self, node: str | None = None) -> dict[str, Any]:
        """GET /object_info or /object_info/{node}."""
        info: dict[str, Any] = self._get("/object_info" + (f"/{node}" if node else "")).json()
        return info

    def upload_image(self, png_bytes: bytes, name: str) -> dict[str, Any]:
        """POST /upload/image (overwrite) → {"name", "subfolder", "type"}."""
        r = requests.post(self.url + "/upload/image", files={"image": (name, png_bytes, "image/png")},
                          data={"overwrite": "true"}, timeout=30)
        r.raise_for_status()
        uploaded: dict[str, Any] = r.json()
        return uploaded

    def queue(self, prompt: dict[str, Any], extra_data: dict[str, Any] | None = None) -> str:
        """POST /prompt → prompt_id; raises PromptError (with node_errors) on HTTP 400."""
        body: dict[str, Any] = {"prompt": prompt, "client_id": self.client_id}
        if extra_data:
            body["extra_data"] = extra_data
        r = requests.post(self.url + "/prompt", json=body, timeout=30)
        if r.status_code == 400:
            raise PromptError(r.json())
        r.raise_for_status()
        return str(r.json()["prompt_id"])

    def run_texts(self, prompt: dict[str, Any]) -> list[tuple[str, str]]:
        """Queue `prompt` and return the progress texts ComfyUI sent for it (node id, text) on
        its websocket (binary message type 3), until the run ends."""
        import struct

        import websocket

        ws = websocket.create_connection(f"ws://127.0.0.1:{self.port}/ws?clientId={self.client_id}",
                                         timeout=30)
        texts = []
        try:
            prompt_id = self.queue(prompt)
            while True:
                message = ws.recv()
                if isinstance(message, bytes) and struct.unpack(">I", message[:4])[0] == 3:  # TEXT
                    length = struct.unpack(">I", message[4:8])[0]
                    texts.append((message[8:8 + length].decode(), message[8 + length:].decode()))
                elif isinstance(message, str):
                    event = json.loads(message)
                    if event["type"] == "executing" and event["data"].get("node") is None \
                            and event["data"].get("prompt_id") == prompt_id:
                        break
        finally:
            ws.close()
        return texts

    def history(self, prompt_id: str | None = None) -> dict[str, Any]:
        """GET /history or /history/{prompt_id}."""
        hist: dict[str, Any] = self._get("/history" + (f"/{prompt_id}" if prompt_id else "")).json()
        return hist

    def wait(self, prompt_id: str, timeout: float = 60.0) -> dict[str, Any]:
        """Poll /history/{id} until completed or status_str == "error"; return the entry."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            entry = self.history(prompt_id).get(prompt_id)
            status = (entry or {}).get("status") or {}
            if status.get("completed") or status.get("status_str") == "error":
                return entry  # type: ignore[return-value]
            time.sleep(0.1)
        raise TimeoutError(f"prompt {prompt_id} not done after {timeout}s:\n{self.log_tail()}")

    def view(self, filename: str, subfolder: str = "", type: str = "output") -> bytes:
        """GET /view → file bytes."""
        return self._get("/view", filename=filename, subfolder=subfolder, type=type).content

    def interrupt(self, prompt_id: str | None = None) -> None:
        """POST /interrupt (optionally only for `prompt_id`)."""
        r = requests.post(self.url + "/interrupt", json={"prompt_id": prompt_id} if prompt_id else {},
                          timeout=30)
        r.raise_for_status()


def provider_env(emulators: dict[str, Any], key: str) -> dict[str, str]:
    """Environment that points the providers at the emulators, with `key` as their key."""
    return {
        "OPENAI_API_KEY": key,
        "APIEDIT_OPENAI_BASE_URL": emulators["openai"].base_url,
        "MODELSCOPE_API_KEY": key,
        "APIEDIT_MODELSCOPE_BASE_URL": emulators["modelscope"].base_url,
    }
