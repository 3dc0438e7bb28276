"""The quickstart stages' names, read from the real scenario's documents; names Kubernetes would refuse
stop the run before anything is applied."""

from __future__ import annotations

from pathlib import Path

import pytest

from nautes_e2e.scenario import Scenario
from suites.quickstart.names import QuickstartNames, ScenarioShapeError

QUICKSTART = Path(__file__).resolve().parents[2] / "scenarios" / "quickstart"
TARGET_VALUES = {
    "api-server": "https://10.0.0.7:6443",
    "cluster-ip": "10.0.0.7",
    "kubeconfig": "apiVersion: v1\nkind: Config\n",
    "registry-url": "registry.example:5000",
}


def names_for(suffix: str) -> QuickstartNames:
    scenario = Scenario.load(QUICKSTART)
    values = TARGET_VALUES | {"suffix": suffix}
    documents = [d for group in ("cluster", "product", "pipeline") for d in scenario.documents(group, values)]
    return QuickstartNames.from_documents(documents)


def test_the_names_come_from_the_scenario_documents() -> None:
    names = names_for("qs1")

    assert names.product == "demo-qs1"
    assert names.pipeline_runtime == "pr-demo-qs1"
    assert names.runtime_namespace == "pr-demo-qs1"
    assert len(names.code_repos) == 3
    assert names.source_repo in names.code_repos
    assert names.deploy_repo in names.code_repos


def test_a_suffix_too_long_for_a_namespace_is_refused_naming_it() -> None:
    with pytest.raises(ScenarioShapeError, match=r"namespace 'pr-demo-a{56}' is no Kubernetes namespace"):
        names_for("a" * 56)
    assert len(names_for("a" * 55).runtime_namespace) == 63
