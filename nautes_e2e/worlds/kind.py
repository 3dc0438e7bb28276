"""The kind CLI: the exact commands and cluster config that create, find, read and delete a world's cluster.

Pure functions; written against kubernetes-sigs/kind v0.20.0, the newest release with a Kubernetes 1.21 node
image (see :mod:`~nautes_e2e.worlds.settings`). Where kind differs from k3d (:mod:`~nautes_e2e.worlds.k3d`):

* The network: kind puts its nodes on the Docker network ``KIND_EXPERIMENTAL_DOCKER_NETWORK`` names, and uses
  one that already exists (kind v0.20.0, pkg/cluster/internal/providers/docker/provider.go and network.go,
  ``ensureNetwork``: "network already exists, we're good").
* Settings kind takes only from its config file (``kind.x-k8s.io/v1alpha4``): the API published on the
  network's gateway (``networking.apiServerAddress``/``apiServerPort``), the API certificate's extra SANs (a
  kubeadm ``ClusterConfiguration`` patch), Traefik's and the vcluster's NodePorts (``extraPortMappings``).
* No packaged add-ons to disable (kind installs no ingress, no service load balancer, no metrics-server).
* Storage: kind's node image ships rancher's local-path provisioner behind a StorageClass named ``standard``
  (kind v0.20.0, pkg/build/nodeimage/const_storage.go), but the tenant template's Argo Events EventBus asks
  for ``local-path`` (nautes-labs/tenant-repo-template v0.4.2, argoevents/overlays/production/eventbus.yaml),
  so :data:`LOCAL_PATH_STORAGE_CLASS` adds that name for the same provisioner.
* Labels: kind labels its node containers itself (``io.x-k8s.kind.cluster``, kind v0.20.0
  pkg/cluster/internal/providers/docker/constants.go) and takes no others; prune finds a kind world's nodes on
  its labelled network, or by the name its state file records.
"""

from __future__ import annotations

import re

import yaml

from nautes_e2e.worlds.commands import Command, command
from nautes_e2e.worlds.settings import WorldSettings

#: The environment variable that points kind at an existing Docker network (experimental, but the only way).
NETWORK_ENV = "KIND_EXPERIMENTAL_DOCKER_NETWORK"
#: The Docker label kind puts on every node container, valued with the cluster's name.
CLUSTER_LABEL = "io.x-k8s.kind.cluster"
#: How long ``kind create cluster`` waits for the control plane to be ready.
WAIT = "300s"
#: The StorageClass the Argo Events EventBus of the tenant template asks for, on kind's own provisioner
#: (``rancher.io/local-path``, ``WaitForFirstConsumer`` like kind's ``standard`` class).
LOCAL_PATH_STORAGE_CLASS = """\
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: local-path
provisioner: rancher.io/local-path
volumeBindingMode: WaitForFirstConsumer
reclaimPolicy: Delete
"""
_VERSION = re.compile(r"^kind (v\d+\.\d+\.\d+\S*)")


def control_plane_node(name: str) -> str:
    """The control-plane node's container name (kind: ``<cluster>-control-plane``)."""
    return f"{name}-control-plane"


def cluster_config(settings: WorldSettings) -> str:
    """The ``kind.x-k8s.io/v1alpha4`` Cluster config of the world (see the module's docstring)."""
    gateway, ports = settings.gateway, settings.ports
    sans = [gateway, control_plane_node(settings.name), "localhost", "127.0.0.1"]
    config = {
        "kind": "Cluster",
        "apiVersion": "kind.x-k8s.io/v1alpha4",
        "name": settings.name,
        "networking": {"apiServerAddress": gateway, "apiServerPort": ports.kube_api},
        "nodes": [
            {
                "role": "control-plane",
                "image": settings.images.kind_node,
                "extraPortMappings": [
                    {"containerPort": port, "hostPort": port, "listenAddress": gateway, "protocol": "TCP"}
                    for port in (ports.ingress_https, ports.vcluster)
                ],
                "kubeadmConfigPatches": [
                    yaml.safe_dump(
                        {"kind": "ClusterConfiguration", "apiServer": {"certSANs": sans}}, sort_keys=False
                    )
                ],
            }
        ],
    }
    return yaml.safe_dump(config, sort_keys=False)


def create(settings: WorldSettings, config_path: str, kubeconfig_path: str) -> Command:
    """``kind create cluster`` with the world's config, on the world's network; the kubeconfig goes to
    ``kubeconfig_path`` (never the user's ``~/.kube/config``)."""
    return command(
        "kind", "create", "cluster",
        "--name", settings.name,
        "--image", settings.images.kind_node,
        "--config", config_path,
        "--kubeconfig", kubeconfig_path,
        "--wait", WAIT,
        env={NETWORK_ENV: settings.network},
    )  # fmt: skip


def list_clusters() -> Command:
    """``kind get clusters``: one name a line ("No kind clusters found." goes to stderr)."""
    return command("kind", "get", "clusters")


def parse_cluster_names(output: str) -> list[str]:
    return [line.strip() for line in output.splitlines() if line.strip()]


def kubeconfig(name: str) -> Command:
    """``kind get kubeconfig --name NAME``: the admin kubeconfig on stdout (a secret)."""
    return command("kind", "get", "kubeconfig", "--name", name, secret_output=True)


def delete(name: str) -> Command:
    return command("kind", "delete", "cluster", "--name", name)


def version() -> Command:
    return command("kind", "version")


def parse_version(output: str) -> str | None:
    """``v0.20.0`` from ``kind version`` ("kind v0.20.0 go1.20.4 linux/amd64")."""
    match = _VERSION.search(output.strip())
    return match.group(1) if match else None
