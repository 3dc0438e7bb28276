"""The kubernetes client's own e2e tests for its dynamic client pass against a standalone reference stack:
at least 95 % of the in-scope selection, and the selection accounts for every upstream test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.fidelity.kubernetes.suite import (
    HERE,
    PLUGIN,
    SUITE,
    UPSTREAM_FILES,
    SelectionError,
    read_selection,
    run_kubernetes_client_suite,
    verdict,
)
from tests.fidelity.runner import SuiteResult
from tests.fidelity.upstream import upstream_tree_or_skip
from tests.support.warm_stack import WarmStack


@pytest.mark.fidelity
def test_the_client_e2e_tests_pass_against_the_stack(fidelity_stack: WarmStack, tmp_path: Path) -> None:
    root = upstream_tree_or_skip("kubernetes", "sdist")
    log = tmp_path / f"{SUITE}.log"
    result = run_kubernetes_client_suite(fidelity_stack.directory, root, tmp_path, log_path=log)
    result.write(tmp_path / f"{SUITE}.json")
    print(result.summary())
    problem = verdict(result)
    assert problem is None, f"{problem}\n(the upstream session's output: {log})"


@pytest.mark.fidelity
def test_the_selection_names_every_upstream_test(tmp_path: Path) -> None:
    root = upstream_tree_or_skip("kubernetes", "sdist")
    pytest_command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "--noconftest"]
    plugins = ["-p", "no:cacheprovider", "-p", "no:nautes_e2e", "-p", PLUGIN.stem]
    collected = subprocess.run(
        [*pytest_command, *plugins, *UPSTREAM_FILES],
        cwd=root,
        env={"PYTHONPATH": str(PLUGIN.parent), "PATH": "", "TMPDIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    upstream = {line for line in collected.stdout.splitlines() if "::" in line}
    assert upstream, collected.stdout + collected.stderr
    selection = read_selection()
    listed = {*selection.in_scope, *selection.out_of_scope}
    assert sorted(upstream - listed) == [], "upstream tests in neither in_scope.txt nor out_of_scope.txt"
    assert sorted(listed - upstream) == [], "listed tests the pinned release does not have"


def test_a_run_below_the_floor_fails_naming_the_ratio_and_the_failures() -> None:
    passed = tuple(f"t.py::test_{n}" for n in range(18))
    short = SuiteResult(SUITE, passed, ("t.py::test_crd",), ("t.py::test_skipped",))
    problem = verdict(short)
    assert problem is not None
    assert "18/20 passed (90.0%)" in problem
    assert "FAILED t.py::test_crd" in problem
    assert "SKIPPED t.py::test_skipped" in problem
    assert verdict(SuiteResult(SUITE, (*passed, "t.py::test_19"), ("t.py::test_crd",), ())) is None
    assert verdict(SuiteResult(SUITE, (), (), ())) is not None


def test_an_out_of_scope_entry_needs_a_reason(tmp_path: Path) -> None:
    (tmp_path / "in_scope.txt").write_text("# comment\nt.py::test_a\n")
    (tmp_path / "out_of_scope.txt").write_text("t.py::test_b\n")
    with pytest.raises(SelectionError, match=r"out_of_scope.txt:1: 't.py::test_b' has no reason"):
        read_selection(tmp_path)
    (tmp_path / "out_of_scope.txt").write_text("t.py::test_a | needs a kubelet\n")
    with pytest.raises(SelectionError, match="listed more than once"):
        read_selection(tmp_path)


def test_the_repository_selection_is_well_formed() -> None:
    selection = read_selection(HERE)
    assert selection.in_scope
    assert all(reason for reason in selection.out_of_scope.values())
