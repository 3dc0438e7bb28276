"""The defaults a 1.21 apiserver fills in on every write of a built-in object, so ``kubectl get -o yaml``
and ``kubectl describe`` show what a real cluster stores (a Deployment's ``RollingUpdate`` strategy, a
container's ``terminationMessagePath``...), and a write of an undefaulted manifest over its defaulted self
changes nothing.

Sources (Kubernetes v1.21): pkg/apis/apps/v1/defaults.go (``SetDefaults_Deployment``,
``SetDefaults_StatefulSet``), pkg/apis/core/v1/defaults.go (``SetDefaults_Pod``, ``SetDefaults_PodSpec``,
``SetDefaults_Container``, ``SetDefaults_Probe``, ``SetDefaults_HTTPGetAction``, ``SetDefaults_Volume``,
``SetDefaults_ConfigMapVolumeSource``, ``SetDefaults_SecretVolumeSource``,
``SetDefaults_PersistentVolumeClaim``), plugin/pkg/admission/{serviceaccount,priority,
defaulttolerationseconds} for Pods, and pkg/registry/core/namespace/strategy.go (the
``kubernetes.io/metadata.name`` label, feature NamespaceDefaultLabelName, on by default in 1.21).
"""

from __future__ import annotations

from typing import Any

from nautes_refstack.kube.resource_type import ResourceType

JsonObject = dict[str, Any]
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
_VOLUME_SOURCES = frozenset(
    {
        "hostPath", "emptyDir", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "secret", "nfs",
        "iscsi", "glusterfs", "persistentVolumeClaim", "rbd", "flexVolume", "cinder", "cephfs", "flocker",
        "downwardAPI", "fc", "azureFile", "configMap", "vsphereVolume", "quobyte", "azureDisk",
        "photonPersistentDisk", "projected", "portworxVolume", "scaleIO", "storageos", "csi", "ephemeral",
    }
)  # fmt: skip


def _probe(probe: JsonObject) -> None:
    for field, value in (("timeoutSeconds", 1), ("periodSeconds", 10), ("successThreshold", 1)):
        probe.setdefault(field, value)
    probe.setdefault("failureThreshold", 3)
    if isinstance(probe.get("httpGet"), dict):
        probe["httpGet"].setdefault("path", "/")
        probe["httpGet"].setdefault("scheme", "HTTP")


def _image_pull_policy(image: str) -> str:
    """``Always`` for ``:latest`` or no tag, else ``IfNotPresent`` (a digest counts as a tag)."""
    name = image.split("@", 1)[0]
    tag = name.rsplit(":", 1)[1] if ":" in name.rsplit("/", 1)[-1] else ""
    return "Always" if "@" not in image and tag in ("", "latest") else "IfNotPresent"


def _container(container: JsonObject) -> None:
    container.setdefault("imagePullPolicy", _image_pull_policy(str(container.get("image", ""))))
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    container.setdefault("resources", {})
    for port in container.get("ports") or []:
        port.setdefault("protocol", "TCP")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        if isinstance(container.get(probe), dict):
            _probe(container[probe])


def _volume(volume: JsonObject) -> None:
    if not _VOLUME_SOURCES & set(volume):
        volume["emptyDir"] = {}
    for source in ("configMap", "secret"):
        if isinstance(volume.get(source), dict):
            volume[source].setdefault("defaultMode", 420)


def pod_spec(spec: JsonObject) -> None:
    """``SetDefaults_PodSpec`` and the per-container and per-volume defaults it reaches."""
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for field in ("initContainers", "containers"):
        for container in spec.get(field) or []:
            _container(container)
    for volume in spec.get("volumes") or []:
        _volume(volume)


_NODE_PROBLEM_TOLERATIONS = ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")


def _pod(pod: JsonObject) -> None:
    """``SetDefaults_Pod`` plus what admission adds to every Pod: its service account (ServiceAccount),
    priority (Priority) and the five-minute tolerations of node problems (DefaultTolerationSeconds)."""
    spec = pod.setdefault("spec", {})
    pod_spec(spec)
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("serviceAccountName", spec.get("serviceAccount") or "default")
    spec.setdefault("serviceAccount", spec["serviceAccountName"])
    spec.setdefault("priority", 0)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    tolerations = spec.setdefault("tolerations", [])
    for key in _NODE_PROBLEM_TOLERATIONS:
        if not any(t.get("key") == key for t in tolerations):
            tolerations.append(
                {"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
            )
    for container in spec.get("containers") or []:  # requests default to limits on Pods only
        resources = container.get("resources") or {}
        if resources.get("limits"):
            requests = resources.setdefault("requests", {})
            for resource, quantity in resources["limits"].items():
                requests.setdefault(resource, quantity)


def _template(workload: JsonObject) -> None:
    template = workload.setdefault("spec", {}).setdefault("template", {})
    pod_spec(template.setdefault("spec", {}))


def _deployment(deployment: JsonObject) -> None:
    spec = deployment.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    strategy = spec.setdefault("strategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxUnavailable", "25%")
        rolling.setdefault("maxSurge", "25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    _template(deployment)


def _stateful_set(stateful_set: JsonObject) -> None:
    spec = stateful_set.setdefault("spec", {})
    spec.setdefault("podManagementPolicy", "OrderedReady")
    strategy = spec.setdefault("updateStrategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        strategy.setdefault("rollingUpdate", {}).setdefault("partition", 0)
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    _template(stateful_set)


def _persistent_volume_claim(claim: JsonObject) -> None:
    claim.setdefault("spec", {}).setdefault("volumeMode", "Filesystem")


def _namespace(namespace: JsonObject) -> None:
    metadata = namespace.setdefault("metadata", {})
    labels = metadata.get("labels") or {}
    metadata["labels"] = {**labels, NAMESPACE_NAME_LABEL: metadata.get("name", "")}


_BY_KIND = {
    ("", "Pod"): _pod,
    ("", "PersistentVolumeClaim"): _persistent_volume_claim,
    ("", "Namespace"): _namespace,
    ("apps", "Deployment"): _deployment,
    ("apps", "StatefulSet"): _stateful_set,
}


def apply_defaults(resource_type: ResourceType, obj: JsonObject) -> None:
    """Fill in the defaults of ``obj``'s kind, in place (objects of other kinds are left alone)."""
    defaulting = _BY_KIND.get((resource_type.group, resource_type.kind))
    if defaulting is not None and resource_type.builtin:
        defaulting(obj)
