"""python-gitlab's own functional tests, the in-scope selection, pass against a standalone reference stack
(at least :data:`THRESHOLD` of them): the GitLab emulation behaves as GitLab CE does for the APIs the Nautes
flow, the harness and a debugging user touch (issue 10).

Its result is written as JSON (passed/failed/skipped ids and the ratio) into ``$NAUTES_E2E_FIDELITY_RESULTS``
when set (else the test's temporary directory), with the upstream session's output beside it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fidelity.gitlab.selection import load_selection
from tests.fidelity.gitlab.suite import DISTRIBUTION, SUITE, THRESHOLD, checked_selection, run_gitlab_suite
from tests.fidelity.upstream import upstream_tree_or_skip
from tests.support.warm_stack import WarmStack

RESULTS_ENV = "NAUTES_E2E_FIDELITY_RESULTS"

pytestmark = pytest.mark.fidelity


def test_the_selection_sorts_every_upstream_test() -> None:
    """Every test function of the pinned release is in scope or out of scope with a reason, and every entry
    names one that exists: a new release's tests cannot slip past unsorted."""
    checked_selection(upstream_tree_or_skip(DISTRIBUTION, "sdist"))


def test_python_gitlab_functional_suite(fidelity_stack: WarmStack, tmp_path: Path) -> None:
    """At least :data:`THRESHOLD` pass, and none fails but the known failures (which must still fail)."""
    upstream_root = upstream_tree_or_skip(DISTRIBUTION, "sdist")
    results = Path(os.environ.get(RESULTS_ENV) or tmp_path)
    log = results / f"{SUITE}.log"
    result = run_gitlab_suite(fidelity_stack.directory, upstream_root, log_path=log)
    result.write(results / f"{SUITE}.json")
    print(result.summary())
    selection = load_selection()
    assert result.total, f"no upstream test ran (log: {log})"
    assert result.ratio >= THRESHOLD, f"{result.summary()}\nbelow {THRESHOLD:.0%} (log: {log})"
    regressions = [node_id for node_id in result.failed if not selection.known_to_fail(node_id)]
    assert not regressions, (
        f"{result.summary()}\nfailing, not known to: {', '.join(regressions)} (log: {log})"
    )
    mended = [node_id for node_id in result.passed if selection.known_to_fail(node_id)]
    assert not mended, f"known failures that pass, take them off known_failures: {', '.join(mended)}"
