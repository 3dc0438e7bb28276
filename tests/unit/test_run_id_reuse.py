"""``--run-id`` names the run's report folder; reusing one would mix two runs' evidence in one folder (or,
cleaned, destroy the earlier run's): a folder that already holds anything is refused before the run starts,
naming it. An empty folder, such as one a CI job makes for its artifacts, is used."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

STAGE = """
import pytest

@pytest.mark.stage("preflight")
def test_preflight(stage):
    stage.fact("target", "local")
"""


def test_a_run_id_whose_folder_holds_an_earlier_run_is_refused(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_stage=STAGE)
    pytester.runpytest("--run-id", "nightly-42").assert_outcomes(passed=1)
    first_report = (pytester.path / "reports" / "nightly-42" / "report.json").read_text()

    again = pytester.runpytest("--run-id", "nightly-42")

    assert again.ret == pytest.ExitCode.USAGE_ERROR
    folder = pytester.path / "reports" / "nightly-42"
    again.stderr.fnmatch_lines([f"*--run-id nightly-42: {folder} already holds the reports of an earlier*"])
    assert (folder / "report.json").read_text() == first_report


def test_an_empty_folder_for_the_run_id_is_used(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_stage=STAGE)
    (pytester.path / "reports" / "ci-artifacts").mkdir(parents=True)

    pytester.runpytest("--run-id", "ci-artifacts").assert_outcomes(passed=1)

    assert (pytester.path / "reports" / "ci-artifacts" / "report.json").is_file()
