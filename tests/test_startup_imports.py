"""ComfyUI start-up stays light: building the node's schema data imports no wire module,
no HTTP stack, no image library and no provider SDK (issue 14, target 3).

Each check runs in a fresh interpreter, as ComfyUI does at start: `import apiedit_comfy`, then
the provider and model lists the schema is built from, and the price badge's table (0.33's
schema embeds it; OpenAI's prices depend on its size rule). The plugins answer from their
tables or the stored list; only a refresh or a call needs the wire code.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from apiedit.testing.pytest_plugin import SENTINEL_KEY

# Modules the schema data must not need: wire code, the HTTP stack, Pillow, SDKs, torch.
HEAVY = ("requests", "urllib3", "tenacity", "PIL", "numpy", "torch", "google.genai", "openai",
         "httpx", "apiedit.http", "apiedit.images", "apiedit.download")

_SCHEMA = """
import json, sys
import apiedit_comfy
from apiedit_comfy import catalog
providers = catalog.provider_ids()
ids = catalog.all_model_ids()
per_provider = {p: catalog.usable_model_ids(p) for p in providers}
from apiedit_comfy import price_badge
options = {"size": ["provider default", "1024x1024", "1536x1024", "auto"],
           "aspect_ratio": ["provider default", "1:1", "16:9"], "resolution": ["provider default", "1K"]}
prices = price_badge.price_table(per_provider, options)
plugin_wire = (".wire", ".transport", ".client", ".generate", ".images_api")
loaded = sorted(m for m in sys.modules
                if (m.endswith(plugin_wire) and not m.startswith("apiedit."))
                or any(m == h or m.startswith(h + ".") for h in HEAVY))
print(json.dumps({"providers": providers, "ids": ids, "per_provider": per_provider,
                  "prices": prices, "loaded": loaded}))
"""


# Imported only when needed: platformdirs when an APIEDIT_*_DIR is unset (ComfyUI sets all
# three), the providers.toml reader and its TOML parser when that file exists, difflib when a
# name was mistyped.
ON_DEMAND = ("platformdirs", "tomllib", "difflib", "apiedit.providers_file")


def _schema_data(env: dict[str, str], heavy: tuple[str, ...] = HEAVY) -> dict[str, object]:
    code = f"HEAVY = {heavy!r}\n" + _SCHEMA
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APIEDIT_")}
    env.update(APIEDIT_CONFIG_DIR=str(home / "config"), APIEDIT_CACHE_DIR=str(home / "cache"),
               APIEDIT_DATA_DIR=str(home / "data"), **extra)
    return env


def test_schema_data_from_the_tables_imports_no_wire_module_or_http_stack(tmp_path: Path) -> None:
    data = _schema_data(_env(tmp_path))
    assert {"gemini", "openai", "openrouter", "pixelwords", "modelscope"} <= set(data["providers"])
    for provider in ("gemini", "openai", "openrouter", "pixelwords", "modelscope"):
        assert data["per_provider"][provider], f"{provider} listed no model"  # type: ignore[index]
    assert set(data["per_provider"]["openai"]) <= set(data["ids"])  # type: ignore[index]
    # the badge applied OpenAI's own size rule (no size: no figure; 1024x1024: low-high quality)
    gpt = data["prices"]["openai"]["gpt-image-1.5"]  # type: ignore[index]
    assert gpt["d"][0] == "size"
    assert gpt["p"]["1024x1024|provider default"] == [0.009, 0.133, "USD"]
    assert data["loaded"] == []


def test_a_stored_model_list_is_read_without_the_wire_module(
    tmp_path: Path, emulator_factory: object,
) -> None:
    """After a refresh stored the provider's live list, start-up shows it (a live-only model
    included) still without importing the wire module: the refresh imported it, start-up not."""
    from apiedit_openrouter.emulator import OpenRouterEmulator

    emulator = emulator_factory(OpenRouterEmulator)  # type: ignore[operator]
    live_only = "example/live-only-image"
    emulator.models = [*emulator.models, {**emulator.models[0], "id": live_only,
                                          "canonical_slug": live_only, "name": "Live only"}]
    env = _env(tmp_path, APIEDIT_OPENROUTER_BASE_URL=emulator.base_url,
               OPENROUTER_API_KEY=SENTINEL_KEY)
    refresh = ("import apiedit; ids = [m.id for m in apiedit.list_models('openrouter', "
               "refresh=True)]; print(ids)")
    out = subprocess.run([sys.executable, "-c", refresh], env=env, capture_output=True,
                         text=True, check=True)
    assert live_only in out.stdout and SENTINEL_KEY not in out.stdout + out.stderr

    data = _schema_data(env)
    assert live_only in data["per_provider"]["openrouter"]  # type: ignore[index]
    assert data["loaded"] == []


@pytest.mark.parametrize("provider", ["gemini", "openai", "openrouter", "pixelwords", "modelscope"])
def test_a_refresh_still_reaches_the_wire_code(provider: str, tmp_path: Path) -> None:
    """The lazy import is still wired up: a refresh with no key fails with the plugin's typed
    error (it reached the wire code), not an ImportError or a NameError."""
    code = (
        "import apiedit, sys\n"
        "try:\n"
        f"    apiedit.list_models({provider!r}, refresh=True)\n"
        "except apiedit.ApiEditError as exc:\n"
        "    print('typed', type(exc).__name__)\n"
    )
    env = _env(tmp_path, **{f"APIEDIT_{provider.upper()}_BASE_URL": "http://127.0.0.1:9"})
    for var in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "OPENAI_API_KEY", "OPENROUTER_API_KEY",
                "PIXELWORDS_API_KEY", "MODELSCOPE_API_KEY", "MODELSCOPE_SDK_TOKEN"):
        env.pop(var, None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("typed "), out.stdout + out.stderr[-2000:]


def test_what_start_up_may_need_is_imported_only_when_needed(tmp_path: Path) -> None:
    env = _env(tmp_path)
    data = _schema_data(env, ON_DEMAND)
    assert data["loaded"] == []
    # with a providers.toml its reader is imported, and the declared relay is listed
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "providers.toml").write_text(
        '[providers.acme-relay]\nprotocol = "openai-images"\nlabel = "Acme relay"\n'
        'base_url = "https://relay.example.com/v1"\nkey_env = "ACME_RELAY_KEY"\n'
        'models = ["gpt-image-1"]\n', encoding="utf-8")
    data = _schema_data(env, ON_DEMAND)
    assert "acme-relay" in data["providers"]  # type: ignore[operator]
    assert {"apiedit.providers_file", "tomllib"} <= set(data["loaded"])  # type: ignore[arg-type]


# A later ComfyUI start: the nodes' schema data comes from the cache folder (`schema_data`).
_STORED_START = """
import json, sys
import apiedit_comfy
from apiedit_comfy import schema_data
data = schema_data.current()
plugins = sorted({m.split(".")[0] for m in sys.modules if m.startswith("apiedit_")} - {"apiedit_comfy"})
core = sorted(m for m in ("apiedit.host", "apiedit.types", "apiedit.pricing", "pluggy", "attrs") if m in sys.modules)
print(json.dumps({"data": data.to_json(), "plugins": plugins, "core": core}))
"""


def test_a_later_start_builds_the_schema_data_without_core_or_any_plugin(tmp_path: Path) -> None:
    """The first start computes and stores it (loading the plugins); the next one reads it and
    imports no plugin, neither core's host nor its record types, pluggy or attrs (target 3)."""
    env = _env(tmp_path)

    def start() -> dict[str, object]:
        out = subprocess.run([sys.executable, "-c", _STORED_START], env=env, capture_output=True,
                             text=True, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])

    first = start()
    assert {"apiedit_openai", "apiedit_gemini"} <= set(first["plugins"])  # type: ignore[arg-type]
    later = start()
    assert later["data"] == first["data"]
    assert later["plugins"] == [] and later["core"] == []
