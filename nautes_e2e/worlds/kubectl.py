"""The kubectl commands a world's bring-up runs against its new cluster, and the parser of its version."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from nautes_e2e.worlds.commands import Command, command

#: How long the bring-up waits for the node to be Ready: ``k3d cluster create --wait`` returns before the
#: node is (k3d-io/k3d#512), and nothing can be installed on a NotReady node.
NODE_READY_TIMEOUT = "300s"


def client_version() -> Command:
    return command("kubectl", "version", "--client", "-o", "json")


def parse_client_version(output: str) -> str | None:
    """``v1.32.4`` from ``kubectl version --client -o json`` (``clientVersion.gitVersion``)."""
    try:
        data = json.loads(output)
    except ValueError:
        return None
    version = data.get("clientVersion", {}).get("gitVersion") if isinstance(data, dict) else None
    return version if isinstance(version, str) else None


def wait_nodes_ready(kubeconfig: Path) -> Command:
    return command(
        "kubectl", "--kubeconfig", str(kubeconfig),
        "wait", "--for=condition=Ready", "nodes", "--all", f"--timeout={NODE_READY_TIMEOUT}",
    )  # fmt: skip


def apply(kubeconfig: Path, manifest: Path) -> Command:
    return command("kubectl", "--kubeconfig", str(kubeconfig), "apply", "-f", str(manifest))


def with_server(kubeconfig: str, server: str) -> str:
    """``kubeconfig`` with every cluster's ``server`` set to ``server``: the API as every party of the world
    reaches it (the network's gateway), whatever address the cluster CLI wrote."""
    document = yaml.safe_load(kubeconfig)
    for cluster in document.get("clusters") or []:
        cluster["cluster"]["server"] = server
    return yaml.safe_dump(document, sort_keys=False)
