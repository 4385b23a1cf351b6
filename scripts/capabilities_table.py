"""The providers x capabilities table of README.md and README.zh-CN.md, generated from the
installed plugins' model tables (offline: no key, no network), so it cannot drift by hand.

    python scripts/capabilities_table.py          # print the English table
    python scripts/capabilities_table.py --write  # rewrite it in both READMEs
    python scripts/capabilities_table.py --check  # exit 1 when a README is out of date

The table sits between `<!-- capabilities:start -->` and `<!-- capabilities:end -->`.
A model's shutdown date (when the provider announced one) is a column, not a filter, so the
table does not change by itself when a date passes.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
START, END = "<!-- capabilities:start -->", "<!-- capabilities:end -->"
READMES = {"en": REPO / "README.md", "zh": REPO / "README.zh-CN.md"}
HEADERS = {
    "en": ["provider", "model", "text-to-image", "edit", "max inputs", "conversation", "mask",
           "seed", "sizes / ratios", "n", "shuts down"],
    "zh": ["服务商", "模型", "文生图", "编辑", "最多输入图", "多轮对话", "蒙版", "种子",
           "尺寸 / 比例", "n", "停用日期"],
}
WORDS = {
    "en": {"yes": "yes", "no": "—", "native": "native", "last": "last image", "any": "any"},
    "zh": {"yes": "✓", "no": "—", "native": "原生", "last": "沿用上一张图", "any": "任意"},
}
MAX_LISTED = 6


def _limits(model: object, words: dict[str, str]) -> str:
    sizes = list(getattr(model, "sizes", ()))
    ratios = list(getattr(model, "aspect_ratios", ()))
    resolutions = list(getattr(model, "resolutions", ()))
    parts = []
    for values in (sizes, ratios, resolutions):
        if values:
            shown = ", ".join(values[:MAX_LISTED]) + (", …" if len(values) > MAX_LISTED else "")
            parts.append(shown)
    return "; ".join(parts) or words["any"]


def render(lang: str = "en") -> str:
    """The markdown table for every installed provider's listed, not retired models."""
    from apiedit.host import Host
    from apiedit.types import Capability

    words = WORDS[lang]
    yes = lambda flag: words["yes"] if flag else words["no"]  # noqa: E731
    host = Host()
    rows = ["| " + " | ".join(HEADERS[lang]) + " |", "|" + "---|" * len(HEADERS[lang])]
    for pid, info in sorted(host.providers().items()):
        if host.records() and any(r.name == pid and (r.distribution or "").startswith("apiedit-example")
                                  for r in host.records()):
            continue  # the example plugin of examples/ is not a provider users pick
        for model in host.list_models(pid):
            if model.retired:
                continue
            caps = model.capabilities
            rows.append("| " + " | ".join([
                info.label,
                f"`{model.id}`",
                yes(Capability.GENERATE in caps),
                yes(Capability.EDIT in caps),
                str(model.max_input_images),
                words["native"] if Capability.CONVERSATION in caps else words["last"],
                yes(Capability.MASK in caps),
                yes(Capability.SEED in caps),
                _limits(model, words),
                str(model.max_n),
                getattr(model, "shutdown_on", None) or words["no"],
            ]) + " |")
    return "\n".join(rows)


def _offline() -> None:
    """No key and a throw-away cache: the table comes from the curated tables alone."""
    for name in list(os.environ):
        if name.endswith(("_API_KEY", "_BASE_URL")):
            del os.environ[name]
    scratch = tempfile.mkdtemp(prefix="apiedit-table-")
    for kind in ("CONFIG", "CACHE", "DATA"):
        os.environ[f"APIEDIT_{kind}_DIR"] = os.path.join(scratch, kind.lower())


def replaced(text: str, table: str) -> str:
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise SystemExit(f"no {START} ... {END} block found")
    return pattern.sub(lambda _m: f"{START}\n{table}\n{END}", text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", action="store_true", help="rewrite the tables in both READMEs")
    group.add_argument("--check", action="store_true", help="exit 1 when a README is out of date")
    args = parser.parse_args(argv)
    _offline()
    if not (args.write or args.check):
        print(render("en"))
        return 0
    stale = []
    for lang, path in READMES.items():
        if not path.exists():
            stale.append(f"{path.name} (missing)")
            continue
        text = path.read_text(encoding="utf-8")
        fresh = replaced(text, render(lang))
        if fresh != text:
            stale.append(path.name)
            if args.write:
                path.write_text(fresh, encoding="utf-8")
    if args.check and stale:
        print(f"out of date: {', '.join(stale)}; run python scripts/capabilities_table.py --write",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
