"""A plain ``kubectl apply -f`` of the quickstart's own manifests (default validation: kubectl checks them
against the server's OpenAPI document first), rendered with the quickstart's template rules, and what
``get`` and ``describe`` then show, as against K3s v1.21.14."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nautes_e2e.scenario.render import references, render
from tests.fidelity.kubectl.checks.kubectl_stack import Kubectl, described_fields

pytestmark = pytest.mark.fidelity

# Values for the templates' variables: what a run would put there (names, ids, URLs of the stack).
VALUES = {
    "cluster-ip": "127.0.0.1",
    "pipeline-runtime-name": "pr-demo-kubectl",
    "sc-repo-id": "57",
    "sc-repo-url": "ssh://git@127.0.0.1:2222/demo-kubectl/sourcecode.git",
    "deploy-repo-url": "ssh://git@127.0.0.1:2222/demo-kubectl/deployment.git",
    "registry-url": "127.0.0.1:5000",
    "kaniko-extra-args": "--insecure",
}
MANIFESTS = {
    "sourcecode/pipelines/main.yaml": ["pipelinerun.tekton.dev/main-pipiline created"],
    "sourcecode/test/pipeline-cache-pvc.yaml": ["persistentvolumeclaim/pipeline-cache created"],
    "deployment/deployments/test/devops-sample.yaml": ["deployment.apps/devops-sample created"],
    "deployment/deployments/test/devops-sample-svc.yaml": [
        "service/devops-sample created",
        "ingress.networking.k8s.io/devops-sample created",
    ],
}


def _rendered(quickstart: Path, relative: str) -> str:
    text = (quickstart / relative).read_text()
    used = {reference.name for reference in references(text, source=relative)}
    return render(text, {name: VALUES[name] for name in used}, source=relative, declared=used)


@pytest.fixture(scope="module")
def applied(kubectl: Kubectl, namespace: str, quickstart: Path) -> None:
    for relative, expected in MANIFESTS.items():
        result = kubectl("apply", "-n", namespace, "-f", "-", stdin=_rendered(quickstart, relative))
        assert result.returncode == 0, f"{relative}: {result.stderr}"
        assert result.stdout.splitlines() == expected, relative


def test_applying_them_again_changes_nothing(
    kubectl: Kubectl, namespace: str, quickstart: Path, applied: None
) -> None:
    for relative, expected in MANIFESTS.items():
        again = kubectl.ok("apply", "-n", namespace, "-f", "-", stdin=_rendered(quickstart, relative))
        assert again.splitlines() == [line.replace(" created", " unchanged") for line in expected], relative


def test_the_deployment_and_its_service(kubectl: Kubectl, namespace: str, applied: None) -> None:
    deployments = kubectl.ok("get", "deployments", "-n", namespace).splitlines()
    assert deployments[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert deployments[1].split()[0] == "devops-sample"
    services = kubectl.ok("get", "services", "-n", namespace, "-o", "wide").splitlines()
    assert services[0].split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE", "SELECTOR"]
    name, kind, cluster_ip, external_ip, ports, _age, selector = services[1].split()
    assert (name, kind, external_ip, ports) == ("devops-sample", "ClusterIP", "<none>", "8080/TCP")
    assert cluster_ip.startswith("10.43.")  # K3s's default service CIDR
    assert selector == "app.kubernetes.io/name=devops-sample"


def test_the_ingress(kubectl: Kubectl, namespace: str, applied: None) -> None:
    lines = kubectl.ok("get", "ingress", "-n", namespace).splitlines()
    assert lines[0].split() == ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"]
    assert lines[1].split()[:3] == ["devops-sample", "<none>", "devops-sample.127.0.0.1.nip.io"]


def test_the_pipeline_run_keeps_its_tekton_expressions(
    kubectl: Kubectl, namespace: str, applied: None
) -> None:
    revision = kubectl.ok(
        "get",
        "pipelinerun",
        "main-pipiline",
        "-n",
        namespace,
        "-o",
        'jsonpath={.spec.pipelineSpec.tasks[0].params[?(@.name=="revision")].value}',
    )
    assert revision == "$(params.REVISION)"


def test_describe_the_deployment(kubectl: Kubectl, namespace: str, applied: None) -> None:
    described = kubectl.ok("describe", "deployment", "devops-sample", "-n", namespace)
    fields = described_fields(described)
    assert (fields["Name"], fields["Namespace"]) == ("devops-sample", namespace)
    assert fields["Selector"] == "app.kubernetes.io/name=devops-sample"
    assert fields["Replicas"].startswith("1 desired | ")
    assert fields["StrategyType"] == "RollingUpdate"
    assert fields["RollingUpdateStrategy"] == "25% max unavailable, 25% max surge"
    assert (
        "    Readiness:     http-get http://:http/ delay=0s timeout=1s period=5s #success=1 #failure=30"
        in described
    )
    assert "    Image:      ghcr.io/lanbingcloud/devops-sample:" in described


def test_the_deployment_as_stored(kubectl: Kubectl, namespace: str, applied: None) -> None:
    spec = json.loads(
        kubectl.ok("get", "deployment", "devops-sample", "-n", namespace, "-o", "jsonpath={.spec}")
    )
    assert (spec["revisionHistoryLimit"], spec["progressDeadlineSeconds"]) == (10, 600)
    pod = spec["template"]["spec"]
    assert (pod["dnsPolicy"], pod["restartPolicy"], pod["terminationGracePeriodSeconds"]) == (
        "ClusterFirst",
        "Always",
        30,
    )
    container = pod["containers"][0]
    assert (container["terminationMessagePath"], container["terminationMessagePolicy"]) == (
        "/dev/termination-log",
        "File",
    )


def test_diff_against_the_cluster(kubectl: Kubectl, namespace: str, quickstart: Path, applied: None) -> None:
    manifest = _rendered(quickstart, "deployment/deployments/test/devops-sample.yaml")
    same = kubectl("diff", "-n", namespace, "-f", "-", stdin=manifest)
    assert (same.returncode, same.stdout, same.stderr) == (0, "", "")
    scaled = kubectl("diff", "-n", namespace, "-f", "-", stdin=manifest.replace("replicas: 1", "replicas: 3"))
    assert scaled.returncode == 1, scaled.stderr  # kubectl diff exits 1 when it found differences
    changed = [
        line for line in scaled.stdout.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")
    ]
    assert changed == ["-  generation: 1", "+  generation: 2", "-  replicas: 1", "+  replicas: 3"]


def test_the_services_endpoints(kubectl: Kubectl, namespace: str, applied: None) -> None:
    endpoints = kubectl.ok("get", "endpoints", "devops-sample", "-n", namespace).splitlines()
    assert endpoints[0].split() == ["NAME", "ENDPOINTS", "AGE"]
    assert endpoints[1].split()[:2] == ["devops-sample", "<none>"]  # no pod runs the sample app here
    slices = kubectl.ok(
        "get", "endpointslices", "-n", namespace, "-l", "kubernetes.io/service-name=devops-sample"
    ).splitlines()
    assert slices[0].split() == ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"]
    assert slices[1].split()[1:4] == ["IPv4", "<unset>", "<unset>"]
    described = kubectl.ok("describe", "ingress", "devops-sample", "-n", namespace)
    assert "/   devops-sample:http ()" in described
