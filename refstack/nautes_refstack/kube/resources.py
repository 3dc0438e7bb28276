"""The resources a Nautes runtime cluster serves: the built-in types Nautes touches plus the CRDs of the
components it installs (Tekton 0.37.5, Argo Events 1.7.1, Argo CD 2.4, HNC 1.0, external-secrets 0.5).

Names, short names, scopes and subresources are those of the real API (``kubectl api-resources`` on such
a cluster). Tekton 0.37 still serves ``v1alpha1`` next to ``v1beta1``; both versions share one set of
objects.
"""

from __future__ import annotations

from functools import partial

from nautes_refstack.kube.resource_type import ResourceType

_POD_FIELDS = (
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "status.phase",
    "status.podIP",
    "status.nominatedNodeName",
)
_EVENT_FIELDS = (
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
)


_core = partial(ResourceType, "", "v1", subresources=(), builtin=True, has_generation=False)
_rbac = partial(
    ResourceType,
    "rbac.authorization.k8s.io",
    "v1",
    subresources=(),
    builtin=True,
    has_generation=False,
    delete_returns_object=False,
)


BUILTIN_TYPES = (
    _core(
        "Namespace",
        "namespaces",
        namespaced=False,
        subresources=("status",),
        short_names=("ns",),
        field_labels=("status.phase",),
    ),
    # K3s registers its one server as a Node (kubernetes pkg/registry/core/node/strategy.go: the only field
    # label beyond name is spec.unschedulable; nodes/proxy is not served by the emulation).
    _core(
        "Node",
        "nodes",
        namespaced=False,
        subresources=("status",),
        short_names=("no",),
        field_labels=("spec.unschedulable",),
    ),
    _core("ConfigMap", "configmaps", short_names=("cm",), delete_returns_object=False),
    # What a pipeline runtime's additional resources hold in the quickstart (sourcecode/test/), and what
    # Tekton's volumeClaimTemplate workspaces create.
    _core("PersistentVolumeClaim", "persistentvolumeclaims", subresources=("status",), short_names=("pvc",)),
    _core("Secret", "secrets", field_labels=("type",), delete_returns_object=False),
    _core("ServiceAccount", "serviceaccounts", subresources=("token",), short_names=("sa",)),
    _core(
        "Pod",
        "pods",
        subresources=("status", "log"),
        short_names=("po",),
        field_labels=_POD_FIELDS,
        categories=("all",),
    ),
    # Kept by the endpoints controller (kube/endpoints.py); read by kubectl describe service/ingress.
    _core("Endpoints", "endpoints", short_names=("ep",), delete_returns_object=False),
    ResourceType("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", subresources=(), builtin=True),
    _core("Service", "services", subresources=("status",), short_names=("svc",), categories=("all",)),
    # Served by every 1.21 apiserver (pkg/registry/core/replicationcontroller); with no kubelet its pods
    # never run, so status.replicas stays 0. The field label is pkg/registry/core/replicationcontroller/
    # strategy.go ControllerToSelectableFields; /scale is not served by the emulation.
    _core(
        "ReplicationController",
        "replicationcontrollers",
        subresources=("status",),
        short_names=("rc",),
        categories=("all",),
        has_generation=True,
        field_labels=("status.replicas",),
    ),
    _core("Event", "events", short_names=("ev",), field_labels=_EVENT_FIELDS, delete_returns_object=False),
    ResourceType(
        "apps",
        "v1",
        "Deployment",
        "deployments",
        subresources=("status", "scale"),
        short_names=("deploy",),
        builtin=True,
        categories=("all",),
    ),
    # What a vcluster runs as on its host (chart 0.10.1, label app=vcluster): the cluster-operator finds it
    # by that label (NAUTES app/cluster-operator/internal/secretclient/vault/vault.go getVClusterKubeConfig).
    ResourceType(
        "apps",
        "v1",
        "StatefulSet",
        "statefulsets",
        subresources=("status", "scale"),
        short_names=("sts",),
        builtin=True,
        categories=("all",),
    ),
    _rbac("Role", "roles", namespaced=True),
    _rbac("RoleBinding", "rolebindings", namespaced=True),
    _rbac("ClusterRole", "clusterroles", namespaced=False),
    _rbac("ClusterRoleBinding", "clusterrolebindings", namespaced=False),
    ResourceType(
        "networking.k8s.io",
        "v1",
        "Ingress",
        "ingresses",
        short_names=("ing",),
        builtin=True,
        delete_returns_object=False,
    ),
    # What a client takes to hold something in the cluster for a while (client-go leader election; a
    # harness claiming a runtime cluster for its run): create answers 409 if another holds it.
    ResourceType(
        "coordination.k8s.io",
        "v1",
        "Lease",
        "leases",
        subresources=(),
        builtin=True,
        has_generation=False,
        delete_returns_object=False,
    ),
    # CRDs, served by the apiextensions-apiserver inside kube-apiserver in both versions in 1.21 (v1beta1 is
    # removed in 1.22); one set of objects, converted per version (:mod:`.crds`). Their objects are native
    # types there: strategic merge patches apply and typed lists leave out each item's apiVersion/kind.
    *(
        ResourceType(
            "apiextensions.k8s.io",
            version,
            "CustomResourceDefinition",
            "customresourcedefinitions",
            namespaced=False,
            short_names=("crd", "crds"),
            categories=("api-extensions",),
            builtin=True,
        )
        for version in ("v1", "v1beta1")
    ),
    ResourceType(
        "authentication.k8s.io",
        "v1",
        "TokenReview",
        "tokenreviews",
        namespaced=False,
        subresources=(),
        verbs=("create",),
        builtin=True,
        has_generation=False,
    ),
)


_TEKTON_CATEGORIES = ("tekton", "tekton-pipelines")


def _tekton(version: str) -> tuple[ResourceType, ...]:
    categories = _TEKTON_CATEGORIES
    return (
        ResourceType(
            "tekton.dev",
            version,
            "PipelineRun",
            "pipelineruns",
            short_names=("pr", "prs"),
            categories=categories,
        ),
        ResourceType(
            "tekton.dev", version, "TaskRun", "taskruns", short_names=("tr", "trs"), categories=categories
        ),
        ResourceType("tekton.dev", version, "Pipeline", "pipelines", categories=categories),
        ResourceType("tekton.dev", version, "Task", "tasks", categories=categories),
        ResourceType(
            "tekton.dev", version, "ClusterTask", "clustertasks", namespaced=False, categories=categories
        ),
    )


_ROLLOUTS = partial(ResourceType, "argoproj.io", "v1alpha1", subresources=())

# The CRDs of every component on a runtime cluster, as their manifests declare them (TRT v0.4.2
# tekton/base/tekton-pipelines-v0.37.5.yaml, argoevents/base/install-v1.7.1.yaml, argorollouts/base/
# install-v1.2.1.yaml, argocd/base/install-v2.4.0.yaml, hnc/base/hnc-v1.0.0-default.yaml; CT runtimes/
# _RUNTIME_/production/*-app.yaml installs them there). Scale subresources (Rollouts) are not served.
CUSTOM_TYPES = (
    *_tekton("v1beta1"),
    *_tekton("v1alpha1"),
    ResourceType(
        "tekton.dev", "v1alpha1", "PipelineResource", "pipelineresources", categories=_TEKTON_CATEGORIES
    ),
    ResourceType("tekton.dev", "v1alpha1", "Run", "runs", categories=_TEKTON_CATEGORIES),
    ResourceType(
        "resolution.tekton.dev",
        "v1alpha1",
        "ResolutionRequest",
        "resolutionrequests",
        categories=("all", "tekton"),
    ),
    ResourceType("argoproj.io", "v1alpha1", "EventSource", "eventsources", short_names=("es",)),
    ResourceType("argoproj.io", "v1alpha1", "Sensor", "sensors", short_names=("sn",)),
    ResourceType("argoproj.io", "v1alpha1", "EventBus", "eventbus", short_names=("eb",)),
    ResourceType(
        "argoproj.io", "v1alpha1", "Application", "applications", subresources=(), short_names=("app", "apps")
    ),
    ResourceType(
        "argoproj.io",
        "v1alpha1",
        "AppProject",
        "appprojects",
        subresources=(),
        short_names=("appproj", "appprojs"),
    ),
    ResourceType(
        "argoproj.io", "v1alpha1", "ApplicationSet", "applicationsets", short_names=("appset", "appsets")
    ),
    _ROLLOUTS("Rollout", "rollouts", subresources=("status",), short_names=("ro",)),
    _ROLLOUTS("AnalysisRun", "analysisruns", short_names=("ar",)),
    _ROLLOUTS("AnalysisTemplate", "analysistemplates", short_names=("at",)),
    _ROLLOUTS("ClusterAnalysisTemplate", "clusteranalysistemplates", namespaced=False, short_names=("cat",)),
    _ROLLOUTS("Experiment", "experiments", short_names=("exp",)),
    ResourceType(
        "hnc.x-k8s.io", "v1alpha2", "HierarchyConfiguration", "hierarchyconfigurations", subresources=()
    ),
    ResourceType(
        "hnc.x-k8s.io", "v1alpha2", "HNCConfiguration", "hncconfigurations", namespaced=False, subresources=()
    ),
    ResourceType(
        "hnc.x-k8s.io",
        "v1alpha2",
        "SubnamespaceAnchor",
        "subnamespaceanchors",
        subresources=(),
        short_names=("subns",),
    ),
    ResourceType("external-secrets.io", "v1beta1", "ExternalSecret", "externalsecrets", short_names=("es",)),
    ResourceType("external-secrets.io", "v1beta1", "SecretStore", "secretstores", short_names=("ss",)),
    ResourceType(
        "external-secrets.io",
        "v1beta1",
        "ClusterSecretStore",
        "clustersecretstores",
        namespaced=False,
        short_names=("css",),
    ),
)

DEFAULT_RESOURCE_TYPES = BUILTIN_TYPES + CUSTOM_TYPES

# Namespaces every cluster starts with.
INITIAL_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
