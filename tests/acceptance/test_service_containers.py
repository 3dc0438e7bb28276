"""The main job on the local target with real services swapped in: ``pytest suites/quickstart --service
vault=container --service registry=container`` (and each alone) passes, reports each container's bring-up
as a stage, pushes the pipeline's image into the registry container, and leaves no container and no
process behind."""

from __future__ import annotations

import json
from pathlib import Path

import docker
import pytest

from nautes_e2e.containers.images import DISTRIBUTION_IMAGE, OPENBAO_IMAGE
from tests.support.quickstart import RUN_ID, processes_of_run, run_quickstart
from tests.support.service_containers import require_docker, require_image


@pytest.fixture(scope="module")
def engine() -> docker.DockerClient:
    client = require_docker()
    require_image(client, OPENBAO_IMAGE)
    require_image(client, DISTRIBUTION_IMAGE)
    return client


@pytest.mark.parametrize(
    "swapped", [("vault", "registry"), ("vault",), ("registry",)], ids=["both", "vault", "registry"]
)
def test_the_quickstart_passes_with_real_services(
    tmp_path: Path, engine: docker.DockerClient, swapped: tuple[str, ...]
) -> None:
    options = " ".join(f"--service {name}=container" for name in swapped)
    run = run_quickstart(tmp_path, {"PYTEST_ADDOPTS": options})
    assert run.returncode == 0, run.tail()
    stages = run.stages
    assert {name: stage["status"] for name, stage in stages.items() if stage["status"] != "passed"} == {}
    # Started together: in either order.
    world_stages = sorted(name for name in stages if name.startswith("world-"))
    assert world_stages == sorted(f"world-{name}-container" for name in swapped)

    report = json.loads((tmp_path / "reports" / RUN_ID / "report.json").read_text())
    facts, endpoints = report["facts"], report["target"]["endpoints"]
    for name in swapped:
        assert facts[f"{name}_image"] == {"vault": OPENBAO_IMAGE, "registry": DISTRIBUTION_IMAGE}[name]
        assert stages[f"world-{name}-container"]["facts"][f"{name}_url"] == facts[f"{name}_url"]
        # Gone after the run: removed by id, Ryuk being off.
        assert engine.containers.list(all=True, filters={"id": facts[f"{name}_container"]}) == []
        log = tmp_path / "reports" / RUN_ID / "evidence" / "world" / f"{name}-container.log"
        assert log.read_text().strip(), f"no {log.name} in the evidence"
    if "vault" in swapped:
        assert endpoints["vault"] == facts["vault_url"]
        vault_log = (tmp_path / "reports" / RUN_ID / "evidence" / "world" / "vault-container.log").read_text()
        # The stack's Kubernetes auth, through the emulated API server's TokenReview, from the container.
        assert "path=physical-worker-quickstart/ type=kubernetes" in vault_log
        assert "auth/physical-worker-quickstart/login/" in vault_log
    if "registry" in swapped:
        host = facts["registry_url"].removeprefix("http://")
        assert facts["image_url"].startswith(f"{host}/devops-sample:0.0.1-")
    assert processes_of_run(run) == []
