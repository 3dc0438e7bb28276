"""Discovery, CRDs, explain: what ``kubectl version/api-versions/api-resources/get crd/explain`` print
against a K3s v1.21.14 runtime cluster of a Nautes installation (Tekton 0.37, Argo Events 1.7, Argo CD)."""

from __future__ import annotations

import json

import pytest

from tests.fidelity.kubectl.checks.kubectl_stack import Kubectl

pytestmark = pytest.mark.fidelity

TEKTON = {"clustertasks", "pipelineruns", "pipelines", "taskruns", "tasks"}
ARGO_EVENTS = {"eventbus", "eventsources", "sensors"}


def test_version_names_the_k3s_server_and_warns_about_the_skew(kubectl: Kubectl) -> None:
    result = kubectl("version", "-o", "json")
    assert result.returncode == 0, result.stderr
    server = json.loads(result.stdout)["serverVersion"]
    assert (server["gitVersion"], server["major"], server["minor"]) == ("v1.21.14+k3s1", "1", "21")
    skew = "WARNING: version difference between client (1.32) and server (1.21) exceeds the supported minor"
    assert result.stderr.startswith(skew)


def test_api_versions_list_the_groups_the_quickstart_uses(kubectl: Kubectl) -> None:
    versions = set(kubectl.ok("api-versions").split())
    expected = {
        "v1",
        "apps/v1",
        "apiextensions.k8s.io/v1",
        "apiextensions.k8s.io/v1beta1",
        "tekton.dev/v1beta1",
    }
    assert (
        expected | {"tekton.dev/v1alpha1", "argoproj.io/v1alpha1", "rbac.authorization.k8s.io/v1"} <= versions
    )


def test_api_resources_of_tekton(kubectl: Kubectl) -> None:
    names = kubectl.ok("api-resources", "--api-group=tekton.dev", "-o", "name").split()
    assert {f"{plural}.tekton.dev" for plural in TEKTON} <= set(names)
    assert names == sorted(names)


def test_api_resources_table_columns(kubectl: Kubectl) -> None:
    lines = kubectl.ok("api-resources", "--api-group=tekton.dev").splitlines()
    assert lines[0].split() == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:]}
    assert rows["pipelineruns"] == ["pr,prs", "tekton.dev/v1beta1", "true", "PipelineRun"]
    assert rows["clustertasks"] == ["tekton.dev/v1beta1", "false", "ClusterTask"]


def test_api_resources_namespaced_false(kubectl: Kubectl) -> None:
    names = set(kubectl.ok("api-resources", "--namespaced=false", "-o", "name").split())
    assert {"namespaces", "nodes", "customresourcedefinitions.apiextensions.k8s.io"} <= names
    assert "configmaps" not in names


def test_get_crd_lists_the_tekton_and_argo_events_crds(kubectl: Kubectl) -> None:
    lines = kubectl.ok("get", "crd").splitlines()
    assert lines[0].split() == ["NAME", "CREATED", "AT"]  # the default table's "Created At" column
    names = {line.split()[0] for line in lines[1:]}
    assert {f"{plural}.tekton.dev" for plural in TEKTON} <= names
    assert {f"{plural}.argoproj.io" for plural in ARGO_EVENTS} <= names


def test_a_crd_is_established(kubectl: Kubectl) -> None:
    waited = kubectl.ok("wait", "--for=condition=Established", "crd/pipelineruns.tekton.dev", "--timeout=10s")
    assert waited == "customresourcedefinition.apiextensions.k8s.io/pipelineruns.tekton.dev condition met\n"
    versions = kubectl.ok("get", "crd", "pipelineruns.tekton.dev", "-o", "jsonpath={.spec.versions[*].name}")
    assert set(versions.split()) == {"v1alpha1", "v1beta1"}


def test_get_nodes_shows_one_ready_k3s_node(kubectl: Kubectl) -> None:
    lines = kubectl.ok("get", "nodes").splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert len(lines) == 2
    name, status, roles, _age, version = lines[1].split()
    assert (status, roles, version) == ("Ready", "control-plane,master", "v1.21.14+k3s1")
    assert kubectl.ok("wait", "--for=condition=Ready", f"node/{name}", "--timeout=10s").endswith(
        "condition met\n"
    )


def test_explain_a_built_in_field(kubectl: Kubectl) -> None:
    explained = kubectl.ok("explain", "configmap.data")
    assert "KIND:     ConfigMap\nVERSION:  v1\n" in explained
    assert "FIELD:    data <map[string]string>" in explained
    assert "Data contains the configuration data." in explained


def test_explain_a_nested_list_field(kubectl: Kubectl) -> None:
    explained = kubectl.ok("explain", "deployment.spec.template.spec.containers.image")
    assert "KIND:     Deployment\nVERSION:  apps/v1\n" in explained
    assert "FIELD:    image <string>" in explained


def test_explain_a_custom_resource(kubectl: Kubectl) -> None:
    explained = kubectl.ok("explain", "pipelineruns")
    assert explained.startswith("KIND:     PipelineRun\nVERSION:  tekton.dev/v1beta1\n")


def test_explain_an_unknown_field(kubectl: Kubectl) -> None:
    refused = kubectl("explain", "configmap.nonsense")
    assert refused.returncode == 1
    assert refused.stderr.strip() == 'error: field "nonsense" does not exist'
