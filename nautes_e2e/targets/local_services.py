"""The real services the ``local`` target swaps in for the reference stack's emulations.

``--service vault=container`` runs Vault (OpenBao, dev mode) in a container, ``--service
registry=container`` a Distribution registry; the stack is then told to use them instead of its own
(``up --external-vault URL`` / ``--external-registry URL``, the credentials in its environment, never in
argv) and writes target.yaml pointing at them, so the stages run unchanged on top.

Everything that can be checked is checked before anything starts: Docker reachable, every image present or
buildable here (the default images are built from this machine's binaries, see
:mod:`~nautes_e2e.containers.images`). The containers start in parallel, each reported as a bring-up step
(``world-vault-container``, ``world-registry-container``) with its image, URL and start-to-healthy time.
Stopping keeps each container's log (redacted) in the work directory, where the run collects ``*.log`` as
evidence, then removes the containers by id.

The Vault container joins the host's network: the stack configures Vault's Kubernetes auth with the
emulated API server's address on the host's 127.0.0.1, which Vault calls on every login (see
:mod:`~nautes_e2e.containers.vault`). The registry stays on the bridge, its port published on 127.0.0.1.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import docker.errors

from nautes_e2e.containers.docker_env import docker_client, docker_unavailable_reason
from nautes_e2e.containers.errors import ContainerError
from nautes_e2e.containers.images import LOCAL_IMAGES, ensure_image, image_problem
from nautes_e2e.containers.registry import DEFAULT_REGISTRY_IMAGE, RegistryContainer
from nautes_e2e.containers.service import ServiceContainer
from nautes_e2e.containers.vault import DEFAULT_VAULT_IMAGE, VaultContainer
from nautes_e2e.secrets import Secret
from nautes_e2e.targets.bringup import UNREPORTED, BringUp
from nautes_e2e.targets.target_file import TargetError

#: Which image runs each service; a machine that can pull may name upstream ones (hashicorp/vault,
#: registry:2) in these variables.
IMAGE_ENV = {"vault": "NAUTES_E2E_VAULT_IMAGE", "registry": "NAUTES_E2E_REGISTRY_IMAGE"}
DEFAULT_IMAGES = {"vault": DEFAULT_VAULT_IMAGE, "registry": DEFAULT_REGISTRY_IMAGE}
#: The stack's command line for external services (nautes_refstack up --help): the flag and the variables
#: it reads the credentials from.
VAULT_FLAG, VAULT_TOKEN_ENV = "--external-vault", "NAUTES_E2E_REFSTACK_VAULT_TOKEN"
REGISTRY_FLAG = "--external-registry"
REGISTRY_USERNAME_ENV = "NAUTES_E2E_REFSTACK_REGISTRY_USERNAME"
REGISTRY_PASSWORD_ENV = "NAUTES_E2E_REFSTACK_REGISTRY_PASSWORD"


@dataclass
class StackWiring:
    """What the stack is started with so that it uses the containers: arguments and environment."""

    arguments: list[str] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)


#: A service's container, not started, and how to wire the stack to it once it is.
Launch = tuple[ServiceContainer, Callable[[], StackWiring]]


def _vault(image: str, world: str) -> Launch:
    token = Secret("dev-" + secrets.token_hex(16))
    container = VaultContainer(image, mode="dev", world=world, root_token=token, host_network=True)
    return container, lambda: StackWiring([VAULT_FLAG, container.url], {VAULT_TOKEN_ENV: token.reveal()})


def _registry(image: str, world: str) -> Launch:
    # Random like the stack's own: the harness treats the username as a secret as well.
    username, password = Secret("pusher-" + secrets.token_hex(4)), Secret(secrets.token_urlsafe(24))
    container = RegistryContainer(image, world=world, username=username.reveal(), password=password)
    credentials = {REGISTRY_USERNAME_ENV: username.reveal(), REGISTRY_PASSWORD_ENV: password.reveal()}
    return container, lambda: StackWiring([REGISTRY_FLAG, container.url], credentials)


SERVICES: Mapping[str, Callable[[str, str], Launch]] = {"vault": _vault, "registry": _registry}


class LocalServices:
    """The containers of ``names`` for one local world: :meth:`check`, :meth:`start`, :meth:`stop`."""

    def __init__(
        self,
        names: Sequence[str],
        *,
        world: str,
        work_dir: Path,
        environ: Mapping[str, str],
        bringup: BringUp = UNREPORTED,
    ) -> None:
        unknown = sorted(set(names) - set(SERVICES))
        if unknown:
            available = ", ".join(SERVICES)
            raise TargetError(f"no container for service(s) {', '.join(unknown)} (available: {available})")
        self.names = tuple(names)
        self.world = world
        self.work_dir = work_dir
        self.bringup = bringup
        self.images = {name: environ.get(IMAGE_ENV[name]) or DEFAULT_IMAGES[name] for name in self.names}
        self.containers: dict[str, ServiceContainer] = {}
        self._executor: ThreadPoolExecutor | None = None

    def check(self) -> None:
        """Docker reachable and every image present or buildable here, or a :class:`TargetError` saying
        what is missing and how to get it; nothing is started."""
        wanted = ", ".join(f"--service {name}=container" for name in self.names)
        reason = docker_unavailable_reason()
        if reason is not None:
            raise TargetError(f"{wanted} needs Docker: {reason}")
        client = docker_client()
        try:
            found = [image_problem(client, image) for image in self.images.values()]
            problems = [problem for problem in found if problem is not None]
        finally:
            client.close()
        if problems:
            raise TargetError(f"{wanted}: " + "; ".join(problems))

    def start(self) -> StackWiring:
        """Start every container at once, each as a reported bring-up step; how to wire the stack to them.
        On a failure the containers started so far are left for :meth:`stop`."""
        self._executor = ThreadPoolExecutor(max_workers=len(self.names), thread_name_prefix="service")
        futures: dict[str, Future[StackWiring]] = {
            name: self._executor.submit(self._start_one, name) for name in self.names
        }
        wiring = StackWiring()
        errors: list[str] = []
        for future in futures.values():
            try:
                started = future.result()
            except (ContainerError, docker.errors.DockerException) as error:
                errors.append(str(error))
                continue
            wiring.arguments += started.arguments
            wiring.environment |= started.environment
        if errors:
            raise TargetError("; ".join(errors))
        return wiring

    def _start_one(self, name: str) -> StackWiring:
        image = self.images[name]
        with self.bringup.step(f"{name}-container") as step:
            client = docker_client()
            try:
                local = LOCAL_IMAGES.get(image)
                if ensure_image(client, image) and local is not None:
                    step.note(f"built {image} ({local.description}): the default image is built when missing")
            finally:
                client.close()
            container, wire = SERVICES[name](image, self.world)
            self.containers[name] = container
            container.start()
            step.fact(f"{name}_image", image)
            step.fact(f"{name}_container", container.short_id)
            step.fact(f"{name}_startup_s", round(container.startup_s or 0.0, 2))
            wiring = wire()
            step.fact(f"{name}_url", wiring.arguments[1])
            return wiring

    def stop(self) -> None:
        """Wait for starts still under way, keep each container's log, remove the containers (by id)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        for name, container in list(self.containers.items()):
            try:
                (self.work_dir / f"{name}-container.log").write_text(container.logs_redacted())
            finally:
                container.stop()
                del self.containers[name]
