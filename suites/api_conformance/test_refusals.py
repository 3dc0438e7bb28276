"""Refusals that need nothing to exist: validation (PGV, then the service's own checks) and unknown
clusters and products. Each is refused before any side effect (contract §2.5-§2.6).

The cluster saves never pass validation (every body breaks a rule before the tenant repository is
touched), so no cluster is ever registered here.
"""

from __future__ import annotations

import pytest

from suites.api_conformance.cases import RefusalCase
from suites.api_conformance.conftest import ConformanceNames
from suites.api_conformance.wire import Refusal, Wire, expect_refusal

CLUSTER = "/api/v1/clusters/{absent_cluster}"
PRODUCT = "/api/v1/products/{absent_product}"
CLUSTER_PROTO = "NAUTES api/api-server/cluster/v1/cluster.proto (generated cluster.pb.validate.go)"
CLUSTER_SERVICE = "NAUTES app/api-server/internal/service/cluster.go"
CLUSTERS_PKG = "NAUTES app/api-server/pkg/clusters/clusters.go"
BIZ_ERRORS = "NAUTES app/api-server/internal/biz/errors.go"
SAVE_REQUEST = "failed to validate save request, err: "
PRODUCT_PROTO = "NAUTES api/api-server/product/v1/product.proto (generated product.pb.validate.go)"
PGV = "invalid SaveRequest.Body: embedded message failed validation | caused by: "
GROUP_NOT_FOUND = (
    "failed to get group, err: GET {any}/api/v4/groups/{absent_product}: 404 {{message: 404 Group Not Found}}"
)
WORKER = {"api_server": "https://192.0.2.10:6443", "cluster_kind": "kubernetes", "cluster_type": "physical"}
#: A body that passes every check before the kubeconfig is stored: each case breaks one rule of it.
PIPELINE_WORKER = {**WORKER, "usage": "worker", "worker_type": "pipeline"}
CLUSTER_WEBHOOK = "NAUTES api/kubernetes/v1alpha1/cluster_webhook.go"
RUNTIME = {
    "project": "absent-project",
    "pipeline_source": "absent-repo",
    "pipelines": [{"name": "pipeline", "label": "main", "path": "pipelines/main.yaml"}],
    "event_sources": [{"name": "webhook", "gitlab": {"repo_name": "absent-repo", "events": ["push_events"]}}],
    "pipeline_triggers": [{"event_source": "webhook", "pipeline": "pipeline"}],
    "destination": {"environment": "absent-env", "namespace": ""},
    "isolation": "exclusive",
}

CASES = [
    # --- Cluster: PGV, then the service's checks, in evaluation order (contract §2.6.1) ---------------
    RefusalCase(
        "pgv-cluster-empty-body", "POST", CLUSTER, {},
        Refusal(400, "VALIDATOR",
                PGV + "invalid SaveRequest_Body.ApiServer: value length must be at least 1 runes",
                f"contract §2.5 (a {{}} body fails PGV), §2.6.1 step 1; {CLUSTER_PROTO}"),
    ),
    RefusalCase(
        "pgv-cluster-type", "POST", CLUSTER, {**WORKER, "cluster_type": "bare-metal", "usage": "worker"},
        Refusal(400, "VALIDATOR",
                PGV + "invalid SaveRequest_Body.ClusterType: value must be in list [physical virtual]",
                f"contract §2.5 PGV shapes, §2.6.1 step 1; {CLUSTER_PROTO}"),
    ),
    RefusalCase(
        "pgv-cluster-usage", "POST", CLUSTER, {**WORKER, "usage": "runtime"},
        Refusal(400, "VALIDATOR", PGV + "invalid SaveRequest_Body.Usage: value must be in list [host worker]",
                f"contract §2.5 example, §2.6.1 step 1; {CLUSTER_PROTO}"),
    ),
    RefusalCase(
        "cluster-zero-length-body", "POST", CLUSTER, None,
        Refusal(500, "", SAVE_REQUEST + "the apiserver  is not an https URL",
                f"contract §2.5 (a zero-length body leaves body nil, PGV skips it); {CLUSTER_SERVICE}"),
    ),
    RefusalCase(
        "cluster-api-server-not-https", "POST", CLUSTER,
        {**WORKER, "api_server": "ftp://192.0.2.10", "usage": "worker"},
        Refusal(500, "", SAVE_REQUEST + "the apiserver ftp://192.0.2.10 is not an https URL",
                f"contract §2.6.1 step 2; {CLUSTER_SERVICE}"),
    ),
    RefusalCase(
        "cluster-worker-needs-worker-type", "POST", CLUSTER, {**WORKER, "usage": "worker"},
        Refusal(500, "",
                SAVE_REQUEST + "when the cluster usage is 'worker', the 'WorkerType' field is required",
                f"contract §2.5 example, §2.6.1 step 4; {CLUSTER_SERVICE}"),
    ),
    RefusalCase(
        "cluster-virtual-needs-host", "POST", CLUSTER,
        {**WORKER, "cluster_type": "virtual", "usage": "worker", "worker_type": "pipeline"},
        Refusal(500, "", SAVE_REQUEST + "the 'Host Cluster' for virtual cluster is required",
                f"contract §2.6.1 step 3; {CLUSTER_SERVICE}"),
    ),
    RefusalCase(
        "cluster-host-with-worker-type", "POST", CLUSTER,
        {**WORKER, "usage": "host", "worker_type": "pipeline"},
        Refusal(500, "", "failed to construct cluster, err: failed to match component type "
                "[host|physical|pipeline], please check if the cluster {absent_cluster} is correct",
                "contract §2.6.1 step 5; NAUTES app/api-server/pkg/config/cluster/cluster.go"),
    ),
    RefusalCase(
        "cluster-host-virtual", "POST", CLUSTER, {**WORKER, "cluster_type": "virtual", "usage": "host"},
        Refusal(500, "", "failed to construct cluster, err: failed to match component type "
                "[host|virtual|], please check if the cluster {absent_cluster} is correct",
                "contract §2.6.1 step 5 (host+virtual fails here); "
                "NAUTES app/api-server/pkg/config/cluster/cluster.go"),
    ),
    RefusalCase(
        "cluster-unknown-component", "POST", CLUSTER,
        {**PIPELINE_WORKER, "components_list": {"gateway": {"name": "nginx", "namespace": "nginx"}}},
        Refusal(500, "", "failed to construct cluster, err: failed to get nginx component for the component "
                "type 'gateway'",
                "contract §2.6.1 step 7 (the inner 'failed to get component <n> from third-part components "
                "list' is dropped); NAUTES app/api-server/internal/service/cluster.go fillDefaultFields"),
    ),
    RefusalCase(
        "cluster-node-port-not-numeric", "POST", CLUSTER,
        {**PIPELINE_WORKER, "components_list": {"gateway": {"name": "traefik", "namespace": "traefik",
                                                            "additions": {"httpNodePort": "http"}}}},
        Refusal(500, "", "failed to validate cluster, err: validation of component list failed with errors: "
                "the value http of the component matches incorrectly, meeting the following rule: ^[0-9]+$",
                f"contract §2.6.1 step 8; {CLUSTER_WEBHOOK}"),
    ),
    RefusalCase(
        "cluster-physical-with-host", "POST", CLUSTER,
        {**PIPELINE_WORKER, "host_cluster": "{absent_cluster}"},
        Refusal(500, "", "failed to validate cluster, err: host cluster can not belong to another host",
                f"contract §2.6.1 step 10 (static checks); {CLUSTER_WEBHOOK}"),
    ),
    RefusalCase(
        "cluster-reserved-namespace-unknown", "POST", CLUSTER,
        {**PIPELINE_WORKER,
         "reserved_namespaces_allowed_products": {"no-such-namespace": ["{absent_product}"]}},
        Refusal(500, "", "failed to validate cluster, err: reserved namespace no-such-namespace is not in "
                "component list", f"contract §2.6.1 step 10 (static checks); {CLUSTER_WEBHOOK}"),
    ),
    RefusalCase(
        "cluster-physical-needs-kubeconfig", "POST", CLUSTER, PIPELINE_WORKER,
        Refusal(500, "", "failed to save kubeconfig to secret store, err: register physical cluster, "
                "kubeconfig is not empty",
                "contract §2.6.1 step 11; NAUTES app/api-server/internal/biz/cluster.go"),
    ),
    RefusalCase(
        "cluster-get-absent", "GET", CLUSTER, None,
        Refusal(500, "", "the cluster resource {absent_cluster} is not found",
                f"contract §2.5 not-found per operation; {CLUSTERS_PKG}"),
    ),
    RefusalCase(
        "cluster-delete-absent", "DELETE", CLUSTER, None,
        Refusal(500, "", "the cluster resource {absent_cluster} is not found",
                f"contract §2.5 not-found per operation; {CLUSTERS_PKG}"),
    ),
    # --- Product: PGV, the service's path rule, an unknown product (contract §2.6.2, §2.5) ------------
    RefusalCase(
        "pgv-product-git-required", "POST", PRODUCT, {},
        Refusal(400, "VALIDATOR", "invalid SaveProductRequest.Git: value is required",
                f"contract §2.5 PGV shapes, §2.6.2; {PRODUCT_PROTO}"),
    ),
    RefusalCase(
        "pgv-product-visibility", "POST", PRODUCT, {"git": {"gitlab": {"path": "{absent_product}"}}},
        Refusal(400, "VALIDATOR", "invalid SaveProductRequest.Git: embedded message failed validation | "
                "caused by: invalid Git.Gitlab: embedded message failed validation | caused by: "
                "invalid Gitlab.Visibility: value must be in list [public private]",
                f"contract §2.5 PGV shapes, §2.6.2; {PRODUCT_PROTO}"),
    ),
    RefusalCase(
        "product-path-must-be-name", "POST", PRODUCT,
        {"git": {"gitlab": {"path": "{absent_product}-x", "visibility": "private"}}},
        Refusal(500, "", "when creating a GitLab group, the path must be consistent with the product name. "
                "the expected name is {absent_product}, but it is currently {absent_product}-x",
                "contract §2.6.2; NAUTES app/api-server/internal/service/product.go"),
    ),
    RefusalCase(
        "product-get-absent", "GET", PRODUCT, None,
        Refusal(500, "", "there are no default projects under this product",
                "contract §2.5 not-found per operation; NAUTES app/api-server/internal/biz/product.go"),
    ),
    RefusalCase(
        "product-delete-absent", "DELETE", PRODUCT, None,
        Refusal(404, "GROUP_NOT_FOUND", GROUP_NOT_FOUND,
                "contract §2.5 GROUP_NOT_FOUND; NAUTES app/api-server/internal/biz/product.go DeleteProduct"),
    ),
    # --- Product-scoped requests naming a product that does not exist (contract §2.5) ----------------
    RefusalCase(
        "absent-product-project-save", "POST", PRODUCT + "/projects/project", {"language": "golang"},
        Refusal(404, "GROUP_NOT_FOUND", GROUP_NOT_FOUND,
                f"contract §2.5 unknown product (saves); {BIZ_ERRORS}"),
    ),
    RefusalCase(
        "absent-product-environment-save", "POST", PRODUCT + "/environments/env",
        {"cluster": "{absent_cluster}", "env_type": "dev"},
        Refusal(404, "GROUP_NOT_FOUND", GROUP_NOT_FOUND,
                f"contract §2.5 unknown product (saves); {BIZ_ERRORS}"),
    ),
    RefusalCase(
        "absent-product-project-get", "GET", PRODUCT + "/projects/project", None,
        Refusal(404, "GROUP_NOT_FOUND", GROUP_NOT_FOUND,
                f"contract §2.5 unknown product (gets); {BIZ_ERRORS}"),
    ),
    RefusalCase(
        "absent-product-project-list", "GET", PRODUCT + "/projects", None,
        Refusal(404, "GROUP_NOT_FOUND", "{any}" + GROUP_NOT_FOUND + "{any}",
                f"contract §2.5 unknown product (lists); {BIZ_ERRORS}"),
    ),
    RefusalCase(
        "absent-product-coderepo-get", "GET", PRODUCT + "/coderepos/absent-repo", None,
        Refusal(404, "PROJECT_NOT_FOUND", "failed to get project, err: GET {any}/api/v4/projects/"
                "{absent_product}/absent-repo: 404 {{message: 404 Project Not Found}}",
                "contract §2.5 unknown product (CodeRepo GET: PROJECT_NOT_FOUND); "
                "NAUTES app/api-server/internal/biz/coderepo.go"),
    ),
    RefusalCase(
        "absent-product-runtime-save", "POST", PRODUCT + "/projectpipelineruntimes/runtime", RUNTIME,
        Refusal(500, "", "failed to get codeRepo name when converting pipeline repository name, err: "
                "failed to convert repository name absent-repo to codeRepo name, err: error: code = 404 "
                "reason = PROJECT_NOT_FOUND message = failed to get project, err: GET {any}/api/v4/projects/"
                "{absent_product}/absent-repo: 404 {{message: 404 Project Not Found}} "
                "metadata = map[] cause = <nil>",
                "contract §2.5 wrapping rule (PPR save: a wrapped 500); NAUTES app/api-server/internal/biz/"
                "common.go, biz/projectpipelineruntime.go; KRATOS errors/errors.go Error()"),
    ),
    # --- The decoder takes a field's proto name as well as its json name (contract §2.1) --------------
    RefusalCase(
        "pgv-environment-env-type", "POST", PRODUCT + "/environments/env", {"cluster": "{absent_cluster}"},
        Refusal(400, "VALIDATOR",
                PGV + "invalid SaveRequest_Body.EnvType: value length must be at least 1 runes",
                "contract §2.6.5 PGV; NAUTES api/api-server/environment/v1/environment.proto"),
    ),
    RefusalCase(
        "decoder-accepts-proto-name", "POST", PRODUCT + "/environments/env",
        {"cluster": "{absent_cluster}", "envType": "dev"},  # proto name envType, json name env_type
        Refusal(404, "GROUP_NOT_FOUND", GROUP_NOT_FOUND,
                "contract §2.1 (the request decoder also accepts the proto field name: envType passes PGV, "
                "the product lookup answers); KRATOS encoding/json/json.go (protojson)"),
    ),
    # --- insecure_skip_check skips the global check only (contract §2.6) -----------------------------
    RefusalCase(
        "skip-check-keeps-pgv", "POST", PRODUCT + "/environments/env?insecure_skip_check=true",
        {"cluster": "", "env_type": "dev"},
        Refusal(400, "VALIDATOR",
                PGV + "invalid SaveRequest_Body.Cluster: value length must be at least 1 runes",
                "contract §2.6 generic (PGV always runs), §2.1 middleware order (validator before the "
                "handler); NAUTES api/api-server/environment/v1/environment.proto"),
    ),
]  # fmt: skip


@pytest.mark.parametrize("case", [case.param() for case in CASES])
def test_refused(case: RefusalCase, wire: Wire, names: ConformanceNames) -> None:
    filled = case.filled(names.values())
    expect_refusal(wire.send(filled.method, filled.path, filled.body), filled.refusal)
