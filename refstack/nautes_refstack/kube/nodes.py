"""The one Node of an emulated cluster, as a single-server K3s v1.21.14+k3s1 reports itself.

A runtime cluster of a Nautes v0.4 installation is a one-node K3s (contract §5.2): ``kubectl get nodes`` and
clients that list Nodes (the kubernetes client's ``test_node_apis``, anyone checking the cluster is up) find
one Ready node. Its labels, addresses, capacity, conditions and ``nodeInfo`` are those the kubelet and K3s
set (kubernetes pkg/kubelet/kubelet_node_status.go ``initialNode`` and ``setNodeStatus``; k3s
pkg/agent/config for the ``k3s.io/*`` annotations and the ``k3s://`` providerID; pkg/apis/core/types.go
``NodeStatus``). Nothing runs on it: the emulation has no kubelet (pods run through the Tekton executor).
"""

from __future__ import annotations

from nautes_refstack.kube.errors import JsonObject

DEFAULT_NODE_NAME = "k3s-server-0"
NODE_ADDRESS = "127.0.0.1"
KUBELET_VERSION = "v1.21.14+k3s1"
# What a small VM running a Nautes runtime cluster reports (2 CPUs, 4 GiB, a 20 GiB disk); K3s keeps the
# kubelet's default of 110 pods.
_CAPACITY = {
    "cpu": "2",
    "ephemeral-storage": "20470152Ki",
    "hugepages-1Gi": "0",
    "hugepages-2Mi": "0",
    "memory": "4025836Ki",
    "pods": "110",
}
# Allocatable = capacity minus the kubelet's eviction threshold (ephemeral-storage: 10 % of the disk).
_ALLOCATABLE = {**_CAPACITY, "ephemeral-storage": "19913176556"}


def _condition(kind: str, status: str, reason: str, message: str, since: str) -> JsonObject:
    return {
        "type": kind,
        "status": status,
        "lastHeartbeatTime": since,
        "lastTransitionTime": since,
        "reason": reason,
        "message": message,
    }


def node_manifest(name: str, since: str) -> JsonObject:
    """The Node a K3s server registers for itself (``since``: when it came up, RFC 3339)."""
    labels = {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/instance-type": "k3s",
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "node-role.kubernetes.io/control-plane": "true",
        "node-role.kubernetes.io/master": "true",
        "node.kubernetes.io/instance-type": "k3s",
    }
    annotations = {
        "flannel.alpha.coreos.com/backend-type": "vxlan",
        "flannel.alpha.coreos.com/kube-subnet-manager": "true",
        "flannel.alpha.coreos.com/public-ip": NODE_ADDRESS,
        "k3s.io/hostname": name,
        "k3s.io/internal-ip": NODE_ADDRESS,
        "k3s.io/node-args": '["server"]',
        "node.alpha.kubernetes.io/ttl": "0",
        "volumes.kubernetes.io/controller-managed-attach-detach": "true",
    }
    status: JsonObject = {
        "capacity": dict(_CAPACITY),
        "allocatable": dict(_ALLOCATABLE),
        "conditions": [
            _condition(
                "MemoryPressure",
                "False",
                "KubeletHasSufficientMemory",
                "kubelet has sufficient memory available",
                since,
            ),
            _condition(
                "DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure", since
            ),
            _condition(
                "PIDPressure",
                "False",
                "KubeletHasSufficientPID",
                "kubelet has sufficient PID available",
                since,
            ),
            _condition("Ready", "True", "KubeletReady", "kubelet is posting ready status", since),
        ],
        "addresses": [
            {"type": "InternalIP", "address": NODE_ADDRESS},
            {"type": "Hostname", "address": name},
        ],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        "nodeInfo": {
            "machineID": "",
            "systemUUID": "",
            "bootID": "",
            "kernelVersion": "5.15.0-generic",
            "osImage": "K3s dev",
            "containerRuntimeVersion": "containerd://1.5.13-k3s1",
            "kubeletVersion": KUBELET_VERSION,
            "kubeProxyVersion": KUBELET_VERSION,
            "operatingSystem": "linux",
            "architecture": "amd64",
        },
    }
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels, "annotations": annotations},
        "spec": {"podCIDR": "10.42.0.0/24", "podCIDRs": ["10.42.0.0/24"], "providerID": f"k3s://{name}"},
        "status": status,
    }
