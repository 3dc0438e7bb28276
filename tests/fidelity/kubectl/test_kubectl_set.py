"""Every check of the kubectl set passes against a standalone reference stack (issue 10: 100 % of the
kubectl set), and the set is what it claims to be."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.fidelity.kubectl.suite import CHECKS, SUITE, check_files, run_kubectl_set
from tests.support.warm_stack import WarmStack


@pytest.mark.fidelity
@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed on this machine")
def test_every_kubectl_check_passes(fidelity_stack: WarmStack, tmp_path: Path) -> None:
    log = tmp_path / f"{SUITE}.log"
    result = run_kubectl_set(fidelity_stack.directory, log_path=log)
    result.write(tmp_path / f"{SUITE}.json")
    print(result.summary())
    assert result.total > 0, f"the kubectl set ran no check (the session's output: {log})"
    assert result.ratio == 1.0, f"{result.summary()}\n(the session's output: {log})"


def test_the_set_is_not_collected_on_its_own() -> None:
    """The checks need the stack the suite points them at: their files must not match ``test_*.py``."""
    assert check_files(), "no check modules found"
    assert not list(CHECKS.glob("test_*.py"))
