"""The Kubernetes emulator driven by the real kubectl binary (skipped where kubectl is not installed)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.kube import RunningKube, unique_name

KUBECTL = shutil.which("kubectl")
pytestmark = [
    pytest.mark.kubectl,
    pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed on this machine"),
]
Kubectl = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def kube() -> Iterator[RunningKube]:
    with RunningKube(tls=True) as running:  # kubectl sends its token to https servers only
        yield running


def kubectl_for(kubeconfig: str, workdir: Path) -> Kubectl:
    config = workdir / "kubeconfig"
    config.write_text(kubeconfig)

    def kubectl(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        command = [str(KUBECTL), "--kubeconfig", str(config), "--cache-dir", str(workdir / "cache"), *args]
        return subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=30, check=False)

    return kubectl


@pytest.fixture(scope="module")
def kubectl(kube: RunningKube, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    return kubectl_for(kube.kubeconfig(), tmp_path_factory.mktemp("kubectl"))


@pytest.fixture(scope="module")
def namespace(kubectl: Kubectl) -> str:
    name = unique_name("ns")
    manifest = json.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    created = kubectl("create", "-f", "-", "--validate=false", stdin=manifest)
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == f"namespace/{name} created"
    return name


def test_get_namespaces(kubectl: Kubectl, namespace: str) -> None:
    listed = kubectl("get", "ns")
    assert listed.returncode == 0, listed.stderr
    names = [line.split()[0] for line in listed.stdout.splitlines()[1:]]
    assert {"default", "kube-system", namespace} <= set(names)


def test_created_pipeline_run_is_listed_as_json(kubectl: Kubectl, namespace: str) -> None:
    run = {
        "apiVersion": "tekton.dev/v1beta1",
        "kind": "PipelineRun",
        "metadata": {"name": "main-pipeline-n1a2b", "namespace": namespace, "labels": {"branch": "main"}},
        "spec": {},
    }
    created = kubectl("create", "-f", "-", "--validate=false", stdin=json.dumps(run))
    assert created.stdout.strip() == "pipelinerun.tekton.dev/main-pipeline-n1a2b created", created.stderr

    listed = kubectl("get", "pipelineruns", "-n", namespace, "-o", "json")
    assert listed.returncode == 0, listed.stderr
    document = json.loads(listed.stdout)
    assert document["kind"] in ("List", "PipelineRunList")
    assert [item["metadata"]["name"] for item in document["items"]] == ["main-pipeline-n1a2b"]
    by_short_name = kubectl("get", "pr", "-n", namespace, "-l", "branch=main", "-o", "name")
    assert by_short_name.stdout.strip() == "pipelinerun.tekton.dev/main-pipeline-n1a2b"


def test_not_found_error_text(kubectl: Kubectl, namespace: str) -> None:
    missing = kubectl("get", "pods/x", "--namespace", namespace)
    assert missing.returncode == 1
    assert missing.stderr.strip() == 'Error from server (NotFound): pods "x" not found'


def test_kubectl_sends_no_token_to_a_plain_http_server(tmp_path: Path) -> None:
    with RunningKube() as plain:
        refused = kubectl_for(plain.kubeconfig(), tmp_path)("get", "ns")
    assert refused.returncode == 1
    assert "You must be logged in to the server" in refused.stderr


DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx
          ports: [{name: http, containerPort: 8080}]
"""


def test_apply_validates_against_the_published_openapi_document(kubectl: Kubectl, namespace: str) -> None:
    applied = kubectl("apply", "-n", namespace, "-f", "-", stdin=DEPLOYMENT)
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.strip() == "deployment.apps/web created"

    misspelt = DEPLOYMENT.replace("replicas: 1", "replicas: 1\n  replica: 2")
    refused = kubectl("apply", "-n", namespace, "-f", "-", stdin=misspelt)
    assert refused.returncode == 1
    assert (
        'error validating data: ValidationError(Deployment.spec): unknown field "replica" in '
        "io.k8s.api.apps.v1.DeploymentSpec" in refused.stderr
    )


def test_explain_reads_the_published_descriptions(kubectl: Kubectl) -> None:
    explained = kubectl("explain", "deployment.spec.replicas")
    assert explained.returncode == 0, explained.stderr
    assert "FIELD:    replicas <integer>" in explained.stdout
    assert "Number of desired pods." in explained.stdout


def _config_map(name: str, namespace: str) -> str:
    return json.dumps(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace}}
    )


def test_server_side_dry_run_answers_without_storing(kubectl: Kubectl, namespace: str) -> None:
    tried = kubectl(
        "apply", "--dry-run=server", "-f", "-", "-o", "json", stdin=_config_map("tried", namespace)
    )
    assert tried.returncode == 0, tried.stderr
    answer = json.loads(tried.stdout)
    assert answer["metadata"]["uid"]
    assert "resourceVersion" not in answer["metadata"]  # etcd assigned none
    missing = kubectl("get", "configmap", "tried", "-n", namespace)
    assert missing.stderr.strip() == 'Error from server (NotFound): configmaps "tried" not found'

    assert kubectl("apply", "-f", "-", stdin=_config_map("kept", namespace)).returncode == 0
    deleted = kubectl("delete", "configmap", "kept", "-n", namespace, "--dry-run=server")
    assert deleted.stdout.strip() == 'configmap "kept" deleted (server dry run)', deleted.stderr
    assert kubectl("get", "configmap", "kept", "-n", namespace).returncode == 0


def test_an_unknown_dry_run_value_is_refused(kubectl: Kubectl, namespace: str) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps?dryRun=Some"
    refused = kubectl("create", "--raw", path, "-f", "-", stdin=_config_map("odd", namespace))
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        'The CreateOptions "" is invalid: dryRun: Unsupported value: []string{"Some"}: '
        'supported values: "All"'
    )


def test_get_prints_the_columns_the_server_renders(kubectl: Kubectl, namespace: str) -> None:
    listed = kubectl("get", "namespace", namespace)
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()
    assert header.split() == ["NAME", "STATUS", "AGE"]
    assert row.split()[:2] == [namespace, "Active"]
