"""``--reuse-env NAME``: is the kept world still all there? Checked against Docker before anything uses it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import docker.errors

from nautes_e2e.containers.docker_env import docker_client
from nautes_e2e.worlds.prune import node_label
from nautes_e2e.worlds.state import WorldState


def missing_pieces(state: WorldState, provider: str) -> list[str]:
    """What keeps ``state`` from being reused as a ``provider`` world: not kept, no target file, or a
    recorded network, volume, container or cluster node that Docker no longer has (running)."""
    problems = []
    if state.provider != provider:
        problems.append(f"it is a {state.provider} world, not {provider}")
    if not state.kept:
        problems.append("it was not kept with --keep-env (a run may still own it, or was killed)")
    if state.target_file is None or not Path(state.target_file).is_file():
        problems.append("its target file is missing")
    try:
        client = docker_client()
        for resource in state.created:
            problem = _missing(client, resource.kind, resource.ref, resource.detail)
            if problem:
                problems.append(problem)
    except docker.errors.DockerException as error:
        problems.append(f"Docker does not answer ({error})")
    return problems


def _missing(client: Any, kind: str, ref: str, detail: str) -> str | None:
    try:
        if kind == "cluster":
            nodes = {"label": f"{node_label(detail)}={ref}", "status": "running"}
            return None if client.containers.list(filters=nodes) else f"cluster {ref} has no running node"
        if kind == "network":
            client.networks.get(ref)
        elif kind == "volume":
            client.volumes.get(ref)
        elif client.containers.get(ref).status != "running":
            return f"container {ref} is not running"
    except docker.errors.NotFound:
        return f"{kind} {ref} is gone"
    return None
