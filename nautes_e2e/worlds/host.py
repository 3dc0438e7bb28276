"""This machine, as preflight (:mod:`~nautes_e2e.worlds.preflight`) asks about it: programs on PATH, the
Docker engine and its images, registries, memory, sysctls, ports, and what a world of a given name left.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

import docker
import docker.errors

from nautes_e2e.containers.docker_env import docker_client, docker_unavailable_reason, image_present
from nautes_e2e.containers.labels import OWNER, OWNER_LABEL, WORLD_LABEL
from nautes_e2e.worlds.commands import Command, CommandError, CommandResult, CommandRunner

#: How long a registry may take to answer ``GET /v2/`` before preflight calls it unreachable.
REGISTRY_TIMEOUT_S = 5.0


class LocalHost:
    """The machine this process runs on; commands go through ``runner``."""

    def __init__(
        self, runner: CommandRunner, environ: Mapping[str, str] | None = None, proc: Path = Path("/proc")
    ) -> None:
        self.runner = runner
        #: Programs are looked up on this environment's PATH: the one the world's commands run with.
        self.path = (os.environ if environ is None else environ).get("PATH", "")
        self.proc = proc
        self._client: docker.DockerClient | None = None

    def _docker(self) -> docker.DockerClient:
        if self._client is None:
            self._client = docker_client()
        return self._client

    def which(self, program: str) -> str | None:
        return shutil.which(program, path=self.path)

    def run(self, command: Command) -> CommandResult:
        try:
            return self.runner.run(command, check=False, timeout_s=60)
        except CommandError as error:  # could not start at all
            return error.result

    def docker_problem(self) -> str | None:
        return docker_unavailable_reason()

    def image_present(self, image: str) -> bool:
        return image_present(self._docker(), image)

    def registry_problem(self, endpoint: str) -> str | None:
        """None when ``https://ENDPOINT/v2/`` answers at all (401 included: the API is there)."""
        request = urllib.request.Request(f"https://{endpoint}/v2/", method="GET")
        try:
            with urllib.request.urlopen(
                request, timeout=REGISTRY_TIMEOUT_S, context=ssl.create_default_context()
            ):
                return None
        except urllib.error.HTTPError:
            return None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            return str(reason) or type(error).__name__

    def memory_available(self) -> int | None:
        try:
            lines = (self.proc / "meminfo").read_text().splitlines()
        except OSError:
            return None
        for line in lines:
            key, _, value = line.partition(":")
            if key == "MemAvailable":
                return int(value.split()[0]) * 1024
        return None

    def sysctl(self, name: str) -> str | None:
        try:
            return (self.proc / "sys" / name.replace(".", "/")).read_text().strip()
        except OSError:
            return None

    def port_in_use(self, port: int) -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("0.0.0.0", port))  # any address holding the port counts
            except OSError:
                return True
        return False

    def docker_subnets(self) -> dict[str, str]:
        subnets = {}
        for network in self._docker().networks.list():
            for config in (network.attrs.get("IPAM") or {}).get("Config") or []:
                if config.get("Subnet"):
                    subnets[network.name] = config["Subnet"]
        return subnets

    def world_leftovers(self, world: str) -> list[str]:
        """Docker objects labelled with ``world``: ``container NAME``, ``network NAME``, ``volume NAME``."""
        client = self._docker()
        filters = {"label": [f"{OWNER_LABEL}={OWNER}", f"{WORLD_LABEL}={world}"]}
        found = [f"container {c.name}" for c in client.containers.list(all=True, filters=filters)]
        found += [f"network {n.name}" for n in client.networks.list(filters=filters)]
        found += [f"volume {v.name}" for v in client.volumes.list(filters=filters)]
        return found

    def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(docker.errors.DockerException):
                self._client.close()
            self._client = None
