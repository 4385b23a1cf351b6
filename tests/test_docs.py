"""The README pair stays complete and true: both languages, the generated table, local links."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import apiedit.errors

REPO = Path(__file__).resolve().parent.parent
EN, ZH = REPO / "README.md", REPO / "README.zh-CN.md"


def text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_each_readme_links_the_other_at_the_top() -> None:
    assert "[简体中文](README.zh-CN.md)" in "\n".join(text(EN).splitlines()[:5])
    assert "[English](README.md)" in "\n".join(text(ZH).splitlines()[:5])


def test_the_capabilities_tables_are_generated_and_current() -> None:
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "capabilities_table.py"), "--check"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for path in (EN, ZH):
        block = text(path).split("<!-- capabilities:start -->")[1].split("<!-- capabilities:end -->")[0]
        assert block.count("\n| ") > 10, f"{path.name}: the table is empty"


def test_the_chinese_readme_has_every_section_command_and_error() -> None:
    en, zh = text(EN), text(ZH)
    assert len(re.findall(r"^## ", en, re.M)) == len(re.findall(r"^## ", zh, re.M))
    commands = set(re.findall(r"`apiedit ([a-z-]+)", en))
    assert commands and commands <= set(re.findall(r"`apiedit ([a-z-]+)", zh)), commands
    errors = {name for name in apiedit.errors.__all__ if name in en}
    assert errors and {name for name in errors if name not in zh} == set()
    en_blocks = re.findall(r"```python\n(.*?)```", en, re.S)
    assert en_blocks == re.findall(r"```python\n(.*?)```", zh, re.S)  # the code is the same code


def test_local_links_point_at_files_in_the_repository() -> None:
    for path in (EN, ZH, *REPO.glob("docs/*.md"), *REPO.glob("plugins/*/README.md")):
        for target in re.findall(r"\]\(([^)#]+)", text(path)):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            assert (path.parent / target).exists(), f"{path.relative_to(REPO)} links to missing {target}"
