"""Executes a world's :class:`~nautes_e2e.worlds.plan.Plan`: every step in order, the parallel ones in
threads, each reported as it runs; and takes the world down again, in reverse order, whatever state it got to.

Each step's commands are the plan's, run through the :class:`CommandRunner` (tests substitute one that
records, which is how the order, the parallelism and the teardown are proved offline). Everything created
is recorded in the world's state file the moment it exists; the teardown removes those records in reverse
order, tolerating pieces already gone, then sweeps Docker for anything of the world that carries its labels
(a container still starting when a Ctrl-C came). A failure or an interrupt first cancels the runner (killing
a ``k3d cluster create`` still running) and removes the world's service containers, which ends their
threads' readiness waits, so the teardown never waits for GitLab to finish booting.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import secrets
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from nautes_e2e.containers.tls import TlsFiles
from nautes_e2e.secrets import Secret, redact, register
from nautes_e2e.worlds import docker_network, k3d, kind, kubectl, plan, preflight
from nautes_e2e.worlds.certificates import WorldCA, write_private
from nautes_e2e.worlds.commands import (
    CancellableRunner,
    Command,
    CommandError,
    CommandResult,
    CommandRunner,
    command,
)
from nautes_e2e.worlds.installation import Installation
from nautes_e2e.worlds.installer.vault_proxy import COMPONENT as VAULT_PROXY
from nautes_e2e.worlds.installer.vault_proxy import HEALTH_PATH as VAULT_PROXY_HEALTH
from nautes_e2e.worlds.services import GitLabService, Service, ServiceFactory, names_on_network
from nautes_e2e.worlds.state import Resource, StateFile
from nautes_e2e.worlds.world_file import WorldEndpoints, write_target_file

#: How long vault-proxy may take to answer its health check (its compose file gives it a 40 s start period:
#: nautes-labs/installer v0.3.8, nautes/roles/vault-proxy/templates/docker-compose.yaml).
VAULT_PROXY_TIMEOUT_S = 120.0
#: How long the teardown waits for a step's thread to notice that its container is gone.
THREAD_JOIN_TIMEOUT_S = 60.0
#: Docker's and the CLIs' words for "already gone" (the teardown tolerates missing pieces).
ALREADY_GONE = ("No such", "not found", "No nodes found", "does not exist")


class StepLog(Protocol):
    """What a step may say about itself (structurally :class:`nautes_e2e.targets.bringup.StepLog`)."""

    def fact(self, key: str, value: object) -> None: ...

    def note(self, text: str) -> None: ...


@runtime_checkable
class ProgressLog(Protocol):
    """A step log that can also print a line at once (a stage's context can)."""

    def progress(self, message: str) -> None: ...


class Reporter(Protocol):
    """Opens one reported step (structurally :class:`nautes_e2e.targets.bringup.BringUp`)."""

    def step(self, name: str) -> AbstractContextManager[StepLog]: ...


class PreflightFailed(Exception):
    """Preflight found something missing; the text lists every failing finding and its fix."""

    def __init__(self, message: str, findings: list[preflight.Finding]) -> None:
        super().__init__(message)
        self.findings = findings


def say(log: StepLog, line: str, *, remark: bool = False) -> None:
    """Print ``line`` now when the log can (a stage's context); a ``remark`` is also kept in the reports
    as a note of the step."""
    if isinstance(log, ProgressLog):
        log.progress(line)
    if remark:
        log.note(line)


@dataclass
class WorldSecrets:
    """What the bring-up makes up or learns that must stay secret."""

    gitlab_root_password: Secret = field(default_factory=lambda: Secret(secrets.token_urlsafe(18)))
    #: Random like the reference stack's: the run registers every value of credentials.env as a secret,
    #: and a fixed word would then be masked wherever it appears.
    registry_username: str = field(default_factory=lambda: "pusher-" + secrets.token_hex(4))
    registry_password: Secret = field(default_factory=lambda: Secret(secrets.token_urlsafe(18)))
    gitlab_token: Secret | None = None
    vault_root_token: Secret | None = None


@dataclass
class Built:
    """What the steps produced, for the steps after them."""

    ca: WorldCA | None = None
    tls: dict[str, TlsFiles] = field(default_factory=dict)
    services: dict[str, Service] = field(default_factory=dict)
    cluster_reused: bool = False


class WorldBuilder:
    """Brings the world of ``the_plan`` up (:meth:`build`); :meth:`abort` stops a bring-up under way, and
    :func:`teardown` takes down what the state file records."""

    def __init__(
        self,
        the_plan: plan.Plan,
        *,
        runner: CancellableRunner,
        cleanup: CommandRunner,
        host: preflight.Host,
        services: ServiceFactory,
        installation: Installation,
        state: StateFile,
        reporter: Reporter,
        logs_dir: Path,
        images_for: Callable[[str | None], list[str]],
        keep: bool = False,
    ) -> None:
        self.plan = the_plan
        self.settings = the_plan.settings
        self.paths = the_plan.paths
        self.runner = runner
        #: Runs the removals once ``runner`` is cancelled (an aborted bring-up, the teardown).
        self.cleanup = cleanup
        self.host = host
        self.services = services
        self.installation = installation
        self.state = state
        self.reporter = reporter
        self.logs_dir = logs_dir
        self.images_for = images_for
        #: ``--keep-env``: a failure does not remove the services still starting (they are kept, to look at).
        self.keep = keep
        self.secrets = WorldSecrets()
        self.built = Built()
        self._futures: list[concurrent.futures.Future[None]] = []
        self._pools: list[concurrent.futures.ThreadPoolExecutor] = []
        self._steps: dict[str, Callable[[plan.Step, StepLog], None]] = {
            plan.PREFLIGHT: self._preflight,
            plan.NETWORK: self._network,
            plan.CERTIFICATES: self._certificates,
            plan.GITLAB: self._gitlab,
            plan.CLUSTER: self._cluster,
            plan.VAULT: self._vault,
            plan.REGISTRY: self._registry,
            plan.INSTALLER: self._installer,
            plan.VAULT_PROXY: self._vault_proxy,
            plan.TARGET_FILE: self._target_file,
        }

    # -- bring-up -------------------------------------------------------------------------------------

    def build(self) -> Path:
        """Every step of the plan; returns the target file. On failure the caller tears down."""
        for phase in self.plan.phases():
            if len(phase) == 1:
                self._run_step(phase[0])
            else:
                self._run_parallel(phase)
        return self.paths.target_file

    def _run_step(self, step: plan.Step) -> None:
        with self.reporter.step(step.name) as log:
            self._steps[step.name](step, log)

    def _run_parallel(self, steps: list[plan.Step]) -> None:
        """Start the steps in order (the first, GitLab, is the slowest), each in its own thread; the first
        failure is re-raised once the others have ended (the teardown's removal ends them quickly)."""
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=len(steps), thread_name_prefix="world")
        self._pools.append(pool)
        self._futures = [pool.submit(self._run_step, step) for step in steps]
        try:
            done, _ = concurrent.futures.wait(self._futures, return_when=concurrent.futures.FIRST_EXCEPTION)
            errors = [error for future in done if (error := future.exception()) is not None]
            if errors:
                self.abort()
                raise errors[0]
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def _run(self, log: StepLog, each: Command, *, check: bool = True) -> CommandResult:
        result = self.runner.run(each, check=check)
        if not each.secret_output:
            say(log, f"{each.argv[0]} {each.argv[1]}... {result.returncode} in {result.seconds:.1f}s")
        return result

    def _preflight(self, step: plan.Step, log: StepLog) -> None:
        del step
        findings = preflight.run_preflight(
            self.settings, self.images_for, self.host, report=lambda finding: say(log, finding.line())
        )
        log.fact("findings", [finding.as_fact() for finding in findings])
        if preflight.failures(findings):
            raise PreflightFailed(preflight.describe_failures(self.settings, findings), findings)

    def _network(self, step: plan.Step, log: StepLog) -> None:
        self.state.create(self.settings.provider)
        for each in step.commands:
            self._run(log, each)
        self.state.record(Resource("network", self.settings.network, "network"))
        log.fact("network", f"{self.settings.network} {self.settings.subnet}")

    def _certificates(self, step: plan.Step, log: StepLog) -> None:
        del step
        settings = self.settings
        ca = WorldCA.generate(f"nautes-e2e {settings.name} CA")
        ca.write(self.paths.pki)
        self.built.ca = ca
        for component in ("gitlab", "vault", "registry"):
            # Vault's CN is its address, as the installer names its [vault] host's certificate
            # (nautes-labs/installer v0.3.8, nautes/generate_keypair.yaml; installer.vault_certificate).
            self.built.tls[component] = ca.issue(
                settings.gateway if component == "vault" else f"{component}.{settings.name}",
                dns=names_on_network(settings, component),
                ips=[settings.gateway, "127.0.0.1"],
            )
        log.fact("ca", str(self.paths.pki / "ca.crt"))

    def _start_service(self, log: StepLog, component: str, service: Service) -> None:
        self.built.services[component] = service
        try:
            service.start()
        finally:
            if service.container_id is not None:
                self.state.record(Resource("container", service.container_id, component))
        log.fact(f"{component}_container", service.container_id)

    def _gitlab(self, step: plan.Step, log: StepLog) -> None:
        del step
        gitlab: GitLabService = self.services.gitlab(
            self.settings, self.built.tls["gitlab"], self.secrets.gitlab_root_password
        )
        self._start_service(log, "gitlab", gitlab)
        self.secrets.gitlab_token = gitlab.mint_token()
        log.fact("gitlab_url", f"https://{self.settings.gateway}:{self.settings.ports.gitlab_https}")

    def _vault(self, step: plan.Step, log: StepLog) -> None:
        del step
        self._start_service(log, "vault", self.services.vault(self.settings, self.built.tls["vault"]))

    def _registry(self, step: plan.Step, log: StepLog) -> None:
        del step
        registry = self.services.registry(
            self.settings,
            self.built.tls["registry"],
            self.secrets.registry_username,
            self.secrets.registry_password,
        )
        self._start_service(log, "registry", registry)

    def _cluster(self, step: plan.Step, log: StepLog) -> None:
        listing, create, get_kubeconfig, *after = step.commands
        result = self._run(log, listing)
        parse = k3d.parse_cluster_names if self.settings.provider == "k3d" else kind.parse_cluster_names
        if self.settings.name in parse(result.stdout):
            self.built.cluster_reused = True
            say(log, f"reusing the existing {self.settings.provider} cluster {self.settings.name}")
        else:
            self.paths.world_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            if self.settings.provider == "kind":
                self.paths.kind_config.write_text(kind.cluster_config(self.settings))
                self.paths.storage_class.write_text(kind.LOCAL_PATH_STORAGE_CLASS)
            try:
                self._run(log, create)
            finally:
                # Recorded even when create failed: k3d rolls back, kind may leave a node behind.
                self.state.record(Resource("cluster", self.settings.name, "cluster", self.settings.provider))
        server = f"https://{self.settings.gateway}:{self.settings.ports.kube_api}"
        kubeconfig = kubectl.with_server(self._run(log, get_kubeconfig).stdout, server)
        register(kubeconfig)
        write_private(self.paths.kubeconfig, kubeconfig.encode())
        for each in after:
            self._run(log, each)
        log.fact("cluster", f"{self.settings.provider} {self.settings.name}")
        log.fact("cluster_reused", self.built.cluster_reused)

    def _installer(self, step: plan.Step, log: StepLog) -> None:
        """Run the installer; its output is its log, kept only once the secrets it made itself (read from
        its outputs) are registered, and only then may an error quote it."""
        assert self.built.ca is not None
        assert self.secrets.gitlab_token is not None
        self.installation.prepare(self.settings, self.paths, self.built.ca, self.secrets.gitlab_token)
        for each in step.commands:
            result = self._run(log, each, check=False)
            self.installation.register_secrets(self.paths)
            self.logs_dir.mkdir(parents=True, exist_ok=True)
            (self.logs_dir / "installer.log").write_text(redact(result.stdout + result.stderr))
            if result.returncode != 0:
                raise CommandError(result)
        self.secrets.vault_root_token = self.installation.vault_root_token(self.paths)
        log.fact("nautes_url", self.installation.nautes_url(self.paths))

    def _vault_proxy(self, step: plan.Step, log: StepLog) -> None:
        self.installation.prepare_vault_proxy(self.paths)
        name = f"{self.settings.name}-{VAULT_PROXY}"
        for each in step.commands:
            try:
                self._run(log, each)
            finally:
                self.state.record(Resource("container", name, "vault-proxy"))
        assert self.built.ca is not None
        url = f"https://{self.settings.gateway}:{self.settings.ports.vault_proxy}{VAULT_PROXY_HEALTH}"
        self.services.wait_answers(url, self.built.ca.ca_pem, VAULT_PROXY_TIMEOUT_S)
        log.fact("vault_proxy_url", url.removesuffix(VAULT_PROXY_HEALTH))

    def _target_file(self, step: plan.Step, log: StepLog) -> None:
        del step
        assert self.secrets.gitlab_token is not None
        assert self.secrets.vault_root_token is not None
        settings = self.settings
        endpoints = WorldEndpoints(
            nautes_url=self.installation.nautes_url(self.paths),
            gitlab_url=f"https://{settings.gateway}:{settings.ports.gitlab_https}",
            gitlab_ssh_url=f"ssh://git@{settings.gateway}:{settings.ports.gitlab_ssh}",
            vault_url=f"https://{settings.gateway}:{settings.ports.vault}",
            registry=f"{settings.gateway}:{settings.ports.registry}",
            api_server=f"https://{settings.gateway}:{settings.ports.kube_api}",
            ip=settings.gateway,
        )
        credentials = {
            "gitlab": self.secrets.gitlab_token,
            "vault": self.secrets.vault_root_token,
            "registry_username": Secret(self.secrets.registry_username),
            "registry_password": self.secrets.registry_password,
        }
        write_target_file(self.paths, settings.name, endpoints, credentials)
        self.state.update(target_file=self.paths.target_file)
        log.fact("target_file", str(self.paths.target_file))

    # -- teardown -------------------------------------------------------------------------------------

    def abort(self) -> None:
        """Stop what is running now: kill running commands and, unless the world is kept, remove the service
        containers still starting (their threads' readiness waits then fail at once); then wait for the
        steps' threads to end, so that none records anything after the teardown."""
        self.runner.cancel()
        if not self.keep:
            recorded = {resource.ref for resource in self.state.state.created} if self.state.state else set()
            for service in list(self.built.services.values()):
                if service.container_id is not None and service.container_id not in recorded:
                    with contextlib.suppress(CommandError):
                        self.cleanup.run(remove_container(service.container_id), check=False)
        _, running = concurrent.futures.wait(self._futures, timeout=THREAD_JOIN_TIMEOUT_S)
        if not running:
            for pool in self._pools:
                pool.shutdown(wait=True)

    def keep_logs(self) -> None:
        """Each service container's log (redacted) as ``<logs_dir>/<component>.log``: the run's evidence."""
        for component, service in self.built.services.items():
            self.logs_dir.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(Exception):
                (self.logs_dir / f"{component}.log").write_text(service.logs_redacted())


def remove_container(reference: str) -> Command:
    return command("docker", "rm", "--force", "--volumes", reference)


def removal(resource: Resource) -> Command:
    """The command that removes one recorded resource."""
    if resource.kind == "cluster":
        return k3d.delete(resource.ref) if resource.detail == "k3d" else kind.delete(resource.ref)
    if resource.kind == "network":
        return docker_network.remove(resource.ref)
    if resource.kind == "volume":
        return command("docker", "volume", "rm", "--force", resource.ref)
    return remove_container(resource.ref)


def teardown(state: StateFile, runner: CommandRunner, say_line: Callable[[str], None]) -> list[str]:
    """Remove everything ``state`` records, newest first; pieces already gone are fine. Returns what could
    not be removed (each with why); the state file goes once everything is gone."""
    problems = []
    assert state.state is not None
    for resource in reversed(list(state.state.created)):
        result = runner.run(removal(resource), check=False)
        output = result.stderr + result.stdout
        if result.returncode == 0 or any(word in output for word in ALREADY_GONE):
            state.forget(resource)
            say_line(f"removed {resource.kind} {resource.ref}")
        else:
            problems.append(f"{resource.kind} {resource.ref}: {output.strip()[-300:]}")
    return problems
