"""Wires the reference stack together: start order, bootstrap, the files that describe it, and shutdown.

The stack stands for one Nautes installation with one pipeline runtime cluster (or several, one per run
that shares the world: :mod:`.clusters`): OpenBao, GitLab (with the tenant configuration repository the
installer would create), the Nautes API server, an OCI registry, a Kubernetes API server per runtime
cluster, and the controllers that react on it. It writes
the ``existing`` target's input (``target.yaml`` + ``credentials.env``) so that the harness, ``kubectl``,
``git`` or a browser can be pointed at it exactly like at a real installation. Started with faults
(:mod:`.faults`), every component gets the same :class:`~.faults.Faults`; they are armed once the
bootstrap is done, so the installation starts and then shows the breakage. Faults armed for one run while
it runs come from ``DIR/faults.d`` (:mod:`.fault_control`). Given external services
(:mod:`.external`), it uses that Vault and that registry instead of its own OpenBao and registry.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import yaml

from nautes_refstack.argocd import ArgoCd
from nautes_refstack.bootstrap import TenantBootstrap
from nautes_refstack.clusters import RuntimeCluster, cluster_names
from nautes_refstack.external import ExternalRegistry, ExternalServices, ExternalVault
from nautes_refstack.fault_control import FaultControl
from nautes_refstack.faults import NO_FAULTS, Faults
from nautes_refstack.gitlab import GitLab
from nautes_refstack.management import ManagementCluster
from nautes_refstack.nautes import NautesApiServer
from nautes_refstack.pace import INSTANT, Pace
from nautes_refstack.registry import Registry
from nautes_refstack.registry.tls import RegistryCertificate
from nautes_refstack.vault import OpenBao
from nautes_refstack.world_dir import (
    CREDENTIALS_FILE,
    FAULT_CONTROL_DIR,
    GITLAB_DIR,
    KUBECONFIG_PATTERN,
    LOGS_DIR,
    NAUTES_API_DIR,
    READY_FILE,
    REGISTRY_CA_FILE,
    TARGET_FILE,
    TEKTON_DIR,
)

log = logging.getLogger(__name__)

TENANT_REPO = "nautes/management"
# Names of the environment variables that carry the secrets; target.yaml holds only these names.
TOKEN_ENV = {
    "gitlab": "NAUTES_E2E_GITLAB_TOKEN",
    "vault": "NAUTES_E2E_VAULT_TOKEN",
    "registry_username": "NAUTES_E2E_REGISTRY_USERNAME",
    "registry_password": "NAUTES_E2E_REGISTRY_PASSWORD",
}
#: The tenant management cluster's admin kubeconfig, beside the runtime clusters' (tidied with them).
MANAGEMENT_KUBECONFIG = KUBECONFIG_PATTERN.replace("*", "management")
#: ``--registry-tls``: HTTPS with a private CA, which target.yaml gives as ``registry.caBundle`` ("ca") or
#: tells the harness and kaniko not to verify (``registry.insecure``, "insecure").
REGISTRY_TLS_MODES = ("ca", "insecure")


@dataclass(frozen=True)
class RegistryOptions:
    """How the registry is offered: ``tls`` one of :data:`REGISTRY_TLS_MODES` (None: plain HTTP on
    127.0.0.1), and ``path``, the namespace under the host that target.yaml's ``registry.url`` carries (as
    ``ghcr.io/<org>`` or a Harbor project; the registry itself accepts any repository name)."""

    tls: str | None = None
    path: str = ""


@dataclass
class Credentials:
    """Every secret the stack hands out; written only to ``credentials.env`` (mode 0600)."""

    gitlab_token: str = ""
    # Random, because the harness treats it as a secret and scrubs it from every text it writes.
    registry_username: str = field(default_factory=lambda: "pusher-" + secrets.token_hex(4))
    registry_password: str = field(default_factory=lambda: secrets.token_urlsafe(24))


class ReferenceStack:
    """The whole embedded world, started and stopped as one unit."""

    def __init__(
        self,
        directory: Path,
        faults: Faults = NO_FAULTS,
        pace: Pace = INSTANT,
        registry_options: RegistryOptions | None = None,
        external: ExternalServices | None = None,
        clusters: int = 1,
    ) -> None:
        """``clusters``: how many runtime clusters (:mod:`.clusters`; one per run that shares the world)."""
        self.directory = directory
        self.registry_options = registry_options or RegistryOptions()
        self.logs = directory / LOGS_DIR
        # Its own copy of "no faults": faults armed per run are added to it (NO_FAULTS is shared).
        self.faults = Faults() if faults is NO_FAULTS else faults
        self.fault_control = FaultControl(directory / FAULT_CONTROL_DIR)
        self.pace = pace
        self.credentials = Credentials()
        external = external or ExternalServices()
        self.vault: OpenBao | ExternalVault = external.vault or OpenBao(log_path=self.logs / "openbao.log")
        self.gitlab = GitLab(directory / GITLAB_DIR, faults=self.faults, pace=pace)
        self.clusters = [
            RuntimeCluster(name, self.faults, pace, directory / TEKTON_DIR / name)
            for name in cluster_names(clusters)
        ]
        # The tenant management cluster (Argo CD, the Nautes CRDs and CRs): for kubectl, not for the harness.
        self.management = ManagementCluster(self.faults)
        self.registry: Registry | ExternalRegistry
        if external.registry is not None:
            self.registry = external.registry
            self.credentials.registry_username = external.registry.username
            self.credentials.registry_password = external.registry.password
        else:
            self.registry = Registry(
                self.credentials.registry_username,
                self.credentials.registry_password,
                RegistryCertificate.generate() if self.registry_options.tls else None,
                faults=self.faults,
            )
        self.argocd: ArgoCd | None = None
        self.nautes: NautesApiServer | None = None

    async def start(self) -> None:
        """Bring everything up, bootstrap the installation, then write the target files (``ready`` last)."""
        self.logs.mkdir(parents=True, exist_ok=True)
        (self.directory / READY_FILE).unlink(missing_ok=True)
        for line in self.faults.describe() or ["none"]:
            log.info("fault selected: %s", line)
        log.info("pace: %s", self.pace.describe())
        await _start_together(
            self.vault, _TenantOnGitLab(self), self.registry, self.management, *self.clusters
        )
        self.faults.arm()
        self.fault_control.create()
        self.faults.arm_per_run(self.fault_control)
        self.argocd = ArgoCd(self.gitlab, TENANT_REPO, self.pace, self.faults)
        await self.argocd.start()
        management = await self.management.start_sync(
            self.gitlab, self.argocd, TENANT_REPO, self.gitlab.ssh_url_base, self.pace
        )
        self.gitlab.on_push(management.on_push)
        self.nautes = NautesApiServer(
            self.gitlab.url,
            self.vault.url,
            self.vault.root_token,
            TENANT_REPO,
            faults=self.faults,
            tenant_ref=self.argocd.tenant_ref,
            pace=self.pace,
            tmp_root=self.directory / NAUTES_API_DIR,
        )
        await self.nautes.start()
        for cluster in self.clusters:
            await cluster.start_controllers(
                self.gitlab, self.vault.url, self.vault.root_token, TENANT_REPO, self.argocd
            )
        self._write_target_files()

    async def stop(self) -> None:
        """Stop in reverse order; every piece is stopped even if another one fails to."""
        pieces: list[_Piece | None] = [
            *reversed(self.clusters),
            self.management,
            self.nautes,
            self.argocd,
            self.registry,
            self.gitlab,
            self.vault,
        ]
        for piece in pieces:
            if piece is not None:
                await _stop_bounded(piece)
        (self.directory / READY_FILE).unlink(missing_ok=True)

    def _write_target_files(self) -> None:
        entries = []
        for cluster in self.clusters:
            kubeconfig = self.directory / KUBECONFIG_PATTERN.replace("*", cluster.name)
            _write_private(kubeconfig, cluster.kubeconfig())
            entries.append(
                {
                    "name": cluster.name,
                    "kubeconfig": kubeconfig.name,
                    "apiServer": cluster.url,
                    "ip": "127.0.0.1",
                }
            )
        # Not in target.yaml, whose strict reader knows no such cluster: the harness never needs it.
        _write_private(self.directory / MANAGEMENT_KUBECONFIG, self.management.kubeconfig())
        target = {
            "schema": 1,
            "simulated": True,
            "nautes": {"url": self._require(self.nautes).url},
            "gitlab": {
                "url": self.gitlab.url,
                "sshUrl": self.gitlab.ssh_url_base,
                "tokenEnv": TOKEN_ENV["gitlab"],
            },
            "vault": {"url": self.vault.url, "tokenEnv": TOKEN_ENV["vault"]},
            "registry": self._registry_entry(),
            "clusters": entries,
            "caBundle": None,
            # How fast this world moves against a real installation: the harness scales its stages'
            # waits (each fit for a real installation) by it.
            "timeouts": {"scale": self.pace.timeout_scale},
        }
        (self.directory / TARGET_FILE).write_text(yaml.safe_dump(target, sort_keys=False))
        env_lines = [
            f"{TOKEN_ENV['gitlab']}={self.credentials.gitlab_token}",
            f"{TOKEN_ENV['vault']}={self.vault.root_token}",
            f"{TOKEN_ENV['registry_username']}={self.credentials.registry_username}",
            f"{TOKEN_ENV['registry_password']}={self.credentials.registry_password}",
        ]
        _write_private(self.directory / CREDENTIALS_FILE, "\n".join(env_lines) + "\n")
        (self.directory / READY_FILE).write_text(f"{os.getpid()}\n")

    def _registry_entry(self) -> dict[str, object]:
        """target.yaml's ``registry``: host and path, scheme, credentials' variables, and how to trust it."""
        options, registry = self.registry_options, self.registry
        entry: dict[str, object] = {
            "url": f"{registry.host}/{options.path}" if options.path else registry.host,
            "scheme": "https" if registry.tls else "http",
            "usernameEnv": TOKEN_ENV["registry_username"],
            "passwordEnv": TOKEN_ENV["registry_password"],
        }
        if registry.tls is not None and options.tls == "ca":
            (self.directory / REGISTRY_CA_FILE).write_text(registry.tls.ca_pem)
            entry["caBundle"] = REGISTRY_CA_FILE
        elif registry.tls is not None:
            entry["insecure"] = True
        return entry

    @staticmethod
    def _require(piece: NautesApiServer | None) -> NautesApiServer:
        if piece is None:
            raise RuntimeError("the Nautes API server is not started")
        return piece


class _Piece(Protocol):
    """What the stack starts and stops (its own services, or the stand-ins of external ones)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


#: What one piece's stop may take before the stack gives up on it and stops the next one (OpenBao's 5 s
#: grace to exit on SIGTERM included).
PIECE_STOP_SECONDS = 8.0


async def _stop_bounded(piece: _Piece) -> None:
    """Stop ``piece``, logging before and after: one that fails or hangs must not keep the others
    listening, and the log names it (the process-wide backstop is :mod:`.stop_deadline`)."""
    name = type(piece).__name__
    log.info("stopping %s", name)
    started = time.monotonic()
    # The stop runs as a task of its own and is waited for, not cancelled into: a piece whose stop swallows
    # the cancel (or awaits more in a ``finally``) would otherwise hold this wait past its bound.
    stopping = asyncio.ensure_future(piece.stop())
    try:
        done, _ = await asyncio.wait({stopping}, timeout=PIECE_STOP_SECONDS)
    except asyncio.CancelledError:
        stopping.cancel()
        raise
    if not done:
        stopping.cancel()
        log.error("%s did not stop within %.0f s: going on without it", name, PIECE_STOP_SECONDS)
    elif stopping.cancelled():
        log.error("the stop of %s was cancelled", name)
    elif (error := stopping.exception()) is not None:
        log.error("failed to stop %s", name, exc_info=error)
    else:
        log.info("stopped %s in %.2f s", name, time.monotonic() - started)


class _TenantOnGitLab:
    """GitLab, then what the installer leaves in it (the tenant repository): neither needs anything else,
    so both come up while OpenBao, the slowest piece to start, does."""

    def __init__(self, stack: ReferenceStack) -> None:
        self._stack = stack

    async def start(self) -> None:
        stack = self._stack
        await stack.gitlab.start()
        stack.credentials.gitlab_token = await TenantBootstrap(stack.gitlab, TENANT_REPO).run(stack.directory)

    async def stop(self) -> None:
        await self._stack.gitlab.stop()


async def _start_together(*pieces: _Piece) -> None:
    """Start ``pieces`` concurrently. If one fails, the others are cancelled and have finished (or undone)
    their start before its error is raised, so that ``stop()`` cannot race a piece still coming up."""
    try:
        async with asyncio.TaskGroup() as group:
            for piece in pieces:
                group.create_task(piece.start(), name=f"start {type(piece).__name__}")
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0] from None


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (it holds a secret)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
