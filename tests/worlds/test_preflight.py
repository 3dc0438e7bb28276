"""Preflight of a real world: each check against a machine described by a fake, the message a failed preflight
stops with, and, on this machine (no k3d, no kind, no images can be pulled), the real run stopping there."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import docker
import pytest

from nautes_e2e.containers.docker_env import docker_unavailable_reason, image_present
from nautes_e2e.worlds import preflight
from nautes_e2e.worlds.commands import Command, CommandResult, SubprocessRunner
from nautes_e2e.worlds.host import LocalHost
from nautes_e2e.worlds.preflight import Finding, registry_of, run_preflight
from nautes_e2e.worlds.settings import Provider, WorldSettings

ROOT = Path(__file__).resolve().parents[2]
GIB = 1024**3
K3D_VERSION_OUTPUT = "k3d version v5.8.3\nk3s version v1.31.5-k3s1 (default)\n"
KUBECTL_VERSION_OUTPUT = '{"clientVersion": {"gitVersion": "v1.21.14"}}'


@dataclass
class FakeHost:
    """A machine where everything is fine unless a test says otherwise."""

    programs: dict[str, str] = field(
        default_factory=lambda: {"docker": "/usr/bin/docker", "k3d": "/usr/bin/k3d", "kind": "/usr/bin/kind",
                                 "kubectl": "/usr/bin/kubectl"}
    )  # fmt: skip
    outputs: dict[str, str] = field(
        default_factory=lambda: {"k3d": K3D_VERSION_OUTPUT, "kind": "kind v0.20.0 go1.20.4 linux/amd64\n",
                                 "kubectl": KUBECTL_VERSION_OUTPUT}
    )  # fmt: skip
    docker: str | None = None
    present: set[str] | None = None
    unreachable: dict[str, str] = field(default_factory=dict)
    memory: int | None = 16 * GIB
    inotify: str | None = "65535"
    busy_ports: set[int] = field(default_factory=set)
    subnets: dict[str, str] = field(default_factory=lambda: {"bridge": "172.17.0.0/16"})
    leftovers: list[str] = field(default_factory=list)
    asked_registries: list[str] = field(default_factory=list)

    def which(self, program: str) -> str | None:
        return self.programs.get(program)

    def run(self, command: Command) -> CommandResult:
        return CommandResult(command, 0, self.outputs[command.argv[0]], "", 0.01)

    def docker_problem(self) -> str | None:
        return self.docker

    def image_present(self, image: str) -> bool:
        return self.present is None or image in self.present

    def registry_problem(self, endpoint: str) -> str | None:
        self.asked_registries.append(endpoint)
        return self.unreachable.get(endpoint)

    def memory_available(self) -> int | None:
        return self.memory

    def sysctl(self, name: str) -> str | None:
        assert name == "fs.inotify.max_user_instances"
        return self.inotify

    def port_in_use(self, port: int) -> bool:
        return port in self.busy_ports

    def docker_subnets(self) -> dict[str, str]:
        return self.subnets

    def world_leftovers(self, world: str) -> list[str]:
        return self.leftovers


def run(host: FakeHost, provider: str = "k3d", images: tuple[str, ...] = ("a/b:1",)) -> list[Finding]:
    settings = WorldSettings(provider="k3d" if provider == "k3d" else "kind", name="w")
    return run_preflight(settings, lambda version: list(images), host)


def by_name(findings: list[Finding]) -> dict[str, Finding]:
    return {finding.name: finding for finding in findings}


def test_a_machine_with_everything_passes_and_every_check_is_reported() -> None:
    reported: list[str] = []
    settings = WorldSettings(provider="k3d", name="w")

    findings = run_preflight(
        settings, lambda version: ["a/b:1"], FakeHost(), report=lambda f: reported.append(f.name)
    )

    assert all(finding.ok for finding in findings)
    assert reported == [finding.name for finding in findings] == [
        "docker engine", "docker CLI", "k3d", "kubectl", "memory", "fs.inotify.max_user_instances",
        "world name", "subnet", "ports", "image a/b:1",
    ]  # fmt: skip
    assert by_name(findings)["k3d"].detail == "v5.8.3 (/usr/bin/k3d)"
    assert by_name(findings)["kubectl"].detail == "v1.21.14 (/usr/bin/kubectl)"


def test_a_missing_cli_says_how_to_install_it_at_the_pinned_version() -> None:
    host = FakeHost()
    del host.programs["k3d"], host.programs["kind"]

    k3d = by_name(run(host, "k3d"))["k3d"]
    kind = by_name(run(host, "kind"))["kind"]

    assert (k3d.ok, k3d.detail) == (False, "not found on PATH")
    assert (
        k3d.remedy == "curl -s https://raw.githubusercontent.com/k3d-io/k3d/main/install.sh | TAG=v5.8.3 bash"
    )
    assert (kind.ok, kind.detail) == (False, "not found on PATH")
    assert kind.remedy == (
        "curl -Lo ./kind https://kind.sigs.k8s.io/dl/v0.20.0/kind-linux-amd64 && chmod +x ./kind && "
        "sudo mv ./kind /usr/local/bin/kind"
    )


def test_an_older_cli_fails_and_the_version_of_the_cli_tags_k3d_s_tools_image() -> None:
    host = FakeHost()
    host.outputs["kind"] = "kind v0.17.0 go1.19.2 linux/amd64\n"
    host.outputs["k3d"] = "k3d version v5.9.0\n"
    asked: list[str | None] = []

    def images(version: str | None) -> list[str]:
        asked.append(version)
        return []

    kind = by_name(run(host, "kind"))["kind"]
    run_preflight(WorldSettings(provider="k3d", name="w"), images, host)

    assert (kind.ok, kind.detail) == (False, "v0.17.0 is older than v0.20.0")
    assert asked == ["v5.9.0"]


def test_a_cli_that_does_not_tell_its_version_fails() -> None:
    host = FakeHost()
    host.outputs["kubectl"] = "error: unknown flag: --client"

    kubectl = by_name(run(host))["kubectl"]

    assert not kubectl.ok
    assert kubectl.detail == "/usr/bin/kubectl does not tell its version (error: unknown flag: --client)"
    assert "dl.k8s.io/release/v1.21.14/bin/linux/amd64/kubectl" in kubectl.remedy


def test_too_little_memory_and_inotify_instances_fail_with_their_fix() -> None:
    host = FakeHost(memory=3 * GIB, inotify="128")

    findings = by_name(run(host))

    assert findings["memory"].ok is False
    assert findings["memory"].detail == "3.0 GiB available, GitLab CE needs 4 GiB"
    inotify = findings["fs.inotify.max_user_instances"]
    assert inotify.ok is False
    assert inotify.detail.startswith("128 < 65535")
    assert inotify.remedy.startswith("sudo sysctl -w fs.inotify.max_user_instances=65535")


def test_a_taken_name_an_overlapping_subnet_and_busy_ports_fail() -> None:
    host = FakeHost(leftovers=["network w-net"], subnets={"other": "10.213.0.0/16"}, busy_ports={8200, 6550})

    findings = by_name(run(host))

    assert findings["world name"].detail == "'w' is taken by network w-net"
    assert "--reuse-env w" in findings["world name"].remedy
    assert "nautes-e2e world prune --world w" in findings["world name"].remedy
    assert findings["subnet"].detail == "10.213.213.0/24 overlaps Docker network other (10.213.0.0/16)"
    assert findings["ports"].detail == "in use on this host: kube_api 6550, vault 8200"
    assert not any(findings[name].ok for name in ("world name", "subnet", "ports"))


def test_an_absent_image_passes_only_if_its_registry_answers_and_each_registry_is_asked_once() -> None:
    host = FakeHost(present={"local/x:1"}, unreachable={"ghcr.io": "Name or service not known"})
    images = (
        "local/x:1",
        "gitlab/gitlab-ce:15.10.8-ce.0",
        "registry:2.8.2",
        "ghcr.io/a/b:1",
        "ghcr.io/a/c:2",
    )

    findings = by_name(run(host, images=images))

    assert findings["image local/x:1"].detail == "present"
    assert findings["image registry:2.8.2"].ok
    assert findings["image registry:2.8.2"].detail == "not present locally; will be pulled from docker.io"
    broken = findings["image ghcr.io/a/b:1"]
    assert not broken.ok
    assert broken.detail == "not present locally, and ghcr.io cannot be reached (Name or service not known)"
    assert broken.remedy.startswith("docker pull ghcr.io/a/b:1 ")
    assert host.asked_registries == ["registry-1.docker.io", "ghcr.io"]


def test_without_docker_nothing_that_needs_it_is_asked() -> None:
    host = FakeHost(docker="the Docker engine at unix:///var/run/docker.sock does not answer")

    findings = run(host)

    assert [f.name for f in findings if not f.ok] == ["docker engine"]
    assert "image a/b:1" not in by_name(findings)
    assert "world name" not in by_name(findings)


def test_registry_of_an_image_reference() -> None:
    assert registry_of("registry:2.8.2") == "docker.io"
    assert registry_of("gitlab/gitlab-ce:15.10.8-ce.0") == "docker.io"
    assert registry_of("ghcr.io/nautes-labs/installer:v0.3.8") == "ghcr.io"
    assert registry_of("localhost/x:1") == "localhost"
    assert registry_of("10.213.213.1:5000/x:1") == "10.213.213.1:5000"


def test_the_failure_message_lists_every_failing_check_with_its_fix() -> None:
    settings = WorldSettings(provider="kind", name="w")
    findings = [
        Finding("docker engine", True, "answers"),
        Finding("kind", False, "not found on PATH", "install kind"),
        Finding("memory", False, "1.0 GiB available", ""),
    ]

    assert preflight.describe_failures(settings, findings) == (
        "preflight of the kind world 'w' failed (2 of 3 checks); nothing was created:\n"
        "  - kind: not found on PATH\n"
        "      fix: install kind\n"
        "  - memory: 1.0 GiB available"
    )


# -- this machine, as preflight sees it ------------------------------------------------------------------


def test_the_local_host_reads_proc_and_looks_programs_up_on_the_world_s_path(tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    (proc / "sys/fs/inotify").mkdir(parents=True)
    (proc / "meminfo").write_text("MemTotal:       24000000 kB\nMemAvailable:    4194304 kB\n")
    (proc / "sys/fs/inotify/max_user_instances").write_text("512\n")
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "k3d").write_text("#!/bin/sh\n")
    (tools / "k3d").chmod(0o755)

    host = LocalHost(SubprocessRunner(), {"PATH": str(tools)}, proc=proc)

    assert host.memory_available() == 4 * GIB
    assert host.sysctl("fs.inotify.max_user_instances") == "512"
    assert host.sysctl("fs.inotify.max_user_watches") is None
    assert host.which("k3d") == str(tools / "k3d")
    assert host.which("kubectl") is None
    assert LocalHost(SubprocessRunner(), {}, proc=tmp_path / "none").memory_available() is None


def test_the_local_host_sees_a_port_in_use_and_an_unreachable_registry() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        host = LocalHost(SubprocessRunner(), {})

        assert host.port_in_use(port)
    assert not host.port_in_use(port)
    assert host.registry_problem(f"127.0.0.1:{port}") is not None


def test_the_local_host_asks_docker_for_subnets_and_a_world_s_leftovers() -> None:
    reason = docker_unavailable_reason()
    if reason is not None:
        pytest.skip(f"needs a Docker engine: {reason}")
    client = docker.from_env()
    world = f"leftover-{os.getpid()}"
    network = client.networks.create(f"{world}-net", labels={"io.nautes-e2e.owner": "nautes-e2e",
                                                              "io.nautes-e2e.world": world})  # fmt: skip
    try:
        host = LocalHost(SubprocessRunner(), {})
        assert host.world_leftovers(world) == [f"network {world}-net"]
        assert host.world_leftovers(f"{world}-other") == []
        assert "bridge" in host.docker_subnets()
        host.close()
    finally:
        network.remove()
        client.close()


# -- on this machine: the real run stops at preflight -----------------------------------------------------


def _docker_objects_of(client: docker.DockerClient, world: str) -> list[str]:
    """Docker objects named after ``world`` or labelled with it (other tests use the engine meanwhile)."""
    labelled = {"label": f"io.nautes-e2e.world={world}"}
    found = [f"container {c.name}" for c in client.containers.list(all=True, filters=labelled)]
    found += [f"container {c.name}" for c in client.containers.list(all=True) if world in c.name]
    found += [f"network {n.name}" for n in client.networks.list() if world in n.name]
    found += [f"volume {v.name}" for v in client.volumes.list() if world in v.name]
    return found


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if text in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.mark.parametrize(
    ("provider", "install"),
    [
        ("k3d", "curl -s https://raw.githubusercontent.com/k3d-io/k3d/main/install.sh | TAG=v5.8.3 bash"),
        ("kind", "curl -Lo ./kind https://kind.sigs.k8s.io/dl/v0.20.0/kind-linux-amd64"),
    ],
)
def test_the_quickstart_on_a_real_target_stops_at_preflight_here_and_leaves_nothing(
    provider: Provider, install: str, tmp_path: Path
) -> None:
    reason = docker_unavailable_reason()
    if reason is not None:
        pytest.skip(f"needs a Docker engine: {reason}")
    client = docker.from_env()
    cli = provider
    if shutil.which(cli) and image_present(client, WorldSettings(provider=provider, name="x").node_image):
        pytest.skip(
            f"{cli} and its images are here: this machine can bring a world up (the nightly job does)"
        )
    world = f"preflight-{provider}-{os.getpid()}"
    state = tmp_path / "state"
    environ = {**os.environ, "NAUTES_E2E_STATE_DIR": str(state), "NAUTES_E2E_WORLD_NAME": world}

    result = subprocess.run(
        [sys.executable, "-m", "pytest", "suites/quickstart", "--target", provider, "-p", "no:cacheprovider",
         "--reports-dir", str(tmp_path / "reports"), "-q"],
        cwd=ROOT, env=environ, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip

    output = result.stdout + result.stderr
    # The machine, not Nautes, is what is missing: a configuration error (nautes_e2e.plugin.errors).
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, output
    assert f"configuration error: preflight of the {provider} world '{world}' failed (" in output
    assert "checks); nothing was created:" in output
    assert f"  - {cli}: not found on PATH" in output
    assert f"      fix: {install}" in output
    assert "world-preflight            failed" in output
    assert "register_cluster           skipped      0.0s  blocked by preflight" in output
    assert _docker_objects_of(client, world) == []
    assert not state.exists() or not any(state.iterdir())
    assert _processes_mentioning(world) == []
    client.close()
