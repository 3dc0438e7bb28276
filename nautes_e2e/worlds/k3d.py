"""The k3d CLI: the exact commands that create, find, read and delete a world's K3s cluster.

Pure functions from :class:`~nautes_e2e.worlds.settings.WorldSettings` to :class:`Command` s, and parsers of
what k3d prints; running them is the caller's business (:mod:`nautes_e2e.worlds.commands`). Written against
k3d-io/k3d v5.8.3 (``cmd/cluster/clusterCreate.go`` for every flag below).

What the cluster must be for Nautes, and why each flag:

* ``--image rancher/k3s:v1.21.14-k3s1``: the K3s the installer and the guide install (see settings).
* ``--network``: the world's own Docker network (created first, labelled), shared with GitLab, Vault, the
  registry and the installer. k3d also writes every member of that network into the cluster's CoreDNS
  (k3d v5.8.3, pkg/client/cluster.go: "Injecting records for hostAliases ... and for N network members").
* ``--disable=traefik,servicelb,metrics-server``: exactly what the installer and the guide disable
  (nautes-labs/installer v0.3.8, nautes/k3s.yaml; nautes docs, user-guide/run-a-pipeline.md). Nautes installs
  its own Traefik (Helm chart v22.0.0, NodePort 31443: installer nautes/roles/nautes/tasks/main.yml), which
  K3s's bundled one would collide with, and needs no service load balancer for NodePorts.
* ``--api-port GATEWAY:PORT`` and ``--tls-san=GATEWAY``: the API is published on the network's gateway, the
  one address the host, the installer container, Vault's Kubernetes auth and the pods all reach, and the
  API server's certificate names it. ``--tls-san`` of the server node's name too, for clients on the network.
* ``--port GATEWAY:P:P@server:0`` for Traefik's HTTPS NodePort and the tenant vcluster's NodePort.
* ``--no-lb``: one server needs no load balancer (one image fewer to pull; ports map on the server itself).
* ``--no-image-volume``: no ``k3d-NAME-images`` volume to leave behind (the harness never imports images).
* ``--runtime-label`` with the harness's labels on the node, so ``nautes-e2e world prune`` finds it.
* ``--kubeconfig-update-default=false``: the user's ``~/.kube/config`` is left alone; the world's kubeconfig
  is read with ``k3d kubeconfig get`` and written into the world's directory.
"""

from __future__ import annotations

import json
import re

from nautes_e2e.containers.labels import labels
from nautes_e2e.secrets import Secret
from nautes_e2e.worlds.commands import Command, command
from nautes_e2e.worlds.settings import WorldSettings

#: The K3s packaged add-ons the installer disables (nautes-labs/installer v0.3.8, nautes/k3s.yaml).
DISABLED_ADDONS = ("traefik", "servicelb", "metrics-server")
#: The API server's port inside the server node (K3s's default).
NODE_API_PORT = 6443
#: The tools image k3d starts during every ``cluster create`` (EnsureToolsNode, k3d v5.8.3
#: pkg/client/cluster.go ClusterRun; image name in pkg/types/images.go, tag = the CLI's version without 'v').
TOOLS_IMAGE_REPOSITORY = "ghcr.io/k3d-io/k3d-tools"
#: How long ``k3d cluster create --wait`` may take before k3d rolls the cluster back.
CREATE_TIMEOUT = "300s"
_VERSION = re.compile(r"^k3d version (v\d+\.\d+\.\d+\S*)", re.MULTILINE)


def server_node(name: str) -> str:
    """The server node's container name (k3d v5.8.3, pkg/client/cluster.go: k3d-<cluster>-<role>-<n>)."""
    return f"k3d-{name}-server-0"


def tools_image(k3d_version: str) -> str:
    return f"{TOOLS_IMAGE_REPOSITORY}:{k3d_version.removeprefix('v')}"


def create(settings: WorldSettings) -> Command:
    """``k3d cluster create`` for the world (see the module's docstring for every flag's reason)."""
    gateway, ports = settings.gateway, settings.ports
    argv = [
        "k3d", "cluster", "create", settings.name,
        "--image", settings.images.k3s,
        "--network", settings.network,
        "--servers", "1",
        "--agents", "0",
        "--no-lb",
        "--no-image-volume",
        "--api-port", f"{gateway}:{ports.kube_api}",
        "--port", f"{gateway}:{ports.ingress_https}:{ports.ingress_https}@server:0",
        "--port", f"{gateway}:{ports.vcluster}:{ports.vcluster}@server:0",
    ]  # fmt: skip
    for addon in DISABLED_ADDONS:
        argv += ["--k3s-arg", f"--disable={addon}@server:0"]
    for san in (gateway, server_node(settings.name)):
        argv += ["--k3s-arg", f"--tls-san={san}@server:0"]
    for key, value in labels(settings.name, "cluster").items():
        argv += ["--runtime-label", f"{key}={value}@server:0"]
    argv += [
        "--kubeconfig-update-default=false",
        "--kubeconfig-switch-context=false",
        "--wait",
        "--timeout", CREATE_TIMEOUT,
    ]  # fmt: skip
    return command(*argv)


def list_clusters() -> Command:
    """``k3d cluster list -o json``: every k3d cluster (its output holds each cluster's join token)."""
    return command("k3d", "cluster", "list", "-o", "json")


def parse_cluster_names(output: str) -> list[str]:
    """The names in ``k3d cluster list -o json`` output (k3d v5.8.3, cmd/cluster/clusterList.go: a JSON list
    of k3d.Cluster, ``name`` and ``clusterToken`` among its fields). Each token is registered as a secret."""
    clusters = json.loads(output or "[]")
    names = []
    for cluster in clusters if isinstance(clusters, list) else []:
        if isinstance(cluster, dict) and isinstance(cluster.get("name"), str):
            token = cluster.get("clusterToken")
            if isinstance(token, str) and token:
                Secret(token)
            names.append(cluster["name"])
    return names


def kubeconfig(name: str) -> Command:
    """``k3d kubeconfig get NAME``: the cluster's admin kubeconfig on stdout (a secret)."""
    return command("k3d", "kubeconfig", "get", name, secret_output=True)


def delete(name: str) -> Command:
    return command("k3d", "cluster", "delete", name)


def version() -> Command:
    return command("k3d", "version")


def parse_version(output: str) -> str | None:
    """``v5.8.3`` from ``k3d version`` ("k3d version v5.8.3" / "k3s version v1.31.5-k3s1 (default)")."""
    match = _VERSION.search(output)
    return match.group(1) if match else None
