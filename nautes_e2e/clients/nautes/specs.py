"""The spec structs of CLI v0.4.2 (``cmd/types/types.go``), field for field, in declaration order.

Field order matters: encoding/json writes struct fields in declaration order, and the request body is
what the API server reads (contract §1.4, §2.3). Keep these in step with the CLI, not with the API server.
"""

from __future__ import annotations

from nautes_e2e.clients.nautes.wire import (
    BOOL,
    INT,
    STRING,
    Field,
    GoMap,
    GoPointer,
    GoSlice,
    GoStruct,
)

_COMPONENT = GoPointer(
    GoStruct(
        "Component",
        Field("name", "name", STRING),
        Field("namespace", "namespace", STRING),
        Field("additions", "additions", GoMap(STRING)),
    )
)

CLUSTER = GoStruct(
    "ClusterResponseItem",
    Field("name", "name", STRING),
    Field("apiServer", "api_server", STRING),
    Field("clusterKind", "cluster_kind", STRING),
    Field("usage", "usage", STRING),
    Field("clusterType", "cluster_type", STRING),
    Field("workerType", "worker_type", STRING),
    Field("hostCluster", "host_cluster", STRING),
    Field("primaryDomain", "primary_domain", STRING),
    Field("kubeconfig", "kubeconfig", STRING),
    Field("vcluster", "vcluster", GoStruct("VCluster", Field("httpsNodePort", "https_node_port", STRING))),
    Field(
        "reservedNamespacesAllowedProducts", "reserved_namespaces_allowed_products", GoMap(GoSlice(STRING))
    ),
    Field(
        "productAllowedClusterResources",
        "product_allowed_cluster_resources",
        GoMap(
            GoSlice(
                GoStruct(
                    "ClusterResourceInfo", Field("kind", "kind", STRING), Field("group", "group", STRING)
                )
            )
        ),
    ),
    Field(
        "componentsList",
        "components_list",
        GoStruct(
            "ComponentsList",
            Field("deployment", "deployment", _COMPONENT),
            Field("eventListener", "event_listener", _COMPONENT),
            Field("gateway", "gateway", _COMPONENT),
            Field("multiTenant", "multi_tenant", _COMPONENT),
            Field("pipeline", "pipeline", _COMPONENT),
            Field("progressiveDelivery", "progressive_delivery", _COMPONENT),
            Field("secretSync", "secret_sync", _COMPONENT),
        ),
    ),
)

PRODUCT = GoStruct(
    "ProductResponseItem",
    Field("name", "name", STRING),
    Field(
        "git",
        "git",
        GoPointer(
            GoStruct(
                "ProductSpecGit",
                Field(
                    "gitlab",
                    "gitlab",
                    GoPointer(
                        GoStruct(
                            "ProductGitRepo",
                            Field("name", "name", STRING),
                            Field("path", "path", STRING),
                            Field("visibility", "visibility", STRING),
                            Field("description", "description", STRING),
                            Field("parentID", "parent_id", INT),
                        )
                    ),
                ),
            )
        ),
    ),
)

ENVIRONMENT = GoStruct(
    "EnvironmentResponseItem",
    Field("name", "name", STRING),
    Field("product", "product", STRING),
    Field("cluster", "cluster", STRING),
    Field("envType", "env_type", STRING),
)

PROJECT = GoStruct(
    "ProjectResponseItem",
    Field("name", "name", STRING),
    Field("product", "product", STRING),
    Field("language", "language", STRING),
)

# QUIRK (contract §1.4): the YAML key is `projectPipelineRuntime`; the examples' `pipelineRuntime` and
# `codeRepoProvider` have no field here, so yaml.v3 drops them and `pipeline_runtime` is sent as false.
CODE_REPO = GoStruct(
    "CodeRepoResponseItem",
    Field("name", "name", STRING),
    Field("product", "product", STRING),
    Field("project", "project", STRING),
    Field(
        "git",
        "git",
        GoPointer(
            GoStruct(
                "CodeRepoResponseItemGit",
                Field(
                    "gitlab",
                    "gitlab",
                    GoPointer(
                        GoStruct(
                            "CodeRepoGitRepoDetails",
                            Field("name", "name", STRING),
                            Field("path", "path", STRING),
                            Field("visibility", "visibility", STRING),
                            Field("description", "description", STRING),
                            Field("sshUrlToRepo", "ssh_url_to_repo", STRING),
                            Field("httpUrlToRepo", "http_url_to_repo", STRING),
                        )
                    ),
                ),
            )
        ),
    ),
    Field(
        "webhook",
        "webhook",
        GoPointer(GoStruct("CodeRepoResponseItemWebhook", Field("events", "events", GoSlice(STRING)))),
    ),
    Field("deploymentRuntime", "deployment_runtime", BOOL),
    Field("projectPipelineRuntime", "pipeline_runtime", BOOL),
)

# `productName` only feeds the URL; the body still carries it as `product_name` (the server ignores it).
CODE_REPO_BINDING = GoStruct(
    "CodeRepoBindingResponseItem",
    Field("name", "name", STRING),
    Field("productName", "product_name", STRING),
    Field("product", "product", STRING),
    Field("coderepo", "coderepo", STRING),
    Field("permissions", "permissions", STRING),
    Field("projects", "projects", GoSlice(STRING)),
)

_HOOK = GoStruct(
    "Hook",
    Field("name", "name", STRING),
    Field("alias", "alias", GoPointer(STRING), omitempty=True),
    Field("vars", "vars", GoMap(STRING), omitempty=True),
)

_PIPELINE_INPUT = GoStruct(
    "UserPipelineInput",
    Field(
        "source",
        "source",
        GoStruct(
            "UserPipelineInputSource",
            Field("builtInVar", "built_in_var", GoPointer(STRING), omitempty=True),
            Field("fromEvent", "from_event", GoPointer(STRING), omitempty=True),
        ),
    ),
    Field(
        "transmissionMethod",
        "transmission_method",
        GoStruct(
            "TransmissionMethod",
            Field(
                "kustomization",
                "kustomization",
                GoPointer(GoStruct("TransmissionMethodKustomization", Field("path", "path", STRING))),
                omitempty=True,
            ),
        ),
    ),
)

PROJECT_PIPELINE_RUNTIME = GoStruct(
    "ProjectPipelineRuntimeResponseItem",
    Field("name", "name", STRING),
    Field("account", "account", STRING),
    Field("project", "project", STRING),
    Field(
        "destination",
        "destination",
        GoPointer(
            GoStruct(
                "ProjectPipelineRuntimeCommonDestination",
                Field("environment", "environment", STRING),
                Field("namespace", "namespace", STRING),
            )
        ),
    ),
    Field("isolation", "isolation", STRING),
    Field(
        "pipelines",
        "pipelines",
        GoSlice(
            GoStruct(
                "ProjectPipelineRuntimeCommonPipelines",
                Field("name", "name", STRING),
                Field("label", "label", STRING),
                Field("path", "path", STRING),
            )
        ),
    ),
    Field("product", "product", STRING),
    Field("pipelineSource", "pipeline_source", STRING),
    Field(
        "eventSources",
        "event_sources",
        GoSlice(
            GoStruct(
                "ProjectPipelineRuntimeResponseItemEventSources",
                Field("name", "name", STRING),
                Field(
                    "gitlab",
                    "gitlab",
                    GoPointer(
                        GoStruct(
                            "ProjectPipelineRuntimeResponseItemEventSourcesGitlab",
                            Field("repoName", "repo_name", STRING),
                            Field("revision", "revision", STRING),
                            Field("events", "events", GoSlice(STRING)),
                        )
                    ),
                ),
                Field(
                    "calendar",
                    "calendar",
                    GoPointer(
                        GoStruct(
                            "ProjectPipelineRuntimeResponseItemEventSourcesCalendar",
                            Field("schedule", "schedule", STRING),
                            Field("interval", "interval", STRING),
                            Field("exclusionDates", "exclusion_dates", GoSlice(STRING)),
                            Field("timezone", "timezone", STRING),
                        )
                    ),
                ),
            )
        ),
    ),
    Field(
        "pipelineTriggers",
        "pipeline_triggers",
        GoSlice(
            GoStruct(
                "PipelineTrigger",
                Field("eventSource", "event_source", STRING),
                Field("pipeline", "pipeline", STRING),
                Field("revision", "revision", STRING),
                Field("inputs", "inputs", GoSlice(_PIPELINE_INPUT), omitempty=True),
            )
        ),
    ),
    Field(
        "additionalResources",
        "additional_resources",
        GoPointer(
            GoStruct(
                "ProjectPipelineRuntimeAdditionalResources",
                Field(
                    "git",
                    "git",
                    GoStruct(
                        "ProjectPipelineRuntimeAdditionalResourcesGit",
                        Field("codeRepo", "coderepo", STRING),
                        Field("url", "url", STRING),
                        Field("revision", "revision", STRING),
                        Field("path", "path", STRING),
                    ),
                ),
            )
        ),
    ),
    Field(
        "hooks",
        "hooks",
        GoPointer(
            GoStruct(
                "Hooks",
                Field("preHooks", "pre_hooks", GoSlice(_HOOK), omitempty=True),
                Field("postHooks", "post_hooks", GoSlice(_HOOK), omitempty=True),
            )
        ),
        omitempty=True,
    ),
)

# QUIRK (contract §1.4): the YAML key is all lower-case `manifestsource`.
DEPLOYMENT_RUNTIME = GoStruct(
    "DeploymentRuntimeResponseItem",
    Field("name", "name", STRING),
    Field("account", "account", STRING),
    Field("product", "product", STRING),
    Field(
        "manifestsource",
        "manifest_source",
        GoPointer(
            GoStruct(
                "DeploymentRuntimeResponseItemManifestSource",
                Field("codeRepo", "code_repo", STRING),
                Field("targetRevision", "target_revision", STRING),
                Field("path", "path", STRING),
            )
        ),
    ),
    Field("projectsRef", "projects_ref", GoSlice(STRING)),
    Field(
        "destination",
        "destination",
        GoPointer(
            GoStruct(
                "DeploymentRuntimeResponseItemDestination",
                Field("environment", "environment", STRING),
                Field("namespaces", "namespaces", GoSlice(STRING)),
            )
        ),
    ),
)
