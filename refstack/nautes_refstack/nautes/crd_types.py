"""The Nautes CRD types (``nautes.resource.nautes.io/v1alpha1``, NAUTES ``api/kubernetes/v1alpha1``).

Transcribed from the ``*_types.go`` json tags of v0.4.2 so that :func:`gostruct.canonical` writes the
same fields, ``null``s and omissions as the real server's ``json.Marshal``.
"""

from __future__ import annotations

from nautes_refstack.nautes.gostruct import (
    BOOL,
    STRING,
    GoMap,
    GoNullTime,
    GoPtr,
    GoRaw,
    GoSlice,
    GoStruct,
    field,
    struct,
)

API_VERSION = "nautes.resource.nautes.io/v1alpha1"

_STRINGS = GoSlice(STRING)
_OBJECT_META = struct(
    field("name", STRING, omitempty=True),
    field("namespace", STRING, omitempty=True),
    field("creationTimestamp", GoNullTime()),
    field("labels", GoMap(STRING), omitempty=True),
    field("annotations", GoMap(STRING), omitempty=True),
)


def resource(spec: GoStruct, status: GoStruct | None = None) -> GoStruct:
    """A CR: TypeMeta inline, ObjectMeta, spec and (for the tenant repo's Cluster) status."""
    fields = [
        field("apiVersion", STRING, omitempty=True),
        field("kind", STRING, omitempty=True),
        field("metadata", _OBJECT_META),
        field("spec", spec),
    ]
    if status is not None:
        fields.append(field("status", status))
    return struct(*fields)


PROJECT = resource(struct(field("product", STRING), field("language", STRING)))

ENVIRONMENT = resource(struct(field("product", STRING), field("cluster", STRING), field("envType", STRING)))

CODE_REPO = resource(
    struct(
        field("codeRepoProvider", STRING),
        field("product", STRING),
        field("project", STRING),
        field("repoName", STRING),
        field("url", STRING, omitempty=True),
        field("deploymentRuntime", BOOL),
        field("pipelineRuntime", BOOL),
        field("webhook", GoPtr(struct(field("events", _STRINGS)))),
    )
)

CODE_REPO_BINDING = resource(
    struct(
        field("codeRepo", STRING, omitempty=True),
        field("product", STRING, omitempty=True),
        field("projects", _STRINGS, omitempty=True),
        field("permissions", STRING, omitempty=True),
    )
)

_HOOK = struct(
    field("name", STRING),
    field("alias", STRING, omitempty=True),
    field("vars", GoMap(STRING), omitempty=True),
)
PROJECT_PIPELINE_RUNTIME = resource(
    struct(
        field("project", STRING),
        field("pipelineSource", STRING),
        field(
            "pipelines",
            GoSlice(
                struct(field("name", STRING), field("label", STRING, omitempty=True), field("path", STRING))
            ),
        ),
        field("destination", struct(field("environment", STRING), field("namespace", STRING))),
        field(
            "eventSources",
            GoSlice(
                struct(
                    field("name", STRING),
                    field(
                        "gitlab",
                        GoPtr(
                            struct(
                                field("repoName", STRING),
                                field("revision", STRING, omitempty=True),
                                field("events", _STRINGS),
                            )
                        ),
                        omitempty=True,
                    ),
                    field(
                        "calendar",
                        GoPtr(
                            struct(
                                field("schedule", STRING, omitempty=True),
                                field("interval", STRING, omitempty=True),
                                field("exclusionDates", _STRINGS, omitempty=True),
                                field("timezone", STRING, omitempty=True),
                            )
                        ),
                        omitempty=True,
                    ),
                )
            ),
        ),
        field("isolation", STRING),
        field(
            "pipelineTriggers",
            GoSlice(
                struct(
                    field("eventSource", STRING),
                    field("pipeline", STRING),
                    field("revision", STRING, omitempty=True),
                    field(
                        "inputs",
                        GoSlice(
                            struct(
                                field(
                                    "source",
                                    struct(
                                        field("builtInVar", STRING, omitempty=True),
                                        field("fromEvent", STRING, omitempty=True),
                                    ),
                                ),
                                field(
                                    "transmissionMethod",
                                    struct(
                                        field(
                                            "kustomization",
                                            GoPtr(struct(field("path", STRING))),
                                            omitempty=True,
                                        )
                                    ),
                                ),
                            )
                        ),
                        omitempty=True,
                    ),
                )
            ),
        ),
        field(
            "additionalResources",
            GoPtr(
                struct(
                    field(
                        "git",
                        GoPtr(
                            struct(
                                field("codeRepo", STRING, omitempty=True),
                                field("url", STRING, omitempty=True),
                                field("revision", STRING),
                                field("path", STRING),
                            )
                        ),
                        omitempty=True,
                    )
                )
            ),
            omitempty=True,
        ),
        field(
            "hooks",
            GoPtr(
                struct(
                    field("preHooks", GoSlice(_HOOK), omitempty=True),
                    field("postHooks", GoSlice(_HOOK), omitempty=True),
                )
            ),
            omitempty=True,
        ),
        field("account", STRING, omitempty=True),
    )
)

_MANIFEST_SOURCE = struct(
    field("codeRepo", STRING, omitempty=True),
    field("targetRevision", STRING, omitempty=True),
    field("path", STRING),
)
DEPLOYMENT_RUNTIME = resource(
    struct(
        field("product", STRING, omitempty=True),
        field("projectsRef", _STRINGS, omitempty=True),
        field("manifestSource", _MANIFEST_SOURCE),
        field("destination", struct(field("environment", STRING), field("namespaces", _STRINGS))),
        field("account", STRING, omitempty=True),
    )
)

_COMPONENT = GoPtr(
    struct(
        field("name", STRING),
        field("namespace", STRING),
        field("additions", GoMap(STRING), omitempty=True),
    )
)
COMPONENT_CATEGORIES = (
    "certManagement",
    "deployment",
    "eventListener",
    "gateway",
    "multiTenant",
    "pipeline",
    "progressiveDelivery",
    "secretManagement",
    "secretSync",
    "oauthProxy",
)
CLUSTER = resource(
    struct(
        field("apiServer", STRING),
        field("clusterType", STRING),
        field("clusterKind", STRING),
        field("usage", STRING),
        field("hostCluster", STRING, omitempty=True),
        field("primaryDomain", STRING, omitempty=True),
        field("workerType", STRING, omitempty=True),
        field(
            "componentsList",
            struct(*(field(name, _COMPONENT, omitempty=True) for name in COMPONENT_CATEGORIES)),
        ),
        field("reservedNamespacesAllowedProducts", GoMap(_STRINGS), omitempty=True),
        field(
            "productAllowedClusterResources",
            GoMap(GoSlice(struct(field("kind", STRING), field("group", STRING)))),
            omitempty=True,
        ),
    ),
    status=struct(
        field("conditions", GoSlice(GoRaw()), omitempty=True),
        field("mgtAuthStatus", GoRaw(), omitempty=True),
        field("sync2ArgoStatus", GoRaw(), omitempty=True),
        field("entryPoints", GoMap(GoRaw()), omitempty=True),
        field("warnings", GoSlice(GoRaw())),
        field("productIDMap", GoMap(STRING)),
        field("allocatedResources", GoRaw(), omitempty=True),
        field("componentsStatus", GoMap(GoRaw()), omitempty=True),
    ),
)

BY_KIND: dict[str, GoStruct] = {
    "Project": PROJECT,
    "Environment": ENVIRONMENT,
    "CodeRepo": CODE_REPO,
    "CodeRepoBinding": CODE_REPO_BINDING,
    "ProjectPipelineRuntime": PROJECT_PIPELINE_RUNTIME,
    "DeploymentRuntime": DEPLOYMENT_RUNTIME,
}
