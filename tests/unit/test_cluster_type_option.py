"""``--cluster-type``: physical by default, virtual on request, anything else refused up front naming the
option and the value (a usage error, exit 4, before the run has a report folder)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from nautes_e2e.plugin.options import CLUSTER_TYPES, DEFAULT_CLUSTER_TYPE
from suites.quickstart.conftest import CLUSTER_GROUPS

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_the_default_is_the_physical_worker_and_each_type_has_its_documents() -> None:
    assert DEFAULT_CLUSTER_TYPE == "physical"
    assert set(CLUSTER_GROUPS) == set(CLUSTER_TYPES)


@pytest.mark.parametrize("value", ["Virtual", "vcluster", ""])
def test_an_unknown_cluster_type_is_refused_naming_option_and_value(value: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "suites/quickstart", "-p", "no:cacheprovider",
         "--cluster-type", value, "--reports-dir", str(tmp_path / "reports"), "--collect-only", "-q"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 4, result.stdout + result.stderr
    assert f"--cluster-type must be physical or virtual, not {value!r}" in result.stderr
    assert not (tmp_path / "reports").exists()
