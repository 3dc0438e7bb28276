"""``nautes-e2e world prune``: remove what killed runs (and kept worlds) left in Docker.

Found two ways, so that neither a lost state file nor a missing label hides anything:

* by the harness's labels (:mod:`nautes_e2e.containers.labels`): containers, networks, volumes; k3d cluster
  nodes carry them too (``k3d cluster create --runtime-label``);
* kind takes no labels for its nodes, so a kind node (label ``io.x-k8s.kind.cluster``) is the harness's when
  it is attached to one of the harness's networks, or when a world's state file names its cluster.

Removal goes through the Docker API only, so it works where the run's CLIs are gone: a cluster is its node
containers (k3d: label ``k3d.cluster``, k3d-io/k3d v5.8.3 pkg/types/types.go; kind: ``io.x-k8s.kind.cluster``)
plus, for k3d, the volumes it labels the same way. Order: clusters, containers, volumes, networks (a network
cannot go while a container is attached), then the worlds' state directories.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker.errors

from nautes_e2e.containers.docker_env import docker_client
from nautes_e2e.containers.labels import COMPONENT_LABEL, OWNER, OWNER_LABEL, WORLD_LABEL
from nautes_e2e.worlds.kind import CLUSTER_LABEL as KIND_CLUSTER_LABEL
from nautes_e2e.worlds.state import known_worlds

K3D_CLUSTER_LABEL = "k3d.cluster"
UNKNOWN_WORLD = "?"


@dataclass(frozen=True)
class Leftover:
    """Something to remove: a ``cluster`` (``detail``: k3d or kind), ``container``, ``volume``, ``network``,
    or a world's ``state`` directory (``ref``: its path)."""

    kind: str
    ref: str
    world: str
    detail: str = ""

    def describe(self) -> str:
        what = f"{self.kind} {self.ref}" + (f" ({self.detail})" if self.detail else "")
        return f"{what} of world {self.world}"


def _ours(world: str | None) -> dict[str, list[str]]:
    wanted = [f"{OWNER_LABEL}={OWNER}"] + ([f"{WORLD_LABEL}={world}"] if world else [])
    return {"label": wanted}


def _labels(item: Any) -> dict[str, str]:
    return dict(item.attrs.get("Config", {}).get("Labels") or item.attrs.get("Labels") or {})


def _find_clusters(client: Any, root: Path, world: str | None, networks: list[Any]) -> list[Leftover]:
    clusters: dict[tuple[str, str], str] = {}
    k3d_nodes = {"label": [*_ours(world)["label"], K3D_CLUSTER_LABEL]}
    for node in client.containers.list(all=True, filters=k3d_nodes):
        clusters[("k3d", _labels(node)[K3D_CLUSTER_LABEL])] = _labels(node).get(WORLD_LABEL, UNKNOWN_WORLD)
    for network in networks:
        network_world = _labels(network).get(WORLD_LABEL, UNKNOWN_WORLD)
        network.reload()
        for attached in network.attrs.get("Containers") or {}:
            try:
                node = client.containers.get(attached)
            except docker.errors.NotFound:
                continue
            name = _labels(node).get(KIND_CLUSTER_LABEL)
            if name:
                clusters[("kind", name)] = network_world
    for state in known_worlds(root):
        if world is not None and state.name != world:
            continue
        for resource in state.created:
            if resource.kind == "cluster":
                clusters.setdefault((resource.detail, resource.ref), state.name)
    return [Leftover("cluster", name, owner, kind) for (kind, name), owner in sorted(clusters.items())]


def find_leftovers(client: Any, root: Path, world: str | None = None) -> list[Leftover]:
    """Everything of ``world`` (every world when None) that prune would remove, in removal order."""
    networks = client.networks.list(filters=_ours(world))
    clusters = _find_clusters(client, root, world, networks)
    found = list(clusters)
    for container in client.containers.list(all=True, filters=_ours(world)):
        labels = _labels(container)
        if K3D_CLUSTER_LABEL in labels:  # a cluster's node: goes with its cluster
            continue
        world_of = labels.get(WORLD_LABEL, UNKNOWN_WORLD)
        found.append(Leftover("container", container.name, world_of, labels.get(COMPONENT_LABEL, "")))
    for volume in client.volumes.list(filters=_ours(world)):
        found.append(Leftover("volume", volume.name, _labels(volume).get(WORLD_LABEL, UNKNOWN_WORLD)))
    for network in networks:
        found.append(Leftover("network", network.name, _labels(network).get(WORLD_LABEL, UNKNOWN_WORLD)))
    for state in known_worlds(root):
        if world is None or state.name == world:
            found.append(Leftover("state", str(root / state.name), state.name))
    return found


def node_label(provider: str) -> str:
    """The Docker label whose value is the cluster's name on each of its nodes."""
    return K3D_CLUSTER_LABEL if provider == "k3d" else KIND_CLUSTER_LABEL


def _cluster_nodes(client: Any, leftover: Leftover) -> list[Any]:
    nodes = {"label": f"{node_label(leftover.detail)}={leftover.ref}"}
    return list(client.containers.list(all=True, filters=nodes))


def remove(client: Any, leftover: Leftover) -> None:
    """Remove one leftover; one already gone is fine."""
    try:
        if leftover.kind == "cluster":
            for node in _cluster_nodes(client, leftover):
                node.remove(force=True, v=True)
            if leftover.detail == "k3d":
                for volume in client.volumes.list(filters={"label": f"{K3D_CLUSTER_LABEL}={leftover.ref}"}):
                    volume.remove(force=True)
        elif leftover.kind == "container":
            client.containers.get(leftover.ref).remove(force=True, v=True)
        elif leftover.kind == "volume":
            client.volumes.get(leftover.ref).remove(force=True)
        elif leftover.kind == "network":
            client.networks.get(leftover.ref).remove()
        elif leftover.kind == "state":
            shutil.rmtree(leftover.ref, ignore_errors=True)
    except docker.errors.NotFound:
        return


def prune(
    client: Any,
    root: Path,
    world: str | None = None,
    *,
    dry_run: bool = False,
    say: Callable[[str], None] = print,
) -> list[tuple[Leftover, str]]:
    """Find and (unless ``dry_run``) remove; says one line per leftover; returns those that could not be
    removed, each with why."""
    failed = []
    leftovers = find_leftovers(client, root, world)
    if not leftovers:
        say(f"nothing to prune{f' of world {world}' if world else ''}")
    for leftover in leftovers:
        if dry_run:
            say(f"would remove {leftover.describe()}")
            continue
        try:
            remove(client, leftover)
        except docker.errors.APIError as error:
            failed.append((leftover, str(error.explanation or error)))
            say(f"could not remove {leftover.describe()}: {error.explanation or error}")
        else:
            say(f"removed {leftover.describe()}")
    return failed


def sweep(root: Path, world: str) -> list[str]:
    """Remove whatever Docker still holds of ``world`` by its labels (the teardown's last step; the world's
    directory is left to the caller); returns what could not be removed."""
    problems = []
    try:
        client = docker_client()
        for leftover in find_leftovers(client, root, world):
            if leftover.kind == "state":
                continue
            try:
                remove(client, leftover)
            except docker.errors.APIError as error:
                problems.append(f"{leftover.describe()}: {error.explanation or error}")
    except docker.errors.DockerException as error:
        problems.append(f"cannot reach Docker to sweep the world's labels ({error})")
    return problems
