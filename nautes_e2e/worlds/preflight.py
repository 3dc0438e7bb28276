"""Preflight of a real world: everything a k3d/kind bring-up needs from this machine, checked before anything
is created, each check a :class:`Finding` that says what is wrong and exactly how to fix it.

A bring-up that fails after ten minutes because an image cannot be pulled, or after GitLab booted because
``kind`` is missing, wastes a CI slot and leaves things behind. Preflight checks, in order: the Docker engine
and CLI; the cluster CLI (``k3d`` or ``kind``) and ``kubectl`` with their versions; free memory for GitLab;
``fs.inotify.max_user_instances`` for Argo Events; that the world's name, subnet and ports are free; and
every image the plan runs, present locally, or else pullable. Nothing is pulled here: an image that is not
present fails unless its registry answers (then the finding says it will be pulled), so on a machine that
cannot pull, preflight lists every missing image at once. The checks talk to the machine through a
:class:`Host`, so that tests can give them any machine.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from nautes_e2e.worlds import k3d, kind, kubectl
from nautes_e2e.worlds.commands import Command, CommandResult
from nautes_e2e.worlds.settings import WorldSettings

GIB = 1024**3
#: GitLab's minimum: "4 GB RAM is the required minimum memory size" (docs.gitlab.com, GitLab 15.10,
#: install/requirements.md, Memory).
GITLAB_MIN_MEMORY_BYTES = 4 * GIB
#: Argo Events' pods crash with "too many open files" below this; the Nautes guide's FAQ sets it to 65535
#: (nautes docs, user-guide/run-a-pipeline.md, 常见问题; argoproj/argo-events#1791).
INOTIFY_SYSCTL = "fs.inotify.max_user_instances"
INOTIFY_MIN_INSTANCES = 65535

#: How to install each CLI, at the version the commands are written for.
INSTALL_K3D = "curl -s https://raw.githubusercontent.com/k3d-io/k3d/main/install.sh | TAG={version} bash"
INSTALL_KIND = (
    "curl -Lo ./kind https://kind.sigs.k8s.io/dl/{version}/kind-linux-amd64 && chmod +x ./kind && "
    "sudo mv ./kind /usr/local/bin/kind"
)
INSTALL_KUBECTL = (
    "curl -LO https://dl.k8s.io/release/v1.21.14/bin/linux/amd64/kubectl && "
    "sudo install -m 0755 kubectl /usr/local/bin/kubectl"
)
INSTALL_DOCKER = "install Docker Engine (https://docs.docker.com/engine/install/) and start it"
DOCKER_HUB = "docker.io"
#: Where Docker pulls images named without a registry (docker/distribution reference, ParseNormalizedNamed).
DOCKER_HUB_ENDPOINT = "registry-1.docker.io"
_VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")


@dataclass(frozen=True)
class Finding:
    """One check: ``ok``, what was found (``detail``), and when not ok, how to fix it (``remedy``)."""

    name: str
    ok: bool
    detail: str
    remedy: str = ""

    def line(self) -> str:
        """How the finding is printed: ``ok   k3d: v5.8.3`` / ``FAIL k3d: not found on PATH``."""
        return f"{'ok  ' if self.ok else 'FAIL'} {self.name}: {self.detail}"

    def as_fact(self) -> dict[str, object]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail, "remedy": self.remedy}


class Host(Protocol):
    """The machine preflight looks at (:class:`~nautes_e2e.worlds.host.LocalHost` is the real one)."""

    def which(self, program: str) -> str | None: ...

    def run(self, command: Command) -> CommandResult: ...

    def docker_problem(self) -> str | None: ...

    def image_present(self, image: str) -> bool: ...

    def registry_problem(self, endpoint: str) -> str | None: ...

    def memory_available(self) -> int | None: ...

    def sysctl(self, name: str) -> str | None: ...

    def port_in_use(self, port: int) -> bool: ...

    def docker_subnets(self) -> dict[str, str]: ...

    def world_leftovers(self, world: str) -> list[str]: ...


def registry_of(image: str) -> str:
    """The registry an image reference pulls from (``docker.io`` when the first component is no host)."""
    first, slash, _ = image.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return first
    return DOCKER_HUB


def _version_at_least(found: str, wanted: str) -> bool:
    have, want = _VERSION.search(found), _VERSION.search(wanted)
    if have is None or want is None:
        return False
    return tuple(map(int, have.groups())) >= tuple(map(int, want.groups()))


def _tool(
    host: Host, program: str, ask: Command, parse: Callable[[str], str | None], remedy: str
) -> tuple[Finding, str | None]:
    path = host.which(program)
    if path is None:
        return Finding(program, False, "not found on PATH", remedy), None
    result = host.run(ask)
    version = parse(result.stdout) if result.returncode == 0 else None
    if version is None:
        output = (result.stderr or result.stdout).strip().splitlines()[:1]
        return Finding(program, False, f"{path} does not tell its version ({' '.join(output)})", remedy), None
    return Finding(program, True, f"{version} ({path})"), version


def check_tools(settings: WorldSettings, host: Host) -> tuple[list[Finding], str | None]:
    """The Docker CLI, the cluster CLI at (at least) its version, kubectl; also the cluster CLI's version."""
    findings = [
        Finding("docker CLI", True, path)
        if (path := host.which("docker"))
        else Finding("docker CLI", False, "not found on PATH", INSTALL_DOCKER)
    ]
    if settings.provider == "k3d":
        wanted, remedy = settings.tools.k3d, INSTALL_K3D.format(version=settings.tools.k3d)
        finding, version = _tool(host, "k3d", k3d.version(), k3d.parse_version, remedy)
    else:
        wanted, remedy = settings.tools.kind, INSTALL_KIND.format(version=settings.tools.kind)
        finding, version = _tool(host, "kind", kind.version(), kind.parse_version, remedy)
    if version is not None and not _version_at_least(version, wanted):
        finding = Finding(finding.name, False, f"{version} is older than {wanted}", remedy)
    findings.append(finding)
    findings.append(
        _tool(host, "kubectl", kubectl.client_version(), kubectl.parse_client_version, INSTALL_KUBECTL)[0]
    )
    return findings, version


def check_docker(host: Host) -> Finding:
    problem = host.docker_problem()
    if problem is not None:
        return Finding("docker engine", False, problem, INSTALL_DOCKER)
    return Finding("docker engine", True, "answers")


def check_memory(host: Host) -> Finding:
    available = host.memory_available()
    if available is None:
        return Finding("memory", False, "MemAvailable not found in /proc/meminfo", "run on Linux")
    detail = f"{available / GIB:.1f} GiB available, GitLab CE needs {GITLAB_MIN_MEMORY_BYTES / GIB:.0f} GiB"
    if available < GITLAB_MIN_MEMORY_BYTES:
        return Finding("memory", False, detail, "free memory or use a machine with at least 8 GiB")
    return Finding("memory", True, detail)


def check_inotify(host: Host) -> Finding:
    value = host.sysctl(INOTIFY_SYSCTL)
    remedy = (
        f"sudo sysctl -w {INOTIFY_SYSCTL}={INOTIFY_MIN_INSTANCES} "
        f"(and '{INOTIFY_SYSCTL} = {INOTIFY_MIN_INSTANCES}' in /etc/sysctl.conf to keep it)"
    )
    if value is None or not value.strip().isdigit():
        return Finding(INOTIFY_SYSCTL, False, "cannot be read from /proc/sys", remedy)
    if int(value) < INOTIFY_MIN_INSTANCES:
        return Finding(
            INOTIFY_SYSCTL,
            False,
            f"{int(value)} < {INOTIFY_MIN_INSTANCES} (Argo Events' pods crash: 'too many open files')",
            remedy,
        )
    return Finding(INOTIFY_SYSCTL, True, value.strip())


def check_world_free(settings: WorldSettings, host: Host) -> Finding:
    """No Docker object of a world with this name is left (a kept world, or a killed run's)."""
    leftovers = host.world_leftovers(settings.name)
    if leftovers:
        return Finding(
            "world name",
            False,
            f"{settings.name!r} is taken by {', '.join(leftovers)}",
            f"reuse it with --reuse-env {settings.name}, remove it with 'nautes-e2e world prune --world "
            f"{settings.name}', or choose another name (NAUTES_E2E_WORLD_NAME)",
        )
    return Finding("world name", True, f"{settings.name!r} is free")


def check_subnet(settings: WorldSettings, host: Host) -> Finding:
    ours = ipaddress.ip_network(settings.subnet)
    for network, subnet in sorted(host.docker_subnets().items()):
        try:
            overlaps = ipaddress.ip_network(subnet, strict=False).overlaps(ours)
        except ValueError:
            continue
        if overlaps:
            return Finding(
                "subnet",
                False,
                f"{settings.subnet} overlaps Docker network {network} ({subnet})",
                "set 'subnet' in the world config to a free private /24",
            )
    return Finding("subnet", True, f"{settings.subnet} (gateway {settings.gateway}) is free")


def check_ports(settings: WorldSettings, host: Host) -> Finding:
    taken = [f"{name} {port}" for name, port in settings.published_ports().items() if host.port_in_use(port)]
    if taken:
        return Finding(
            "ports",
            False,
            f"in use on this host: {', '.join(taken)}",
            "stop what listens there, or set 'ports' in the world config (e.g. ports: {vault: 18200})",
        )
    ports = ", ".join(str(port) for port in settings.published_ports().values())
    return Finding("ports", True, f"free: {ports}")


def check_images(images: Iterable[str], host: Host) -> list[Finding]:
    """Each image present, or else its registry reachable (asked once per registry)."""
    problems: dict[str, str | None] = {}
    findings = []
    for image in images:
        if host.image_present(image):
            findings.append(Finding(f"image {image}", True, "present"))
            continue
        registry = registry_of(image)
        endpoint = DOCKER_HUB_ENDPOINT if registry == DOCKER_HUB else registry
        if endpoint not in problems:
            problems[endpoint] = host.registry_problem(endpoint)
        problem = problems[endpoint]
        if problem is None:
            pulled = f"not present locally; will be pulled from {registry}"
            findings.append(Finding(f"image {image}", True, pulled))
        else:
            findings.append(
                Finding(
                    f"image {image}",
                    False,
                    f"not present locally, and {registry} cannot be reached ({problem})",
                    f"docker pull {image} (where {registry} is reachable; elsewhere 'docker save {image}' "
                    "there and 'docker load' here)",
                )
            )
    return findings


def run_preflight(
    settings: WorldSettings,
    images: Callable[[str | None], Sequence[str]],
    host: Host,
    report: Callable[[Finding], None] = lambda finding: None,
) -> list[Finding]:
    """Every finding, each ``report`` ed as soon as it is known. ``images`` gives the images the plan runs for
    the cluster CLI's version (k3d's tools image is tagged with it). Without a Docker engine, the checks that
    need one are not run (the engine's finding says why)."""
    findings: list[Finding] = []

    def add(*new: Finding) -> None:
        for finding in new:
            findings.append(finding)
            report(finding)

    docker = check_docker(host)
    add(docker)
    tools, cluster_cli_version = check_tools(settings, host)
    add(*tools)
    add(check_memory(host), check_inotify(host))
    if docker.ok:
        add(check_world_free(settings, host), check_subnet(settings, host))
    add(check_ports(settings, host))
    if docker.ok:
        add(*check_images(images(cluster_cli_version), host))
    return findings


def failures(findings: Sequence[Finding]) -> list[Finding]:
    return [finding for finding in findings if not finding.ok]


def describe_failures(settings: WorldSettings, findings: Sequence[Finding]) -> str:
    """The message a failed preflight stops the run with: every failing finding and its remedy."""
    failed = failures(findings)
    lines = [
        f"preflight of the {settings.provider} world {settings.name!r} failed ({len(failed)} of "
        f"{len(findings)} checks); nothing was created:"
    ]
    for finding in failed:
        lines.append(f"  - {finding.name}: {finding.detail}")
        if finding.remedy:
            lines.append(f"      fix: {finding.remedy}")
    return "\n".join(lines)
