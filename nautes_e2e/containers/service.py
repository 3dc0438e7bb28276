"""What every service container of the harness shares, on top of testcontainers' ``DockerContainer``.

- Labels: :func:`~nautes_e2e.containers.labels.labels` on the container, so ``nautes-e2e world prune`` finds
  what a killed run left (Ryuk, testcontainers' reaper, is disabled: its image cannot be pulled here).
- Where it listens: a named Docker network with aliases (the other containers of a world reach it by
  name), the host's network (it must reach services bound to the host's 127.0.0.1), or the default
  bridge; a published port is bound to 127.0.0.1 only, never to every interface.
- Failures safe to show: a readiness check that fails becomes :class:`ContainerNotReady` whose text is
  redacted (testcontainers attaches the container's whole log to a timeout, secrets and all).
- Evidence: :meth:`logs_redacted`; removal by id in :meth:`stop`, idempotent.
"""

from __future__ import annotations

import contextlib
import re
import socket
import time
from collections.abc import Sequence
from typing import Any, ClassVar, Self, cast

import docker.errors
from testcontainers.core.container import DockerContainer

from nautes_e2e.containers.docker_env import configure_testcontainers
from nautes_e2e.containers.errors import ContainerNotReady
from nautes_e2e.containers.labels import labels
from nautes_e2e.secrets import MASK, redact

LOOPBACK = "127.0.0.1"
HOST_NETWORK = "host"


class ServiceContainer(DockerContainer):
    """A labelled service container of ``world``; subclasses set :attr:`component` and their readiness."""

    component: ClassVar[str]
    #: Lines of a service's own output that carry a secret it generated itself (subclasses extend).
    secret_lines: ClassVar[Sequence[re.Pattern[str]]] = ()

    def __init__(
        self,
        image: str,
        *,
        world: str,
        network: str | None = None,
        aliases: Sequence[str] = (),
        host_network: bool = False,
    ) -> None:
        if host_network and network:
            raise ValueError(f"the {self.component} container joins either the host's network or {network!r}")
        if aliases and not network:
            raise ValueError(f"network aliases {list(aliases)} need a network to be aliases in")
        configure_testcontainers()
        super().__init__(image)
        self.world = world
        self.network_name = network
        self.aliases = tuple(aliases)
        self.host_network = host_network
        #: Seconds from create to ready, once started (the bring-up reports it).
        self.startup_s: float | None = None
        self._published: dict[str, tuple[str, ...]] = {}

    def publish(self, port: int, host_port: int | None = None) -> None:
        """Publish the container's ``port`` on 127.0.0.1 (at ``host_port``, or a free one)."""
        if not self.host_network:
            self._published[f"{port}/tcp"] = (LOOPBACK,) if host_port is None else (LOOPBACK, str(host_port))

    def _configure(self) -> None:
        """The create() arguments testcontainers has no builder for (called by start, before create)."""
        # docker-py takes (host_ip,) and (host_ip, port) bindings; testcontainers annotates only int ports.
        self.ports.update(cast("dict[str, int | None]", self._published))
        options: dict[str, Any] = {"labels": labels(self.world, self.component)}
        if self.host_network:
            options["network_mode"] = HOST_NETWORK
        elif self.network_name:
            api = self.get_docker_client().client.api
            options["network"] = self.network_name
            options["networking_config"] = {
                self.network_name: api.create_endpoint_config(aliases=list(self.aliases) or None)
            }
        self.with_kwargs(**options)

    def start(self) -> Self:
        """Create, start and wait for readiness; a failed check is :class:`ContainerNotReady` (redacted).
        The container is left in place on failure, so that its logs can be kept: :meth:`stop` removes it."""
        began = time.monotonic()
        try:
            super().start()
        except Exception as error:
            where = f" {self.short_id}" if self._container is not None else ""
            raise ContainerNotReady(
                f"the {self.component} container{where} ({self.image}) was not ready: "
                f"{self._scrub(_message(error))}"
            ) from None
        self.startup_s = time.monotonic() - began
        return self

    def stop(self, force: bool = True, delete_volume: bool = True) -> None:
        """Remove the container (by id, with its anonymous volumes) and close the client; nothing when
        there is no container."""
        if self._container is not None:
            self.remove(force=force, delete_volume=delete_volume)
            self.get_docker_client().client.close()

    def remove(self, *, force: bool = True, delete_volume: bool = True) -> None:
        """Remove the container by id (already gone is fine); the object may be started again."""
        container, self._container = self._container, None
        if container is not None:
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=force, v=delete_volume)

    @property
    def short_id(self) -> str:
        return str(self.get_wrapped_container().short_id)

    @property
    def container_id(self) -> str | None:
        return None if self._container is None else self._container.id

    def get_container_host_ip(self) -> str:
        return LOOPBACK if self.host_network else super().get_container_host_ip()

    def get_exposed_port(self, port: int) -> int:
        """On the host's network the container's port is the host's port."""
        return port if self.host_network else super().get_exposed_port(port)

    def logs_redacted(self) -> str:
        """The container's output so far (stdout and stderr interleaved), every known secret masked; empty
        when it was never created or is gone."""
        if self._container is None:
            return ""
        try:
            raw = self._container.logs(stdout=True, stderr=True).decode(errors="replace")
        except docker.errors.NotFound:
            return ""
        return self._scrub(raw)

    def _scrub(self, text: str) -> str:
        for pattern in self.secret_lines:
            text = pattern.sub(lambda match: match.group(1) + MASK, text)
        return redact(text)


#: How much of a readiness failure's text is shown (a log check's text quotes the whole log so far).
MESSAGE_LIMIT = 2000


def _message(error: BaseException) -> str:
    """The error's own text, without the notes testcontainers adds (the whole container log), cut short."""
    text = str(error) or type(error).__name__
    if len(text) > MESSAGE_LIMIT:
        text = text[:MESSAGE_LIMIT] + " ... (cut; the container's whole log is kept as evidence)"
    return text


def free_loopback_port() -> int:
    """A port that was free on 127.0.0.1 a moment ago, for a service on the host's network that must be
    told its port (another process may take it before the service binds it: callers retry)."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])
