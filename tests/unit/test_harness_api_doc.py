"""``docs/harness-api.md`` says what the code says: every public symbol of the harness's API modules with its
current signature. The page is generated (``python tools/harness_api.py``); this test fails when someone
changed the code and not the page, or the page and not the code."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GENERATOR = REPO / "tools" / "harness_api.py"
PAGE = REPO / "docs" / "harness-api.md"


def test_the_page_names_every_public_symbol_of_the_stage_author_api() -> None:
    page = PAGE.read_text()
    suite = importlib.import_module("nautes_e2e.suite")

    missing = [name for name in suite.__all__ if f"`{name}" not in page and f"class `{name}" not in page]

    assert not missing


def check(page: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(GENERATOR), "--check", "--page", str(page)], capture_output=True, text=True
    )


def test_the_api_page_matches_the_code() -> None:
    checked = check(PAGE)

    assert checked.returncode == 0, checked.stderr


def test_a_changed_signature_makes_the_check_fail(tmp_path: Path) -> None:
    current = PAGE.read_text()
    stale = current.replace("timeout_s: 'float'", "timeout_s: 'int'", 1)
    assert stale != current, "the page shows some timeout_s: 'float' to alter"
    (tmp_path / "harness-api.md").write_text(stale)

    checked = check(tmp_path / "harness-api.md")

    assert checked.returncode == 1
    assert "out of date" in checked.stderr
