"""What the nightly templates do, checked offline: the matrix (provider x cluster variant x Kubernetes
version, the node image of each provider), the same cells in GitHub Actions and GitLab CI, the hardening that
the validators cannot see (which commit each action is pinned to), the exact commands a cell runs, and the
gate job run here for real over reports written by the harness's own report model."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from nautes_e2e.report import Report, RunSummary, TargetSummary
from nautes_e2e.stages import StageRecord, StageStatus
from tests.ci import templates
from tests.ci.templates import PINNED_ACTIONS, Cell
from tests.ci.validators import GITHUB_TEMPLATE, REPO_ROOT, tool_path

EXPECTED_CELL_IDS = [
    "k3d-physical-k8s-1.21",
    "k3d-virtual-k8s-1.21",
    "kind-physical-k8s-1.21",
    "kind-virtual-k8s-1.21",
]

#: The node image of each provider for Kubernetes 1.21: the K3s of nautes-labs/installer v0.3.8 and the guide;
#: kindest/node as kind v0.20.0's release notes list it ("Images pre-built for this release"), by digest.
KIND_NODE_1_21 = (
    "kindest/node:v1.21.14@sha256:8a4e9bb3f415d2bb81629ce33ef9c76ba514c14d707f9797a01e3216376ba093"
)
NODE_IMAGES = {
    ("k3d", "1.21"): {"k3s": "rancher/k3s:v1.21.14-k3s1"},
    ("kind", "1.21"): {"kindNode": KIND_NODE_1_21},
}


def test_the_github_workflow_runs_nightly_and_on_demand_with_a_read_only_token() -> None:
    workflow = templates.github()
    triggers = templates.github_triggers(workflow)
    assert set(triggers) == {"schedule", "workflow_dispatch"}
    assert [entry["cron"] for entry in triggers["schedule"]] == ["23 2 * * *"]
    assert workflow["permissions"] == {"contents": "read"}
    assert all("permissions" not in job for job in workflow["jobs"].values())


def test_the_matrix_spans_provider_cluster_variant_and_kubernetes_version() -> None:
    matrix = templates.github()["jobs"]["quickstart"]["strategy"]["matrix"]
    assert matrix["provider"] == ["k3d", "kind"]
    assert matrix["variant"] == ["physical", "virtual"]
    assert matrix["kubernetes"] == ["1.21"]
    assert templates.github()["jobs"]["quickstart"]["strategy"]["fail-fast"] is False
    assert "exclude" not in matrix
    assert [cell.id for cell in templates.github_cells()] == EXPECTED_CELL_IDS
    assert templates.gitlab_cells() == templates.github_cells()


@pytest.mark.parametrize("cell", templates.github_cells(), ids=lambda cell: cell.id)
def test_each_cell_has_a_world_config_that_pins_its_node_image(cell: Cell) -> None:
    assert templates.load(cell.world_config) == {"images": NODE_IMAGES[cell.provider, cell.kubernetes]}
    assert re.fullmatch(r"kindest/node:v1\.21\.14@sha256:[0-9a-f]{64}", KIND_NODE_1_21)


@pytest.mark.parametrize("cell", templates.github_cells(), ids=lambda cell: cell.id)
def test_the_world_plan_of_each_cell_brings_up_its_node_image(cell: Cell) -> None:
    """The harness itself reads the cell's world config (strictly: a wrong key fails here) and plans the
    cluster on the pinned node image; ``world plan`` runs and writes nothing."""
    (image,) = NODE_IMAGES[cell.provider, cell.kubernetes].values()
    command = tool_path("nautes-e2e")
    assert command is not None, "the nautes-e2e console script is not installed"
    environ = {key: value for key, value in os.environ.items() if not key.startswith("NAUTES_E2E_WORLD_")}
    done = subprocess.run(
        [command, "world", "plan", "--target", cell.provider],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**environ, "NAUTES_E2E_WORLD_CONFIG": str(cell.world_config)},
    )
    assert done.returncode == 0, done.stderr
    create = f"{cell.provider} cluster create " if cell.provider == "k3d" else "kind create cluster "
    (create_line,) = [line for line in done.stdout.splitlines() if create in line]
    assert f" --image {image} " in create_line


def test_gitlab_runs_the_same_cells_as_github() -> None:
    assert templates.gitlab_cells() == templates.github_cells()


def _suite_takes(option: str) -> bool:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "suites/quickstart", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=REPO_ROOT,
    )
    return option in done.stdout


def test_each_cell_runs_the_suite_with_its_cluster_variant() -> None:
    """The variant axis reaches the suite as ``--cluster-type``, an option the suite really takes."""
    assert _suite_takes("--cluster-type")
    github_run = templates.github_step("quickstart", "Run the quickstart")["run"]
    assert '--cluster-type "$VARIANT"' in github_run
    assert templates.github()["jobs"]["quickstart"]["env"]["VARIANT"] == "${{ matrix.variant }}"
    gitlab_run = " ".join(str(line) for line in templates.gitlab()["quickstart"]["script"])
    assert '--cluster-type "$CLUSTER_VARIANT"' in gitlab_run


def test_every_action_is_pinned_to_the_commit_of_the_tag_beside_it() -> None:
    uses = templates.uses_lines(GITHUB_TEMPLATE)
    assert {match["action"] for match in uses} == set(PINNED_ACTIONS)
    for match in uses:
        sha, tag = PINNED_ACTIONS[match["action"]]
        assert (match["ref"], match["comment"]) == (sha, tag), match.group(0)


def test_no_step_expands_an_expression_inside_a_script_and_no_checkout_keeps_credentials() -> None:
    for job_name, job in templates.github()["jobs"].items():
        for step in job["steps"]:
            assert "${{" not in step.get("run", ""), f"{job_name}: {step['name']}"
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, f"{job_name}: {step['name']}"


def test_each_cell_installs_its_provider_raises_inotify_and_keeps_its_reports_whatever_happens() -> None:
    assert (
        '$PROVIDER" kubectl'
        in templates.github_step("quickstart", "Install the cluster tools (pinned, checksums verified)")[
            "run"
        ]
    )
    sysctl = templates.github_step("quickstart", "Raise the inotify limits")["run"]
    assert "fs.inotify.max_user_instances=65535" in sysctl
    upload = templates.github_step("quickstart", "Upload the reports")
    assert upload["if"] == "always()"
    assert upload["with"]["name"] == "reports-${{ env.MATRIX_ID }}"
    assert upload["with"]["path"] == "reports/${{ env.MATRIX_ID }}"
    assert templates.github_step("quickstart", "Remove what the run left in Docker")["if"] == "always()"

    job = templates.gitlab()["quickstart"]
    assert job["artifacts"]["when"] == "always"
    assert job["artifacts"]["paths"] == ["reports/"]
    assert "sudo -n sysctl -w fs.inotify.max_user_instances=65535" in job["script"]
    assert 'bash ci/install-tools.sh "$CI_PROJECT_DIR/.tools" "$PROVIDER" kubectl' in job["script"]


def _stub(directory: Path, name: str) -> Path:
    """An executable ``name`` that records its arguments, one a line, then the world config it was given."""
    record = directory / f"{name}.args"
    stub = directory / name
    stub.write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$@" "world config: $NAUTES_E2E_WORLD_CONFIG" >> "{record}"\n'
    )
    stub.chmod(0o755)
    return record


# GitHub runs a step's script with ``bash -e`` (no ``shell:`` given); GitLab's shell executor with
# ``set -eo pipefail``.
GITHUB_BASH = ("-e",)
GITLAB_BASH = ("-e", "-o", "pipefail")


def _bash(
    script: str, env: Mapping[str, str], cwd: Path, options: tuple[str, ...] = GITHUB_BASH
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", *options, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
        env={**os.environ, **env},
    )


def _expected_calls(cell: Cell, run_id: str) -> list[str]:
    """What ``nautes-e2e`` and ``pytest`` are called with in a cell, each with the cell's world config."""
    world_config = f"world config: {cell.world_config}"
    return [
        *("world", "plan", "--target", cell.provider, world_config),
        *("suites/quickstart", "--target", cell.provider, "--cluster-type", cell.variant),
        *("--reports-dir", f"reports/{cell.id}"),
        *("--run-id", run_id, world_config),
    ]


@pytest.mark.parametrize("cell", templates.github_cells(), ids=lambda cell: cell.id)
def test_a_github_cell_plans_then_runs_the_quickstart_on_its_world_with_its_own_reports_folder(
    cell: Cell, tmp_path: Path
) -> None:
    record = _stub(tmp_path, "pytest")
    (tmp_path / "nautes-e2e").symlink_to(tmp_path / "pytest")
    env = templates.github_job_env("quickstart", cell)
    assert env["MATRIX_ID"] == cell.id
    env |= {"PATH": f"{tmp_path}:{os.environ['PATH']}", "GITHUB_RUN_ID": "4242", "GITHUB_RUN_ATTEMPT": "1"}
    for step in ("Show the bring-up plan", "Run the quickstart"):
        done = _bash(templates.github_step("quickstart", step)["run"], env, tmp_path)
        assert done.returncode == 0, done.stderr
    assert record.read_text().splitlines() == _expected_calls(cell, f"{cell.id}-4242-1")


@pytest.mark.parametrize("cell", templates.gitlab_cells(), ids=lambda cell: cell.id)
def test_a_gitlab_cell_runs_the_same_commands(cell: Cell, tmp_path: Path) -> None:
    """The job's script from the world config on (the lines before install and need root)."""
    script: list[str] = templates.gitlab()["quickstart"]["script"]
    start = next(i for i, line in enumerate(script) if line.startswith("export NAUTES_E2E_WORLD_CONFIG="))
    record = _stub(tmp_path, "pytest")
    (tmp_path / "nautes-e2e").symlink_to(tmp_path / "pytest")
    env = {
        "PATH": f"{tmp_path}:{os.environ['PATH']}",
        "CI_PROJECT_DIR": str(REPO_ROOT),
        "PROVIDER": cell.provider,
        "CLUSTER_VARIANT": cell.variant,
        "KUBERNETES": cell.kubernetes,
        "CI_PIPELINE_ID": "77",
        "CI_JOB_ID": "901",
    }
    done = _bash("\n".join(script[start:]), env, tmp_path, options=GITLAB_BASH)
    assert done.returncode == 0, done.stderr
    assert record.read_text().splitlines() == _expected_calls(cell, f"{cell.id}-77-901")


STARTED = datetime(2026, 12, 1, 2, 23, tzinfo=UTC)


def _write_report(
    folder: Path, run_id: str, target: str, *, simulated: bool, failed_stage: str | None
) -> None:
    statuses: dict[str, StageStatus] = {}
    if failed_stage is not None:
        statuses[failed_stage] = "failed"
    records = tuple(
        StageRecord(
            name=name, status=statuses.get(name, "passed"), start="2026-12-01T02:23:01.000Z", duration_s=1.0
        )
        for name in ("register_cluster", "pipelinerun_succeeded", "teardown")
    )
    report = Report(
        run=RunSummary(
            id=run_id,
            started=STARTED,
            finished=STARTED + timedelta(minutes=40),
            result="failed" if failed_stage else "passed",
            command_line=f"pytest suites/quickstart --target {target}",
            kept_environment=False,
        ),
        target=TargetSummary(name=target, simulated=simulated, endpoints={}),
        scenario=None,
        stages=records,
        facts={},
        environment={},
    )
    path = folder / run_id / "report.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(report.to_dict()))


def _artifacts(
    root: Path,
    *,
    prefix: str,
    skip: str | None = None,
    failed: str | None = None,
    simulated: str | None = None,
) -> None:
    """Each expected cell's downloaded reports under ``root/<prefix><cell>/<run-id>/report.json``."""
    for cell_id in EXPECTED_CELL_IDS:
        if cell_id == skip:
            continue
        target = "local" if cell_id == simulated else cell_id.split("-")[0]
        stage = "pipelinerun_succeeded" if cell_id == failed else None
        _write_report(
            root / f"{prefix}{cell_id}",
            f"{cell_id}-4242-1",
            target,
            simulated=cell_id == simulated,
            failed_stage=stage,
        )


def _harness_path() -> str:
    gate = tool_path("nautes-e2e")
    assert gate is not None, "the nautes-e2e console script is not installed"
    return f"{Path(gate).parent}:{os.environ['PATH']}"


def _github_gate(workdir: Path) -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
    env = templates.github_job_env("gate") | {"PATH": _harness_path()}
    gate = _bash(templates.github_step("gate", "Release gate")["run"], env, workdir)
    cells = _bash(templates.github_step("gate", "Every cell reported")["run"], env, workdir)
    return gate, cells


def _gitlab_gate(workdir: Path) -> subprocess.CompletedProcess[str]:
    job = templates.gitlab()["gate"]
    return _bash(
        job["script"][-1], {**job["variables"], "PATH": _harness_path()}, workdir, options=GITLAB_BASH
    )


def test_the_gate_jobs_expect_exactly_the_matrix_cells() -> None:
    cell_ids = [cell.id for cell in templates.github_cells()]
    assert cell_ids == EXPECTED_CELL_IDS
    assert templates.github_job_env("gate")["EXPECTED_CELLS"].split() == cell_ids
    assert templates.gitlab()["gate"]["variables"]["EXPECTED_CELLS"].split() == cell_ids


def test_the_gate_jobs_run_after_every_cell_whatever_its_outcome_without_allowing_simulated_runs() -> None:
    job = templates.github()["jobs"]["gate"]
    assert job["needs"] == ["quickstart"]
    assert job["if"] == "always()"
    download = templates.github_step("gate", "Download every cell's reports")
    assert download["with"] == {"pattern": "reports-*", "path": "artifacts"}
    assert templates.github_step("gate", "Every cell reported")["if"] == "always()"
    gitlab = templates.gitlab()
    assert gitlab["stages"] == ["quickstart", "gate"]
    assert gitlab["gate"]["when"] == "always"
    assert gitlab["gate"]["needs"] == [{"job": "quickstart", "artifacts": True}]
    scripts = [templates.github_step("gate", "Release gate")["run"], *gitlab["gate"]["script"]]
    assert all("--allow-simulated" not in script for script in scripts)


def test_the_gate_jobs_pass_when_every_cell_passed_on_a_real_target(tmp_path: Path) -> None:
    _artifacts(tmp_path / "artifacts", prefix="reports-")
    gate, cells = _github_gate(tmp_path)
    assert (gate.returncode, cells.returncode) == (0, 0), gate.stdout + gate.stderr + cells.stdout
    assert gate.stdout.splitlines()[-1] == f"gate: passed ({len(EXPECTED_CELL_IDS)} report(s))"

    _artifacts(tmp_path / "reports", prefix="")
    done = _gitlab_gate(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"gate: passed ({len(EXPECTED_CELL_IDS)} report(s))" in done.stdout


def test_the_gate_jobs_fail_on_a_failed_stage_and_name_its_run(tmp_path: Path) -> None:
    _artifacts(tmp_path / "artifacts", prefix="reports-", failed="kind-physical-k8s-1.21")
    gate, cells = _github_gate(tmp_path)
    assert (gate.returncode, cells.returncode) == (1, 0)
    assert "FAIL  kind-physical-k8s-1.21-4242-1" in gate.stdout

    _artifacts(tmp_path / "reports", prefix="", failed="kind-physical-k8s-1.21")
    done = _gitlab_gate(tmp_path)
    assert done.returncode == 1
    assert "FAIL  kind-physical-k8s-1.21-4242-1" in done.stdout


def test_the_gate_jobs_fail_a_run_on_the_embedded_reference_stack(tmp_path: Path) -> None:
    _artifacts(tmp_path / "artifacts", prefix="reports-", simulated="k3d-physical-k8s-1.21")
    gate, _ = _github_gate(tmp_path)
    assert gate.returncode == 1
    assert "simulated target" in gate.stdout


def test_the_gate_jobs_fail_when_a_cell_wrote_no_report(tmp_path: Path) -> None:
    _artifacts(tmp_path / "artifacts", prefix="reports-", skip="k3d-physical-k8s-1.21")
    gate, cells = _github_gate(tmp_path)
    assert gate.returncode == 0  # the reports that exist passed ...
    assert cells.returncode == 1  # ... but the job fails, naming the silent cell
    assert "::error::matrix cell k3d-physical-k8s-1.21 wrote no report.json" in cells.stdout

    _artifacts(tmp_path / "reports", prefix="", skip="k3d-physical-k8s-1.21")
    done = _gitlab_gate(tmp_path)
    assert done.returncode == 1
    assert "matrix cell k3d-physical-k8s-1.21 wrote no report.json" in done.stdout
