"""The world's Docker network: one user-defined bridge for the cluster's nodes and every service container.

A user-defined network (not Docker's default bridge) gives containers DNS by name; a fixed subnet gives a
gateway address known in advance, on which every service is published so that the host, the containers and
the cluster's pods all use the same URLs (GitLab's ``external_url`` must be one URL for everyone).
"""

from __future__ import annotations

from nautes_e2e.containers.labels import labels
from nautes_e2e.worlds.commands import Command, command
from nautes_e2e.worlds.settings import WorldSettings


def create(settings: WorldSettings) -> Command:
    argv = [
        "docker", "network", "create",
        "--driver", "bridge",
        "--subnet", settings.subnet,
        "--gateway", settings.gateway,
    ]  # fmt: skip
    for key, value in labels(settings.name, "network").items():
        argv += ["--label", f"{key}={value}"]
    return command(*argv, settings.network)


def remove(name: str) -> Command:
    return command("docker", "network", "rm", name)
