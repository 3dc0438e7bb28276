"""The real quickstart scenario: it loads, renders, and its documents go on the wire as contract §2.3 shows.

The expected bodies are the contract §2.3 request bodies, field by field (snake_case), with this scenario's
names and with every field the CLI v0.4.2 struct adds (contract §1.4: absent fields are sent as zero values).
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from nautes_e2e.clients import Document, document_request
from nautes_e2e.scenario import Scenario, ScenarioError

QUICKSTART = Path(__file__).resolve().parents[2] / "scenarios" / "quickstart"
KUBECONFIG = (
    "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: Q0EK\n"
    "    server: https://127.0.0.1:6443\n  name: default\ncontexts:\n- context:\n    cluster: default\n"
    "    user: default\n  name: default\ncurrent-context: default\nkind: Config\nusers:\n- name: default\n"
    "  user:\n    token: kube-token-for-the-test\n"
)
VALUES = {
    "api-server": "https://8.217.50.114:6443",
    "cluster-ip": "8.217.50.114",
    "kubeconfig": KUBECONFIG,
    "sc-repo-id": "57",
    "sc-repo-url": "ssh://git@gitlab.example:2222/demo-quickstart/coderepo-sc-demo-quickstart.git",
    "deploy-repo-url": "ssh://git@gitlab.example:2222/demo-quickstart/coderepo-deploy-demo-quickstart.git",
    "registry-url": "registry.example:5000",
}
PRODUCT = "demo-quickstart"


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return Scenario.load(QUICKSTART)


def wire(document: Document) -> tuple[str, dict[str, Any]]:
    path, body = document_request(document)
    return path, json.loads(body)


def test_declares_the_quickstart_variables_and_notes(scenario: Scenario) -> None:
    assert scenario.name == "quickstart"
    assert set(scenario.variables) == {
        "suffix", "cluster-name", "api-server", "cluster-ip", "product-name", "kubeconfig",
        "pipeline-runtime-cluster", "pipeline-runtime-name", "sc-repo-id", "sc-repo-url", "deploy-repo-url",
        "registry-url", "kaniko-extra-args", "host-cluster", "vcluster-name", "api-server-port",
    }  # fmt: skip
    assert scenario.variables["suffix"].default == "quickstart"
    assert all(v.description for v in scenario.variables.values())
    topics = {note.topic for note in scenario.notes}
    assert {
        "cluster components", "reserved namespaces", "pipeline source", "additional resources",
        "service account and Vault role",
    } <= topics  # fmt: skip
    assert len(topics) == len(scenario.notes)  # one note per topic
    assert all(note.quickstart and note.behaviour and note.source for note in scenario.notes)


def test_defaults_derive_names_from_the_suffix(scenario: Scenario) -> None:
    resolved = scenario.resolve({"suffix": "x1"})
    assert resolved["product-name"] == "demo-x1"
    assert resolved["cluster-name"] == "physical-worker-x1"
    assert resolved["pipeline-runtime-cluster"] == "physical-worker-x1"
    assert resolved["pipeline-runtime-name"] == "pr-demo-x1"
    assert scenario.resolve({"cluster-name": "c9"})["pipeline-runtime-cluster"] == "c9"


def test_cluster_document_body_is_the_contract_cluster_body(scenario: Scenario) -> None:
    (document,) = scenario.documents("cluster", VALUES)
    path, body = wire(document)
    assert path == "/api/v1/clusters/physical-worker-quickstart"
    products = [PRODUCT]
    assert body == {
        "name": "physical-worker-quickstart",
        "api_server": "https://8.217.50.114:6443",
        "cluster_kind": "kubernetes",
        "usage": "worker",
        "cluster_type": "physical",
        "worker_type": "pipeline",
        "host_cluster": "",
        "primary_domain": "8.217.50.114.nip.io",
        "kubeconfig": KUBECONFIG,
        "vcluster": {"https_node_port": ""},
        "reserved_namespaces_allowed_products": {
            ns: products
            for ns in (
                "argo-events",
                "argocd",
                "external-secrets",
                "hnc-system",
                "oauth2-proxy",
                "tekton-pipelines",
                "traefik",
                "vault",
            )
        },
        "product_allowed_cluster_resources": {
            PRODUCT: [
                {"kind": "ClusterRole", "group": "authorization.k8s.io"},
                {"kind": "ClusterRoleBinding", "group": "authorization.k8s.io"},
            ]
        },
        "components_list": {
            "deployment": {
                "name": "argocd",
                "namespace": "argocd",
                "additions": {"host": "argocd.physical-worker-quickstart.8.217.50.114.nip.io"},
            },
            "event_listener": {"name": "argo-events", "namespace": "argo-events", "additions": None},
            "gateway": {
                "name": "traefik",
                "namespace": "traefik",
                "additions": {"httpNodePort": "30080", "httpsNodePort": "30443"},
            },
            "multi_tenant": {
                "name": "hnc",
                "namespace": "hnc-system",
                "additions": {
                    "productResourceKustomizeFileFolder": "templates/pipelines",
                    "productResourceRevision": "main",
                    "syncResourceTypes": "tekton.dev/Pipeline",
                },
            },
            "pipeline": {
                "name": "tekton",
                "namespace": "tekton-pipelines",
                "additions": {"host": "tekton.physical-worker-quickstart.8.217.50.114.nip.io"},
            },
            "progressive_delivery": None,
            "secret_sync": {"name": "external-secrets", "namespace": "external-secrets", "additions": None},
        },
    }
    # encoding/json writes struct fields in declaration order
    assert list(body) == [
        "name",
        "api_server",
        "cluster_kind",
        "usage",
        "cluster_type",
        "worker_type",
        "host_cluster",
        "primary_domain",
        "kubeconfig",
        "vcluster",
        "reserved_namespaces_allowed_products",
        "product_allowed_cluster_resources",
        "components_list",
    ]


def test_product_documents_bodies(scenario: Scenario) -> None:
    documents = scenario.documents("product", VALUES)
    assert [(d.kind, d.name) for d in documents] == [
        ("Product", PRODUCT),
        ("Project", "project-demo-quickstart"),
        ("CodeRepo", "coderepo-sc-demo-quickstart"),
        ("CodeRepo", "coderepo-deploy-demo-quickstart"),
        ("CodeRepo", "coderepo-pipeline-demo-quickstart"),
    ]
    product, project, source_repo, deploy_repo, pipeline_repo = (wire(d) for d in documents)
    assert product == (
        f"/api/v1/products/{PRODUCT}",
        {
            "name": PRODUCT,
            "git": {
                "gitlab": {
                    "name": PRODUCT,
                    "path": PRODUCT,
                    "visibility": "private",
                    "description": PRODUCT,
                    "parent_id": 0,
                }
            },
        },
    )
    assert project == (
        f"/api/v1/products/{PRODUCT}/projects/project-demo-quickstart",
        {"name": "project-demo-quickstart", "product": PRODUCT, "language": "golang"},
    )

    def coderepo(name: str, project: str, deployment_runtime: bool) -> dict[str, Any]:
        return {
            "name": name,
            "product": PRODUCT,
            "project": project,
            "git": {
                "gitlab": {
                    "name": name,
                    "path": name,
                    "visibility": "private",
                    "description": name,
                    "ssh_url_to_repo": "",
                    "http_url_to_repo": "",
                }
            },
            "webhook": {"events": ["push_events"]},
            "deployment_runtime": deployment_runtime,
            # the YAML says pipelineRuntime: true; the CLI drops it (contract §1.4)
            "pipeline_runtime": False,
        }

    sc = "coderepo-sc-demo-quickstart"
    deploy = "coderepo-deploy-demo-quickstart"
    pipe = "coderepo-pipeline-demo-quickstart"
    assert source_repo == (
        f"/api/v1/products/{PRODUCT}/coderepos/{sc}",
        coderepo(sc, "project-demo-quickstart", False),
    )
    assert deploy_repo == (f"/api/v1/products/{PRODUCT}/coderepos/{deploy}", coderepo(deploy, "", True))
    assert pipeline_repo == (
        f"/api/v1/products/{PRODUCT}/coderepos/{pipe}",
        coderepo(pipe, "project-demo-quickstart", False),
    )


def test_pipeline_documents_bodies(scenario: Scenario) -> None:
    environment, binding, runtime = (wire(d) for d in scenario.documents("pipeline", VALUES))
    assert environment == (
        f"/api/v1/products/{PRODUCT}/environments/env-dev-demo-quickstart",
        {
            "name": "env-dev-demo-quickstart",
            "product": PRODUCT,
            "cluster": "physical-worker-quickstart",
            "env_type": "dev",
        },
    )
    assert binding == (
        f"/api/v1/products/{PRODUCT}/coderepobindings/coderepobinding-deploy-pipeline-demo-quickstart",
        {
            "name": "coderepobinding-deploy-pipeline-demo-quickstart",
            "product_name": PRODUCT,
            "product": PRODUCT,
            "coderepo": "coderepo-deploy-demo-quickstart",
            "permissions": "readwrite",
            "projects": ["project-demo-quickstart"],
        },
    )
    assert runtime == (
        f"/api/v1/products/{PRODUCT}/projectpipelineruntimes/pr-demo-quickstart",
        {
            "name": "pr-demo-quickstart",
            "account": "",
            "project": "project-demo-quickstart",
            "destination": {"environment": "env-dev-demo-quickstart", "namespace": "pr-demo-quickstart"},
            "isolation": "exclusive",
            "pipelines": [
                {"name": "pipeline-dev-demo-quickstart", "label": "main", "path": "pipelines/main.yaml"}
            ],
            "product": PRODUCT,
            "pipeline_source": "coderepo-sc-demo-quickstart",
            "event_sources": [
                {
                    "name": "webhook",
                    "gitlab": {
                        "repo_name": "coderepo-sc-demo-quickstart",
                        "revision": "main",
                        "events": ["push_events"],
                    },
                    "calendar": None,
                }
            ],
            # `inputs` is omitempty and `hooks` is omitempty: both absent (contract §1.4)
            "pipeline_triggers": [
                {"event_source": "webhook", "pipeline": "pipeline-dev-demo-quickstart", "revision": ""}
            ],
            # the guide's additionalResources; `url` is sent empty (contract §1.4, §2.3)
            "additional_resources": {
                "git": {
                    "coderepo": "coderepo-sc-demo-quickstart",
                    "url": "",
                    "revision": "main",
                    "path": "test",
                }
            },
        },
    )


def test_deployment_repo_files(scenario: Scenario) -> None:
    files = scenario.repo_files("deployment", VALUES)
    assert sorted(files) == ["deployments/test/devops-sample-svc.yaml", "deployments/test/devops-sample.yaml"]
    service, ingress = yaml.safe_load_all(files["deployments/test/devops-sample-svc.yaml"])
    assert service["kind"] == "Service"
    assert ingress["spec"]["rules"][0]["host"] == "devops-sample.8.217.50.114.nip.io"
    (deployment,) = yaml.safe_load_all(files["deployments/test/devops-sample.yaml"])
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["name"] == "ks-sample"
    assert container["image"].startswith("ghcr.io/lanbingcloud/devops-sample:0.0.1-")
    # the pipeline's sed rewrites every line holding the old image path: only the image line may hold it
    text = files["deployments/test/devops-sample.yaml"].decode()
    assert [line.strip() for line in text.splitlines() if "ghcr.io/lanbingcloud/devops-sample" in line] == [
        f"image: {container['image']}"
    ]


def test_sourcecode_repo_files(scenario: Scenario) -> None:
    files = scenario.repo_files("sourcecode", VALUES)
    assert {"pipelines/main.yaml", "pom.xml", "Dockerfile"} <= set(files)
    # the directory the pipeline runtime's additionalResources name (path test), synced by Argo CD
    (pvc,) = yaml.safe_load_all(files["test/pipeline-cache-pvc.yaml"])
    assert pvc["kind"] == "PersistentVolumeClaim"
    assert [name for name in files if name.startswith("test/")] == ["test/pipeline-cache-pvc.yaml"]
    assert any(name.startswith("src/main/java/") and name.endswith(".java") for name in files)
    dockerfile = files["Dockerfile"].decode()
    assert [line.split()[0] for line in dockerfile.splitlines() if line and not line.startswith("#")] == [
        "FROM",
        "COPY",
        "COPY",
    ]
    assert "FROM scratch" in dockerfile
    run = yaml.safe_load(files["pipelines/main.yaml"])
    assert run["kind"] == "PipelineRun"
    assert run["metadata"]["name"] == "main-pipiline"
    spec = run["spec"]
    assert [t["name"] for t in spec["pipelineSpec"]["tasks"]] == [
        "git-clone-sourcecode",
        "git-clone-deployment",
        "mvn-build",
        "image-build",
        "manifest-update",
    ]
    for task_spec in spec["taskRunSpecs"]:
        assert task_spec["taskServiceAccountName"] == "pr-demo-quickstart"
        annotations = task_spec["metadata"]["annotations"]
        assert annotations["vault.hashicorp.com/role"] == "pr-demo-quickstart"
        assert annotations["vault.hashicorp.com/agent-inject-secret-id_ecdsa"].startswith(
            "git/data/gitlab/repo-57/"
        )
    params = {
        t["name"]: {p["name"]: p["value"] for p in t.get("params", [])} for t in spec["pipelineSpec"]["tasks"]
    }
    assert params["git-clone-sourcecode"]["url"] == VALUES["sc-repo-url"]
    assert params["git-clone-deployment"]["url"] == VALUES["deploy-repo-url"]
    assert params["git-clone-sourcecode"]["revision"] == "$(params.REVISION)"
    assert params["image-build"]["IMAGE"] == (
        "registry.example:5000/devops-sample:0.0.1-$(tasks.git-clone-sourcecode.results.commit)"
    )
    script = params["manifest-update"]["GIT_SCRIPT"]
    assert (
        'sed -i -e "s#ghcr.io/lanbingcloud/devops-sample.*#$(tasks.image-build.results.IMAGE_URL)#g"'
        in script
    )
    assert (
        'git commit -a -m "automatic update by pipeline bot: $(tasks.image-build.results.IMAGE_URL)"'
        in script
    )


def test_missing_value_is_reported_for_the_file_that_needs_it(scenario: Scenario) -> None:
    with pytest.raises(
        ScenarioError, match=r"^cluster/physical-worker-pipeline.yaml:\d+: \$api-server has no value"
    ):
        scenario.documents("cluster", {"cluster-ip": "1.2.3.4", "kubeconfig": "k: v"})
    assert scenario.documents("product", {})  # the product group needs only defaults


def test_values_for_undeclared_variables_are_refused(scenario: Scenario) -> None:
    with pytest.raises(ScenarioError, match="undeclared variables"):
        scenario.documents("product", {"sufix": "typo"})


def test_unknown_group_or_repo_is_refused(scenario: Scenario) -> None:
    with pytest.raises(ScenarioError, match="no document group 'products'"):
        scenario.documents("products", {})
    with pytest.raises(ScenarioError, match="no repo 'source'"):
        scenario.repo_files("source", {})


@pytest.fixture
def scenario_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "quickstart"
    shutil.copytree(QUICKSTART, copy)
    return copy


def test_load_refuses_a_typo_in_any_template_before_anything_is_sent(scenario_copy: Path) -> None:
    main = scenario_copy / "sourcecode" / "pipelines" / "main.yaml"
    main.write_text(main.read_text().replace("$sc-repo-url", "$sc-repo-ulr"))
    with pytest.raises(ScenarioError, match=rf"^{re.escape(str(main))}:\d+: \$sc-repo-ulr is not a declared"):
        Scenario.load(scenario_copy)


def test_load_refuses_a_document_the_cli_could_not_decode(scenario_copy: Path) -> None:
    pipeline = scenario_copy / "pipeline.yaml"
    pipeline.write_text(pipeline.read_text().replace("  isolation: exclusive", "  isolation: [exclusive]"))
    with pytest.raises(
        ScenarioError, match=r"pipeline.yaml#3 spec.isolation: cannot unmarshal !!seq into string"
    ):
        Scenario.load(scenario_copy)


def test_load_refuses_unknown_keys_and_default_cycles(scenario_copy: Path) -> None:
    spec_file = scenario_copy / "scenario.yaml"
    original = yaml.safe_load(spec_file.read_text())
    spec_file.write_text(yaml.safe_dump({**original, "extra": 1}))
    with pytest.raises(ScenarioError, match=r"quickstart/scenario\.yaml: extra: unknown key$"):
        Scenario.load(scenario_copy)
    cyclic = dict(original)
    cyclic["variables"] = {
        **original["variables"],
        "suffix": {"description": "d", "default": "$cluster-name"},
    }
    spec_file.write_text(yaml.safe_dump(cyclic))
    with pytest.raises(ScenarioError, match="cycle"):
        Scenario.load(scenario_copy)


def write_spec(directory: Path, change: Callable[[dict[str, Any]], object]) -> None:
    """Rewrite ``directory/scenario.yaml`` after ``change`` edited its parsed content in place."""
    spec_file = directory / "scenario.yaml"
    spec = yaml.safe_load(spec_file.read_text())
    change(spec)
    spec_file.write_text(yaml.safe_dump(spec, sort_keys=False))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda spec: spec["notes"][2].update(source=""), "notes[2].source: must be a non-empty string"),
        (lambda spec: spec["notes"][0].pop("behaviour"), "notes[0].behaviour: is required"),
        (lambda spec: spec["notes"][1].update(sources="x"), "notes[1].sources: unknown key"),
        (lambda spec: spec.update(notes={"topic": "t"}), "notes: must be a list"),
        (
            lambda spec: spec["variables"].update(Suffix={"description": "d"}),
            "variables.Suffix: names must match [a-z](?:[a-z0-9-]*[a-z0-9])?",
        ),
        (
            lambda spec: spec["variables"]["suffix"].update(default=5),
            "variables.suffix.default: must be a non-empty string",
        ),
        (
            lambda spec: spec["documents"]["product"].append("absent.yaml"),
            "documents.product[1]: absent.yaml does not exist",
        ),
        (
            lambda spec: spec["documents"].update(cluster=["../quickstart/product.yaml"]),
            "documents.cluster[0]: must be a path inside the scenario directory",
        ),
        (lambda spec: spec["repos"].update(deployment="product.yaml"), "repos.deployment: directory product"),
        (lambda spec: spec.pop("description"), "description: is required"),
    ],
)
def test_load_names_the_field_at_fault(
    scenario_copy: Path, change: Callable[[dict[str, Any]], object], message: str
) -> None:
    write_spec(scenario_copy, change)
    with pytest.raises(ScenarioError) as caught:
        Scenario.load(scenario_copy)
    assert str(caught.value).startswith(f"{scenario_copy / 'scenario.yaml'}: {message}")
    assert "\n" not in str(caught.value)  # that one problem only


def test_load_names_the_line_of_a_yaml_syntax_error(scenario_copy: Path) -> None:
    (scenario_copy / "scenario.yaml").write_text("name: quickstart\nnotes: [\n")
    with pytest.raises(ScenarioError, match=r"scenario\.yaml: not valid YAML at line 3, column 1: "):
        Scenario.load(scenario_copy)
