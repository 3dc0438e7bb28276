"""``pytest suites/quickstart`` as a CI job runs it, given something it cannot use: it exits 4 (not 1, the
code of a broken Nautes) with one line per problem naming the file and the field, no traceback, and still
writes ``report.json`` saying ``error (configuration)``. A world that does not answer is a failed stage
(exit 1), said in one line too: the endpoint, what was tried, why.

Each run stops at the setup of the first stage, before any request, so none of them needs a world.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOKEN_ENV = "NAUTES_E2E_TEST_CONFIG_TOKEN"


@dataclass(frozen=True)
class Run:
    returncode: int
    output: list[str]
    report: dict[str, Any] | None

    def section(self, title: str) -> list[str]:
        """The lines pytest prints under a ``=== TITLE ===`` heading, up to the next heading."""
        start = next(index for index, line in enumerate(self.output) if f" {title} " in line)
        end = next(
            (index for index in range(start + 1, len(self.output)) if self.output[index].startswith("===")),
            len(self.output),
        )
        return self.output[start + 1 : end]


def run_quickstart(tmp_path: Path, *args: str, environ: dict[str, str] | None = None) -> Run:
    reports = tmp_path / "reports"
    inherited = {
        key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_", TOKEN_ENV))
    }
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "suites/quickstart", "-p", "no:cacheprovider", "--run-id", "run",
         "--reports-dir", str(reports), "--basetemp", str(tmp_path / "basetemp"), *args],
        cwd=ROOT, env={**inherited, "COLUMNS": "100", **(environ or {})}, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    report_file = reports / "run" / "report.json"
    report = json.loads(report_file.read_text()) if report_file.exists() else None
    return Run(completed.returncode, (completed.stdout + completed.stderr).splitlines(), report)


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port nothing listens on (bound, never listening, so nothing else takes it meanwhile)."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield int(held.getsockname()[1])


def write_world(directory: Path, port: int) -> Path:
    """A target file whose every service is at ``port``, and a kubeconfig that the client can load."""
    (directory / "kubeconfig.yaml").write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        f"clusters: [{{name: c, cluster: {{server: 'http://127.0.0.1:{port}'}}}}]\n"
        "users: [{name: u, user: {token: kube-token-of-the-test}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u}}]\n"
    )
    target = directory / "target.yaml"
    url = f"http://127.0.0.1:{port}"
    target.write_text(
        f"schema: 1\nnautes: {{url: '{url}'}}\n"
        f"gitlab: {{url: '{url}', sshUrl: 'ssh://git@127.0.0.1:{port}', tokenEnv: {TOKEN_ENV}}}\n"
        f"vault: {{url: '{url}', tokenEnv: {TOKEN_ENV}}}\nregistry: {{url: '127.0.0.1:{port}'}}\n"
        f"clusters: [{{name: runtime, kubeconfig: kubeconfig.yaml, apiServer: '{url}', ip: 127.0.0.1}}]\n"
    )
    return target


def assert_configuration_error(run: Run, problems: Sequence[str]) -> None:
    """Exit 4; under ERRORS the problems and nothing else; the same at the end of the output and in the
    report; no traceback anywhere."""
    assert run.returncode == 4, "\n".join(run.output[-40:])
    errors = run.section("ERRORS")
    assert errors[0].startswith("_")
    assert "ERROR at setup of test_preflight" in errors[0]
    assert errors[1].startswith("configuration error: ")
    assert len(errors) == 1 + len(problems), errors
    for problem in problems:
        assert any(problem in line for line in errors[1:]), (problem, errors)
        assert any(problem in line for line in run.section("nautes-e2e stages: error (configuration)"))
    assert not any(line.startswith(("E   ", ">   ", "Traceback", "INTERNALERROR")) for line in run.output)
    assert run.report is not None
    assert (run.report["run"]["result"], run.report["run"]["exit_code"]) == ("error", 4)
    assert run.report["run"]["error"]["kind"] == "configuration"
    assert all(problem in run.report["run"]["error"]["message"] for problem in problems)
    assert run.report["stages"][0]["status"] == "error"


def test_a_target_file_naming_an_unset_variable_exits_4_naming_file_and_field(
    tmp_path: Path, closed_port: int
) -> None:
    target = write_world(tmp_path, closed_port)

    run = run_quickstart(tmp_path, "--target", "existing", "--target-file", str(target))

    assert_configuration_error(
        run,
        [
            f"{target}: gitlab.tokenEnv: environment variable {TOKEN_ENV} is not set (or empty)",
            f"{target}: vault.tokenEnv: environment variable {TOKEN_ENV} is not set (or empty)",
        ],
    )


def test_a_missing_target_file_exits_4(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-target.yaml"

    run = run_quickstart(tmp_path, "--target", "existing", "--target-file", str(missing))

    assert_configuration_error(run, [f"{missing}: cannot read the file (No such file or directory)"])


def test_a_bad_scenario_exits_4_before_the_world_starts(tmp_path: Path) -> None:
    """On the default local target: the scenario is checked before the reference stack is started."""
    scenario = tmp_path / "scenario"
    shutil.copytree(ROOT / "scenarios" / "quickstart", scenario)
    spec = scenario / "scenario.yaml"
    spec.write_text(spec.read_text().replace("\nname: ", "\nnmae: ", 1))

    run = run_quickstart(tmp_path, "--scenario-dir", str(scenario))

    assert_configuration_error(run, [f"{spec}: name: is required", f"{spec}: nmae: unknown key"])
    assert run.report is not None
    assert run.report["target"] is None, "the world fixture (which describes the target first) never ran"


def test_a_missing_scenario_dir_exits_4(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-scenario"

    run = run_quickstart(tmp_path, "--scenario-dir", str(missing))

    assert_configuration_error(run, [f"{missing / 'scenario.yaml'}: cannot read the file"])


def test_a_bad_world_config_exits_4_through_the_k3d_target(tmp_path: Path) -> None:
    """The k3d target reads its world config before preflight; Docker is not needed to refuse it."""
    config = tmp_path / "world.yaml"
    config.write_text("ports: {kubeApi: many}\n")

    run = run_quickstart(tmp_path, "--target", "k3d", "--world-config", str(config))

    assert_configuration_error(run, [f"{config}: ports.kubeApi: must be an integer"])


def test_a_closed_gitlab_port_is_a_failed_stage_in_one_line(tmp_path: Path, closed_port: int) -> None:
    """The world is what is broken here: exit 1, with where, what and why in one line, not a chain of
    library tracebacks."""
    target = write_world(tmp_path, closed_port)

    run = run_quickstart(
        tmp_path, "--target", "existing", "--target-file", str(target), environ={TOKEN_ENV: "glpat-test"}
    )

    assert run.returncode == 1, "\n".join(run.output[-40:])
    expected = f"GitLab at http://127.0.0.1:{closed_port} did not answer GET /api/v4/user: connection refused"
    failures = run.section("FAILURES")
    assert failures[1] == expected, failures
    assert failures[2].startswith("  raised at ")
    assert "suites/quickstart/test_quickstart.py:" in failures[2]
    assert len(failures) == 3, failures
    assert len(run.output) < 60, "\n".join(run.output)
    assert run.report is not None
    assert (run.report["run"]["result"], run.report["run"]["exit_code"]) == ("failed", 1)
    assert run.report["stages"][0]["diagnosis"] == f"ServiceUnreachable: {expected}"
    assert f"preflight: ServiceUnreachable: {expected}" in run.output
