"""The runner counts what an upstream session did, by node id, and refuses a session that did not run."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fidelity.runner import SuiteDidNotRun, SuiteResult, run_upstream_suite
from tests.fidelity.upstream import UpstreamUnavailable, pinned_version, upstream_tree, upstream_tree_or_skip

UPSTREAM_TESTS = """
import pytest

def test_passes(): pass
def test_fails(): assert False
def test_skips(): pytest.skip("no")
@pytest.fixture
def broken(): raise RuntimeError("setup")
def test_setup_errors(broken): pass
@pytest.mark.parametrize("n", [1, 2])
def test_param(n): assert n == 1
"""


def test_outcomes_by_node_id(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_up.py").write_text(UPSTREAM_TESTS)
    (tmp_path / "tests" / "conftest.py").write_text("raise RuntimeError('upstream conftest loaded')\n")
    log = tmp_path / "log.txt"
    result = run_upstream_suite("demo", tmp_path, ["tests/test_up.py"], redact=["setup"], log_path=log)
    assert result.passed == ("tests/test_up.py::test_param[1]", "tests/test_up.py::test_passes")
    assert result.failed == (
        "tests/test_up.py::test_fails",
        "tests/test_up.py::test_param[2]",
        "tests/test_up.py::test_setup_errors",
    )
    assert result.skipped == ("tests/test_up.py::test_skips",)
    assert result.ratio == pytest.approx(2 / 6)
    assert "RuntimeError: ***" in log.read_text()
    result.write(tmp_path / "result.json")
    assert SuiteResult.read(tmp_path / "result.json") == result


def test_a_selection_that_is_not_there_did_not_run(tmp_path: Path) -> None:
    (tmp_path / "test_up.py").write_text("def test_passes(): pass\n")
    with pytest.raises(SuiteDidNotRun, match="exited 4"):
        run_upstream_suite("demo", tmp_path, ["test_up.py::test_absent"])


def test_the_version_is_pyprojects_pin() -> None:
    assert pinned_version("Python_GitLab") == pinned_version("python-gitlab")
    with pytest.raises(LookupError, match="no-such-distribution"):
        pinned_version("no-such-distribution")


def test_without_a_reachable_index_the_upstream_tests_skip_saying_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NAUTES_E2E_CACHE", str(tmp_path))
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    with pytest.raises(UpstreamUnavailable, match=r"pip download python-gitlab==1\.2\.3 \(sdist\) failed"):
        upstream_tree("python-gitlab", "1.2.3", "sdist")
    with pytest.raises(pytest.skip.Exception, match="upstream tests unavailable: pip download"):
        upstream_tree_or_skip("python-gitlab", "sdist")
    assert not (tmp_path / "upstream" / "python-gitlab-1.2.3" / "sdist").exists()


def test_an_unpacked_release_is_taken_from_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NAUTES_E2E_CACHE", str(tmp_path))
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # pip would fail: the cache must answer
    top = tmp_path / "upstream" / "python-gitlab-1.2.3" / "sdist" / "python_gitlab-1.2.3"
    top.mkdir(parents=True)
    assert upstream_tree("python_gitlab", "1.2.3", "sdist") == top
