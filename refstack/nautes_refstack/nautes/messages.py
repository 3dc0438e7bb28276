"""The request messages of the eight Nautes APIs, transcribed from ``api/api-server/*/v1/*.proto`` (v0.4.2).

Field order is the proto declaration order (PGV reports the first violation in that order); proto names,
JSON names and Go field names are kept exactly, because clients may send either name and PGV messages
print the Go names (``invalid SaveRequest_Body.ApiServer: ...``).
"""

from __future__ import annotations

from dataclasses import dataclass

from nautes_refstack.nautes.protojson import (
    REQUIRED,
    Field,
    Schema,
    boolean,
    list_value_map,
    message,
    messages,
    min_items,
    min_len,
    one_of,
    string,
    string_map,
    strings,
)


@dataclass(frozen=True)
class KindRequests:
    """The request schemas of one API: Get, List, Save and Delete."""

    get: Schema
    list: Schema
    save: Schema
    delete: Schema


def _simple(package: str, name: str, *fields: Field) -> Schema:
    return Schema(name, f"api.{package}.v1.{name}", fields)


# --- Cluster ----------------------------------------------------------------------------------------

_COMPONENT = Schema(
    "Component",
    "api.cluster.v1.Component",
    (string("name"), string("namespace"), string_map("additions")),
)
_COMPONENTS_LIST = Schema(
    "ComponentsList",
    "api.cluster.v1.ComponentsList",
    tuple(
        message(name, _COMPONENT)
        for name in (
            "multi_tenant",
            "secret_sync",
            "gateway",
            "deployment",
            "progressive_delivery",
            "pipeline",
            "event_listener",
        )
    ),
)
CLUSTER_BODY = Schema(
    "SaveRequest_Body",
    "api.cluster.v1.SaveRequest.Body",
    (
        string("api_server", min_len(1)),
        string("cluster_kind", min_len(1)),
        string("cluster_type", one_of("physical", "virtual")),
        string("usage", one_of("host", "worker")),
        string("host_cluster"),
        message("vcluster", Schema("Vcluster", "api.cluster.v1.Vcluster", (string("https_node_port"),))),
        string("kubeconfig"),
        string("worker_type"),
        string("primary_domain"),
        list_value_map("reserved_namespaces_allowed_products"),
        list_value_map("product_allowed_cluster_resources"),
        message("components_list", _COMPONENTS_LIST),
    ),
)
CLUSTER = KindRequests(
    get=_simple("cluster", "GetRequest", string("cluster_name")),
    list=_simple("cluster", "ListsRequest", string("field_selector")),
    save=_simple(
        "cluster",
        "SaveRequest",
        string("cluster_name"),
        boolean("insecure_skip_check"),
        message("body", CLUSTER_BODY),
    ),
    delete=_simple("cluster", "DeleteRequest", string("cluster_name"), boolean("insecure_skip_check")),
)

# --- Product ----------------------------------------------------------------------------------------


def _git_group(package: str, type_name: str) -> Schema:
    return Schema(
        type_name,
        f"api.{package}.v1.{type_name}",
        (
            string("name"),
            string("path"),
            string("visibility", one_of("public", "private")),
            string("description"),
        ),
    )


PRODUCT_GIT = Schema(
    "Git",
    "api.product.v1.Git",
    (message("gitlab", _git_group("product", "Gitlab")), message("github", _git_group("product", "Github"))),
)
PRODUCT = KindRequests(
    get=_simple("product", "GetProductRequest", string("product_name")),
    list=_simple("product", "ListProductsRequest", string("field_selector")),
    save=_simple(
        "product", "SaveProductRequest", string("product_name"), message("git", PRODUCT_GIT, REQUIRED)
    ),
    delete=_simple("product", "DeleteProductRequest", string("product_name")),
)

# --- Project ----------------------------------------------------------------------------------------

PROJECT_BODY = Schema("SaveRequest_Body", "api.project.v1.SaveRequest.Body", (string("language"),))
PROJECT = KindRequests(
    get=_simple("project", "GetRequest", string("product_name"), string("project_name")),
    list=_simple("project", "ListsRequest", string("product_name"), string("field_selector")),
    save=_simple(
        "project",
        "SaveRequest",
        string("product_name"),
        string("project_name"),
        boolean("insecure_skip_check", json_name="insecureSkipCheck"),
        message("body", PROJECT_BODY),
    ),
    delete=_simple(
        "project",
        "DeleteRequest",
        string("project_name"),
        string("product_name"),
        boolean("insecure_skip_check", json_name="insecureSkipCheck"),
    ),
)

# --- Environment ------------------------------------------------------------------------------------

ENVIRONMENT_BODY = Schema(
    "SaveRequest_Body",
    "api.environment.v1.SaveRequest.Body",
    (string("cluster", min_len(1)), string("envType", min_len(1), json_name="env_type", go_name="EnvType")),
)
_SKIP_CHECK = boolean("insecureSkipCheck", json_name="insecure_skip_check", go_name="InsecureSkipCheck")
ENVIRONMENT = KindRequests(
    get=_simple(
        "environment",
        "GetRequest",
        string("product_name"),
        string("environmentName", json_name="enviroment_name", go_name="EnvironmentName"),
    ),
    list=_simple("environment", "ListsRequest", string("product_name"), string("field_selector")),
    save=_simple(
        "environment",
        "SaveRequest",
        string("product_name"),
        string("environmentName", json_name="environment_name", go_name="EnvironmentName"),
        _SKIP_CHECK,
        message("body", ENVIRONMENT_BODY),
    ),
    delete=_simple(
        "environment",
        "DeleteRequest",
        string("product_name"),
        string("environmentName", json_name="environment_name", go_name="EnvironmentName"),
        _SKIP_CHECK,
    ),
)

# --- CodeRepo ---------------------------------------------------------------------------------------

_CODEREPO_GITLAB = _git_group("coderepo", "Gitlab")
_CODEREPO_GITHUB = Schema(
    "Github",
    "api.coderepo.v1.Github",
    (
        string("name", min_len(1)),
        string("path", min_len(1)),
        string("visibility", one_of("public", "private")),
        string("description"),
    ),
)
CODEREPO_BODY = Schema(
    "SaveRequest_Body",
    "api.coderepo.v1.SaveRequest.Body",
    (
        string("project"),
        message(
            "webhook", Schema("Webhook", "api.coderepo.v1.Webhook", (strings("Events", json_name="events"),))
        ),
        boolean("DeploymentRuntime", json_name="deployment_runtime", go_name="DeploymentRuntime"),
        boolean("PipelineRuntime", json_name="pipeline_runtime", go_name="PipelineRuntime"),
        message(
            "git",
            Schema(
                "Git",
                "api.coderepo.v1.Git",
                (message("gitlab", _CODEREPO_GITLAB), message("github", _CODEREPO_GITHUB)),
            ),
            REQUIRED,
        ),
    ),
)
_CODEREPO_NAME = string("coderepoName", json_name="coderepo_name", go_name="CoderepoName")
CODEREPO = KindRequests(
    get=_simple("coderepo", "GetRequest", string("product_name"), _CODEREPO_NAME),
    list=_simple("coderepo", "ListsRequest", string("product_name"), string("field_selector")),
    save=_simple(
        "coderepo",
        "SaveRequest",
        string("product_name"),
        _CODEREPO_NAME,
        _SKIP_CHECK,
        message("body", CODEREPO_BODY),
    ),
    delete=_simple("coderepo", "DeleteRequest", string("product_name"), _CODEREPO_NAME, _SKIP_CHECK),
)

# --- CodeRepoBinding --------------------------------------------------------------------------------

CODEREPOBINDING_BODY = Schema(
    "SaveRequest_Body",
    "api.coderepobinding.v1.SaveRequest.Body",
    (
        string("product"),
        strings("projects"),
        string("permissions", one_of("readonly", "readwrite")),
        string("coderepo", min_len(1)),
    ),
)
CODEREPOBINDING = KindRequests(
    get=_simple("coderepobinding", "GetRequest", string("product_name"), string("coderepo_binding_name")),
    list=_simple("coderepobinding", "ListsRequest", string("product_name"), string("field_selector")),
    save=_simple(
        "coderepobinding",
        "SaveRequest",
        string("product_name"),
        string("coderepo_binding_name"),
        boolean("insecure_skip_check"),
        message("body", CODEREPOBINDING_BODY),
    ),
    delete=_simple(
        "coderepobinding",
        "DeleteRequest",
        string("product_name"),
        string("coderepo_binding_name"),
        boolean("insecure_skip_check"),
    ),
)

# --- ProjectPipelineRuntime ---------------------------------------------------------------------------


def _ppr(type_name: str, *fields: Field) -> Schema:
    return _simple("projectpipelineruntime", type_name, *fields)


_HOOK = _ppr("Hook", string("name"), string_map("vars"), string("alias"))
_PPR_INPUT = _ppr(
    "UserPipelineInput",
    message("source", _ppr("UserPipelineInputSource", string("built_in_var"), string("from_event"))),
    message(
        "transmission_method",
        _ppr(
            "TransmissionMethod",
            message("kustomization", _ppr("TransmissionMethodKustomization", string("path"))),
        ),
    ),
)
PPR_BODY = Schema(
    "SaveRequest_Body",
    "api.projectpipelineruntime.v1.SaveRequest.Body",
    (
        string("project", min_len(1)),
        string("pipeline_source", min_len(1)),
        messages(
            "pipelines",
            _ppr("Pipeline", string("name", min_len(1)), string("label"), string("path", min_len(1))),
            min_items(1),
        ),
        messages(
            "event_sources",
            _ppr(
                "EventSource",
                string("name", min_len(1)),
                message(
                    "gitlab",
                    _ppr("Gitlab", string("repo_name", min_len(1)), string("revision"), strings("events")),
                ),
                message(
                    "calendar",
                    _ppr(
                        "Calendar",
                        string("schedule"),
                        string("interval"),
                        strings("exclusion_dates"),
                        string("timezone"),
                    ),
                ),
            ),
            min_items(1),
        ),
        messages(
            "pipeline_triggers",
            _ppr(
                "PipelineTriggers",
                string("event_source", min_len(1)),
                string("pipeline", min_len(1)),
                string("revision"),
                messages("inputs", _PPR_INPUT),
            ),
            min_items(1),
        ),
        message(
            "destination",
            _ppr("ProjectPipelineDestination", string("environment", min_len(1)), string("namespace")),
        ),
        string("isolation", one_of("shared", "exclusive")),
        message(
            "additional_resources",
            _ppr(
                "ProjectPipelineRuntimeAdditionalResources",
                message(
                    "git",
                    _ppr(
                        "ProjectPipelineRuntimeAdditionalResourcesGit",
                        string("coderepo"),
                        string("url"),
                        string("revision"),
                        string("path"),
                    ),
                ),
            ),
        ),
        string("account"),
        message("hooks", _ppr("Hooks", messages("pre_hooks", _HOOK), messages("post_hooks", _HOOK))),
    ),
)
_PPR_NAME = string("project_pipeline_runtime_name")
PROJECT_PIPELINE_RUNTIME = KindRequests(
    get=_ppr("GetRequest", string("product_name"), _PPR_NAME),
    list=_ppr("ListsRequest", string("product_name"), string("field_selector")),
    save=_ppr(
        "SaveRequest",
        string("product_name"),
        _PPR_NAME,
        boolean("insecure_skip_check"),
        message("body", PPR_BODY),
    ),
    delete=_ppr("DeleteRequest", string("product_name"), _PPR_NAME, boolean("insecure_skip_check")),
)

# --- DeploymentRuntime ------------------------------------------------------------------------------

DR_BODY = Schema(
    "SaveRequest_Body",
    "api.deploymentruntime.v1.SaveRequest.Body",
    (
        strings("projectsRef", json_name="projects_ref", go_name="ProjectsRef"),
        message(
            "manifestSource",
            _simple(
                "deploymentruntime",
                "ManifestSource",
                string("CodeRepo", min_len(1), json_name="code_repo", go_name="CodeRepo"),
                string("TargetRevision", min_len(1), json_name="target_revision", go_name="TargetRevision"),
                string("Path", min_len(1), json_name="path", go_name="Path"),
            ),
            REQUIRED,
            json_name="manifest_source",
            go_name="ManifestSource",
        ),
        message(
            "destination",
            _simple(
                "deploymentruntime",
                "DeploymentRuntimesDestination",
                string("environment", min_len(1)),
                strings("namespaces"),
            ),
        ),
        string("account"),
    ),
)
_DR_PRODUCT = string("productName", json_name="product_name", go_name="ProductName")
_DR_NAME = string(
    "deploymentruntimeName", json_name="deploymentruntime_name", go_name="DeploymentruntimeName"
)
DEPLOYMENT_RUNTIME = KindRequests(
    get=_simple("deploymentruntime", "GetRequest", _DR_PRODUCT, _DR_NAME),
    list=_simple("deploymentruntime", "ListsRequest", _DR_PRODUCT, string("field_selector")),
    save=_simple(
        "deploymentruntime", "SaveRequest", _DR_PRODUCT, _DR_NAME, _SKIP_CHECK, message("body", DR_BODY)
    ),
    delete=_simple("deploymentruntime", "DeleteRequest", _DR_PRODUCT, _DR_NAME, _SKIP_CHECK),
)
