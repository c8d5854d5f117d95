"""Documentation that is generated from code stays in sync with it."""

from __future__ import annotations

import re

from workbench._paths import PROJECT_ROOT
from workbench.intake import contracts_markdown


def test_data_readme_contracts_match_code():
    text = (PROJECT_ROOT / "data" / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- contracts:begin.*?<!-- contracts:end -->", text, flags=re.S)
    assert block, "data/README.md lost its contracts block; regenerate with `workbench contracts --markdown`"
    assert block.group(0) == contracts_markdown(), "data/README.md is out of date: paste `workbench contracts --markdown`"


def test_readme_shows_exactly_two_commands_and_ci_uses_the_test_one():
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^```(?:bash|sh)\n(.*?)\n```", quick, flags=re.S | re.M)
    lines = [line for block in commands for line in block.splitlines() if line.strip() and not line.startswith("#")]
    assert lines == ["make run", "make test"], lines
    ci = (PROJECT_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    # the only other step: system packages the browser tests need (chromium, fonts-noto-cjk), installed when missing
    assert [line for line in ci.splitlines() if line.strip() and not line.startswith(("#", "set ", "cd ", "export "))] == [".ci/system-packages", "make test"]
