"""The tenant management cluster, where Nautes v0.4's CRs live (contract §3.5, §3.6): its CRDs, explain
and client-side validation from their published schemas, and the apiserver's own validation of a CR, as
against K3s v1.21.14 with NAUTES v0.4.2's CRDs."""

from __future__ import annotations

import pytest

from tests.fidelity.kubectl.checks.kubectl_stack import Kubectl

pytestmark = pytest.mark.fidelity

NAUTES_KINDS = {
    "artifactrepoes",
    "artifactrepoproviders",
    "clusters",
    "coderepobindings",
    "coderepoes",
    "coderepoproviders",
    "deploymentruntimes",
    "environments",
    "productproviders",
    "products",
    "projectartifactrepoes",
    "projectpipelineruntimes",
    "projects",
}
CLUSTER = """\
apiVersion: nautes.resource.nautes.io/v1alpha1
kind: Cluster
metadata:
  name: kubectl-check
  namespace: nautes
spec:
  apiServer: "https://127.0.0.1:6443"
  clusterKind: kubernetes
  usage: worker
  workerType: pipeline
  componentsList: {}
"""


def test_get_crd_lists_the_nautes_crds(management: Kubectl) -> None:
    names = {line.split()[0] for line in management.ok("get", "crd").splitlines()[1:]}
    assert {f"{kind}.nautes.resource.nautes.io" for kind in NAUTES_KINDS} <= names
    assert "applications.argoproj.io" in names


def test_explain_a_nautes_field(management: Kubectl) -> None:
    explained = management.ok("explain", "clusters.spec")
    assert explained.startswith("KIND:     Cluster\nVERSION:  nautes.resource.nautes.io/v1alpha1\n")
    assert "ClusterSpec defines the desired state of Cluster" in explained
    assert "   apiServer\t<string> -required-\n" in explained


def test_a_cr_missing_a_required_field_is_refused_by_kubectl(management: Kubectl) -> None:
    refused = management("apply", "-f", "-", stdin=CLUSTER)
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        'error: error validating "STDIN": error validating data: ValidationError(Cluster.spec): '
        'missing required field "clusterType" in io.nautes.resource.nautes.v1alpha1.Cluster.spec; '
        "if you choose to ignore these errors, turn validation off with --validate=false"
    )


def test_a_cr_breaking_a_pattern_is_refused_by_the_apiserver(management: Kubectl) -> None:
    wrong = CLUSTER.replace("https://127.0.0.1:6443", "ftp-nope").replace(
        "usage: worker", "usage: worker\n  clusterType: physical"
    )
    refused = management("apply", "-f", "-", stdin=wrong)
    assert refused.returncode == 1
    assert refused.stderr.startswith(
        'The Cluster "kubectl-check" is invalid: spec.apiServer: Invalid value: "ftp-nope": '
        "spec.apiServer in body should match 'https?:"
    )


def test_server_side_dry_run_of_a_valid_cr(management: Kubectl) -> None:
    valid = CLUSTER.replace("usage: worker", "usage: worker\n  clusterType: physical")
    answered = management.ok("apply", "--dry-run=server", "-f", "-", stdin=valid)
    assert answered == "cluster.nautes.resource.nautes.io/kubectl-check created (server dry run)\n"
    missing = management("get", "clusters", "kubectl-check", "-n", "nautes")
    assert missing.stderr.strip() == (
        'Error from server (NotFound): clusters.nautes.resource.nautes.io "kubectl-check" not found'
    )


def test_the_runtime_cluster_holds_no_nautes_crd(kubectl: Kubectl) -> None:
    """Nautes' CRs live on the tenant management cluster only (contract §3.5)."""
    names = kubectl.ok("get", "crd", "-o", "name").split()
    assert not [name for name in names if name.endswith(".nautes.resource.nautes.io")]


def test_the_nautes_short_names(management: Kubectl) -> None:
    lines = management.ok("api-resources", "--api-group=nautes.resource.nautes.io").splitlines()
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:]}
    assert rows["projectpipelineruntimes"][:2] == ["ppr", "nautes.resource.nautes.io/v1alpha1"]
    assert rows["deploymentruntimes"][:2] == ["dr", "nautes.resource.nautes.io/v1alpha1"]
    listed = management("get", "ppr", "-A")
    assert listed.returncode == 0, listed.stderr


def test_the_tenant_application_of_argo_cd(management: Kubectl) -> None:
    """Argo CD syncs the tenant repository into the cluster (contract §3.5: ``<tenant>-management``)."""
    lines = management.ok("get", "applications", "-n", "argocd").splitlines()
    assert lines[0].split() == ["NAME", "SYNC", "STATUS", "HEALTH", "STATUS"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:]}
    management_apps = [name for name in rows if name.endswith("-management")]
    assert management_apps, f"no <tenant>-management application among {sorted(rows)}"
    assert rows[management_apps[0]] == ["Synced", "Healthy"]
