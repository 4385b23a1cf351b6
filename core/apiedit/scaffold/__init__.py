"""`apiedit new-plugin NAME [--async]`: write a working provider distribution from templates.

The templates (package data in `scaffold/templates/`: `common/` for both kinds, `sync/` for a
one-request API, `async/` for a submit/poll job API on `apiedit.protocols.async_tasks`) use
`string.Template` placeholders. The result installs as it is, lists in `apiedit plugins`,
runs under `apiedit emulate NAME`, and passes core's conformance suite (its own tests).
"""

from __future__ import annotations

import datetime
import re
import string
from importlib import resources
from pathlib import Path

from ..errors import InvalidInputError

__all__ = ["NAME_RULE", "generate"]

NAME_RULE = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
_MAX_NAME = 32


def check_name(name: str) -> str:
    """The provider id, or an InvalidInputError saying what a valid one looks like."""
    if not NAME_RULE.fullmatch(name) or len(name) > _MAX_NAME or name.startswith("apiedit"):
        raise InvalidInputError(
            f"{name!r} is not a usable plugin name: use lower-case letters and digits, words "
            f"joined by '-', starting with a letter, at most {_MAX_NAME} characters, not "
            "starting with 'apiedit' (for example: acme, acme-images).")
    return name


def _values(name: str, is_async: bool) -> dict[str, str]:
    words = name.split("-")
    return {
        "name": name,
        "pkg": "apiedit_" + "_".join(words),
        "dist": f"apiedit-{name}",
        "cls": "".join(w.capitalize() for w in words),
        "label": " ".join(w.capitalize() for w in words),
        "ENV": "_".join(words).upper(),
        "year": str(datetime.date.today().year),
        "async_flag": " --async" if is_async else "",
        "wire_text": ("one paid submit, polls until the job ends, output URLs downloaded safely"
                      if is_async
                      else "one paid request, the model list, the error envelope"),
    }


def generate(name: str, target: Path, *, is_async: bool = False) -> list[Path]:
    """Write the distribution into `target` (created; must not exist or be empty)."""
    check_name(name)
    target = Path(target)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InvalidInputError(
            f"{target} already exists and is not empty; choose another --dir or remove it.")
    values = _values(name, is_async)
    root = resources.files(__package__) / "templates"
    written: list[Path] = []
    for part in ("common", "async" if is_async else "sync"):
        written += _copy(root / part, target, values, pkg_dir=part != "common")
    return written


def _copy(folder, target: Path, values: dict[str, str], *, pkg_dir: bool) -> list[Path]:
    """Render every `*.tmpl` under `folder`; `pkg/` (and a kind's files) go into the package."""
    out: list[Path] = []
    for item in sorted(folder.iterdir(), key=lambda p: p.name):
        if item.is_dir():
            sub = values["pkg"] if item.name == "pkg" else item.name
            out += _copy(item, target / sub, values, pkg_dir=False)
            continue
        if not item.name.endswith(".tmpl"):
            continue
        dest = (target / values["pkg"] if pkg_dir else target) / item.name[: -len(".tmpl")]
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(string.Template(item.read_text(encoding="utf-8")).substitute(values),
                        encoding="utf-8")
        out.append(dest)
    return out
