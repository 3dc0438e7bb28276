"""The bring-up of a real world as data: ordered steps, what each runs (image, version, exact commands), and
which run side by side. ``nautes-e2e world plan`` prints it without running anything; the cluster target
executes the very same :class:`Plan`, step by step, reporting each one as a ``world-<step>`` stage.

The order, and why:

1. ``preflight``: nothing is created before every requirement is known to be met.
2. ``network``: the world's Docker network comes first; every container and the cluster's node join it.
3. ``certificates``: one CA for the world, and the server certificates GitLab, Vault and the registry start
   with (they serve TLS from their first second, so their certificates exist before they do; issuing them
   takes milliseconds).
4. In parallel, GitLab first because it is the slowest (GitLab CE 15.10 boots for minutes): ``gitlab``,
   ``cluster``, ``vault``, ``registry``.
5. ``installer``: the Nautes installer container, against the cluster, GitLab and Vault above.
6. ``vault-proxy``: started beside Vault, in Vault's network namespace (its AppRole is bound to 127.0.0.1/32:
   nautes-labs/installer v0.3.8, nautes/roles/vault-init/templates/init-vault.yaml, ``boundCIDR``).
7. ``target-file``: the world as a target file, so the stages run unchanged and ``--target existing`` can
   reuse it.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import Protocol

from nautes_e2e.worlds import docker_network, k3d, kind, kubectl
from nautes_e2e.worlds.commands import Command
from nautes_e2e.worlds.settings import WorldSettings
from nautes_e2e.worlds.state import state_root

PREFLIGHT = "preflight"
NETWORK = "network"
CERTIFICATES = "certificates"
GITLAB = "gitlab"
CLUSTER = "cluster"
VAULT = "vault"
REGISTRY = "registry"
INSTALLER = "installer"
VAULT_PROXY = "vault-proxy"
TARGET_FILE = "target-file"


@dataclass(frozen=True)
class Step:
    """One step: ``commands`` are run exactly as listed (a CLI), ``does`` says what a library call does
    (testcontainers, the CA). Steps of the same ``phase`` run in parallel, in list order of start."""

    name: str
    component: str
    phase: int
    does: str
    image: str | None = None
    commands: tuple[Command, ...] = ()
    #: Files the step writes before its commands run (path -> what), so the plan shows them too.
    files: tuple[tuple[Path, str], ...] = ()

    @property
    def version(self) -> str | None:
        return image_version(self.image) if self.image else None


@dataclass(frozen=True)
class WorldPaths:
    """Where a world's files live: ``world_dir`` persists with a kept world (state, kubeconfig,
    certificates, installer inputs and outputs, the target file)."""

    world_dir: Path

    @property
    def kubeconfig(self) -> Path:
        return self.world_dir / "kubeconfig.yaml"

    @property
    def kind_config(self) -> Path:
        return self.world_dir / "kind-config.yaml"

    @property
    def storage_class(self) -> Path:
        return self.world_dir / "local-path-storageclass.yaml"

    @property
    def pki(self) -> Path:
        return self.world_dir / "pki"

    @property
    def installer(self) -> Path:
        return self.world_dir / "installer"

    @property
    def vault_proxy(self) -> Path:
        return self.world_dir / "vault-proxy"

    @property
    def target_file(self) -> Path:
        return self.world_dir / "target.yaml"

    @property
    def credentials(self) -> Path:
        return self.world_dir / "credentials.env"


@dataclass(frozen=True)
class Plan:
    settings: WorldSettings
    paths: WorldPaths
    steps: tuple[Step, ...]
    #: The images preflight checks besides the steps' own (k3d's tools image).
    extra_images: tuple[str, ...] = field(default=())

    def phases(self) -> Iterator[list[Step]]:
        for _, steps in groupby(self.steps, key=lambda step: step.phase):
            yield list(steps)

    def step(self, name: str) -> Step:
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(name)

    def images(self) -> list[str]:
        """Every image the bring-up runs, in step order, each once."""
        seen: dict[str, None] = {}
        for image in [step.image for step in self.steps if step.image] + list(self.extra_images):
            seen.setdefault(image, None)
        return list(seen)


def image_version(image: str) -> str:
    """The tag of an image reference (``kindest/node:v1.21.14@sha256:...`` -> ``v1.21.14``)."""
    name = image.partition("@")[0]
    last = name.rsplit("/", 1)[-1]
    return last.partition(":")[2] or "latest"


class InstallerCommands(Protocol):
    """Makes the installer's and vault-proxy's commands (:class:`~nautes_e2e.worlds.installation.
    Installation`)."""

    def commands(self, settings: WorldSettings, paths: WorldPaths) -> Sequence[Command]: ...

    def vault_proxy_commands(self, settings: WorldSettings, paths: WorldPaths) -> Sequence[Command]: ...


def cluster_step(settings: WorldSettings, paths: WorldPaths) -> Step:
    """The cluster's commands: is there one of that name already (then it is reused), create, read the
    kubeconfig, wait for the node; kind also gets the ``local-path`` StorageClass."""
    if settings.provider == "k3d":
        return Step(
            CLUSTER,
            f"k3d cluster (K3s {image_version(settings.images.k3s)})",
            phase=3,
            does="reuse the cluster of that name if k3d lists one, else create it; the kubeconfig is written "
            f"to {paths.kubeconfig} (mode 0600)",
            image=settings.images.k3s,
            commands=(
                k3d.list_clusters(),
                k3d.create(settings),
                k3d.kubeconfig(settings.name),
                kubectl.wait_nodes_ready(paths.kubeconfig),
            ),
        )
    return Step(
        CLUSTER,
        f"kind cluster (Kubernetes {image_version(settings.images.kind_node)})",
        phase=3,
        does="reuse the cluster of that name if kind lists one, else create it; the kubeconfig is written "
        f"to {paths.kubeconfig} (mode 0600)",
        image=settings.images.kind_node,
        commands=(
            kind.list_clusters(),
            kind.create(settings, str(paths.kind_config), str(paths.kubeconfig)),
            kind.kubeconfig(settings.name),
            kubectl.wait_nodes_ready(paths.kubeconfig),
            kubectl.apply(paths.kubeconfig, paths.storage_class),
        ),
        files=(
            (paths.kind_config, "the kind cluster config"),
            (paths.storage_class, "the local-path StorageClass"),
        ),
    )


def build_plan(
    settings: WorldSettings,
    world_dir: Path,
    installer: InstallerCommands,
    *,
    cluster_cli_version: str | None = None,
) -> Plan:
    """The plan of ``settings``' world with its files under ``world_dir``. ``cluster_cli_version`` (what
    preflight found) tags k3d's tools image; the settings' pinned version otherwise."""
    paths = WorldPaths(world_dir)
    gateway, ports = settings.gateway, settings.ports
    on = f"on network {settings.network}, published on {gateway}"
    steps = (
        Step(
            PREFLIGHT,
            "this machine",
            phase=0,
            does=f"Docker; {settings.provider}, kubectl and their versions; free memory for GitLab; "
            "fs.inotify.max_user_instances; the world's name, subnet and ports free; every image below "
            "present or pullable. Nothing is created before it passes.",
        ),
        Step(
            NETWORK,
            "Docker network",
            phase=1,
            does=f"{settings.network} ({settings.subnet}, gateway {gateway}), labelled",
            commands=(docker_network.create(settings),),
        ),
        Step(
            CERTIFICATES,
            "the world's CA",
            phase=2,
            does=f"one CA; server certificates for GitLab, Vault (also vault-proxy's) and the registry, for "
            f"{gateway} and their names on the network; written to {paths.pki}",
        ),
        Step(
            GITLAB,
            "GitLab CE",
            phase=3,
            does=f"testcontainers GitLabContainer {on}:{ports.gitlab_https} (HTTPS) and :{ports.gitlab_ssh} "
            "(SSH); started first, it boots for minutes; a root token is minted inside",
            image=settings.images.gitlab,
        ),
        cluster_step(settings, paths),
        Step(
            VAULT,
            "Vault",
            phase=3,
            does="testcontainers VaultContainer(mode=server): TLS, file storage, uninitialised (the "
            f"installer's vault-init initialises it) {on}:{ports.vault} and :{ports.vault_proxy} "
            "(vault-proxy's port)",
            image=settings.images.vault,
        ),
        Step(
            REGISTRY,
            "registry",
            phase=3,
            does=f"testcontainers RegistryContainer: Distribution, htpasswd, TLS {on}:{ports.registry}",
            image=settings.images.registry,
        ),
        Step(
            INSTALLER,
            f"Nautes installer (Nautes {settings.nautes_version})",
            phase=4,
            does=f"inputs (vars.yaml, inventory, flag files, certificates) rendered into {paths.installer}; "
            "the installer runs against the cluster, GitLab and Vault above; its log is kept, redacted",
            image=settings.images.installer,
            commands=tuple(installer.commands(settings, paths)),
        ),
        Step(
            VAULT_PROXY,
            "vault-proxy",
            phase=5,
            does="in Vault's network namespace, configured from the installer's outputs "
            f"({paths.vault_proxy})",
            image=settings.images.vault_proxy,
            commands=tuple(installer.vault_proxy_commands(settings, paths)),
        ),
        Step(
            TARGET_FILE,
            "the target file",
            phase=6,
            does=f"{paths.target_file} and {paths.credentials} (0600), also copied into the run's directory: "
            f"pytest suites/quickstart --target existing --target-file {paths.target_file}",
        ),
    )
    tools = k3d.tools_image(cluster_cli_version or settings.tools.k3d)
    extra = (tools,) if settings.provider == "k3d" else ()
    return Plan(settings, paths, steps, extra)


def world_dir(settings: WorldSettings, environ: Mapping[str, str]) -> Path:
    """Where the world's files go: its directory beside its state file (:mod:`~nautes_e2e.worlds.state`)."""
    return state_root(environ) / settings.name


def render_plan(plan: Plan) -> str:
    """The plan as text: steps in order, parallel ones grouped, each with image, version and commands."""
    settings = plan.settings
    lines = [
        f"Bring-up of the {settings.provider} world {settings.name!r} (Nautes {settings.nautes_version} by "
        f"{settings.images.installer})",
        f"files: {plan.paths.world_dir}",
        "",
    ]
    for number, phase in enumerate(plan.phases(), start=1):
        if len(phase) > 1:
            names = ", ".join(step.name for step in phase)
            lines.append(f"{number}. in parallel, started in this order: {names}")
        for index, step in enumerate(phase):
            label = f"{number}{chr(ord('a') + index)}" if len(phase) > 1 else str(number)
            indent = "   " if len(phase) > 1 else ""
            lines.append(f"{indent}{label}. {step.name}: {step.component}")
            detail = f"{indent}      "
            if step.image:
                lines.append(f"{detail}image {step.image} (version {step.version})")
            lines.append(f"{detail}{step.does}")
            for path, what in step.files:
                lines.append(f"{detail}writes {path} ({what})")
            for each in step.commands:
                env = "".join(f"{name}={shlex.quote(value)} " for name, value in sorted(each.env.items()))
                lines.append(f"{detail}$ {env}{shlex.join(each.argv)}")
    images = plan.images()
    lines += ["", f"images ({len(images)}): " + ", ".join(images)]
    return "\n".join(lines) + "\n"
