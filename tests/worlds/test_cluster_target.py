"""The k3d/kind target, offline: a full bring-up with a runner that records every command (the order, the
parallelism, the teardown), failures and Ctrl-C in the middle, ``--keep-env``; and, for real here, reusing
a kept world, the world's service containers published on its network's gateway, and the command runner."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import stat
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import docker
import docker.errors
import pytest
import yaml

from fixtures.target import RecordedBringUp
from nautes_e2e.containers.images import DISTRIBUTION_IMAGE, OPENBAO_IMAGE, ensure_image
from nautes_e2e.containers.labels import labels
from nautes_e2e.containers.tls import TlsFiles
from nautes_e2e.secrets import Secret, redact
from nautes_e2e.stages import StageRecorder
from nautes_e2e.stages.evidence import EvidenceStore
from nautes_e2e.targets.cluster import (
    BringUpError,
    ClusterWorldTarget,
    Machinery,
    PreflightError,
    ReuseError,
)
from nautes_e2e.worlds import docker_network
from nautes_e2e.worlds.certificates import WorldCA
from nautes_e2e.worlds.commands import (
    Command,
    CommandCancelled,
    CommandError,
    CommandResult,
    SubprocessRunner,
)
from nautes_e2e.worlds.installation import InstallerModule
from nautes_e2e.worlds.plan import WorldPaths
from nautes_e2e.worlds.services import ContainerServices, NotAnswering, wait_answers
from nautes_e2e.worlds.settings import Images, Ports, WorldSettings
from nautes_e2e.worlds.state import Resource, StateFile
from tests.support.service_containers import require_docker
from tests.worlds.test_preflight import FakeHost
from tests.worlds.test_prune import Objects, engine_with_sleeper

KEY_DATA = "S0VZLWRhdGEtb2YtdGhlLWFkbWluLXVzZXI="
KUBECONFIG = f"""\
apiVersion: v1
kind: Config
clusters:
- name: w
  cluster: {{server: 'https://0.0.0.0:6550', certificate-authority-data: Q0E=}}
contexts:
- name: w
  context: {{cluster: w, user: admin}}
current-context: w
users:
- name: admin
  user: {{client-certificate-data: Q0VSVA==, client-key-data: {KEY_DATA}}}
"""
ROOT_TOKEN = "hvs.root-token-of-the-world-123"
SECRET_ID = "approle-secret-id-456789"


@dataclass
class Timeline:
    """Everything that happened, in order, with when (monotonic seconds)."""

    events: list[tuple[float, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, event: str) -> None:
        with self.lock:
            self.events.append((time.monotonic(), event))

    def names(self) -> list[str]:
        return [event for _, event in self.events]

    def at(self, event: str) -> float:
        return next(when for when, name in self.events if name == event)

    def commands(self) -> list[str]:
        return [name.removeprefix("$ ") for name in self.names() if name.startswith("$ ")]


class FakeRunner:
    """Records each command; answers the cluster CLIs like they would; plays the installer (writes its
    outputs); ``fail`` makes the commands starting with it exit 1."""

    def __init__(
        self,
        timeline: Timeline,
        *,
        existing: str = "",
        fail: str | None = None,
        removed: set[str] | None = None,
    ) -> None:
        self.timeline = timeline
        self.existing = existing
        self.fail = fail
        self.removed = set() if removed is None else removed
        self.cancelled = threading.Event()

    def fresh(self) -> FakeRunner:
        """Another runner of the same machine (the teardown's: the bring-up's was cancelled)."""
        return FakeRunner(self.timeline, existing=self.existing, fail=self.fail, removed=self.removed)

    def run(self, command: Command, *, check: bool = True, timeout_s: float | None = None) -> CommandResult:
        line = " ".join(command.argv)
        if self.cancelled.is_set():
            raise CommandCancelled(line)
        self.timeline.add(f"$ {''.join(f'{k}={v} ' for k, v in command.env.items())}{line}")
        stdout, code = self._answer(command.argv)
        if self.fail is not None and line.startswith(self.fail):
            code = 1
        result = CommandResult(command, code, stdout, "boom" if code else "", 0.01)
        if check and code:
            raise CommandError(result)
        return result

    def _answer(self, argv: tuple[str, ...]) -> tuple[str, int]:
        if argv[:3] == ("k3d", "cluster", "list"):
            return (
                f'[{{"name": "{self.existing}", "clusterToken": "tok-123456"}}]' if self.existing else "[]"
            ), 0
        if argv[:3] == ("kind", "get", "clusters"):
            return self.existing, 0
        if argv[:3] in (("k3d", "kubeconfig", "get"), ("kind", "get", "kubeconfig")):
            return KUBECONFIG, 0
        if argv[:2] == ("docker", "rm"):
            self.removed.add(argv[-1])
        if argv[:3] == ("docker", "run", "--rm"):
            self._install(argv)
            return f"TASK [vault-init : Unseal vault] ok: vault_root_token={ROOT_TOKEN}\n", 0
        return "", 0

    @staticmethod
    def _install(argv: tuple[str, ...]) -> None:
        """What the installer leaves in its ``out`` folder (the files the bring-up reads)."""
        out = Path(next(volume for volume in argv if volume.endswith(":/opt/out")).split(":")[0])
        files = {
            "vault/unseal.yml": {"vault_root_token": ROOT_TOKEN},
            "vault/vault-proxy.yml": {"infos": [{"roleID": "role-id-1", "secretID": SECRET_ID}]},
            "git/infos.yaml": {"tenant_repo_id": "7", "access_token": "glpat-tenant-token"},
            "service/url.yaml": {"nautes_api_server_url": "https://apiserver.10.213.213.1.nip.io:31443"},
        }
        for name in ("pki/vault-0.crt", "pki/ca.crt"):
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            (out / name).write_text("-----BEGIN CERTIFICATE-----\n")
        (out / "pki/vault-0.key").write_text("-----BEGIN PRIVATE KEY-----\nvault-host-key-0123\n")
        for name, content in files.items():
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            (out / name).write_text(yaml.safe_dump(content))

    def cancel(self) -> None:
        self.timeline.add("cancel")
        self.cancelled.set()


@dataclass
class FakeService:
    """A service container that takes ``seconds`` to become ready, or until the runner removed it."""

    component: str
    timeline: Timeline
    runner: FakeRunner
    seconds: float
    fail: bool = False
    on_start: Callable[[], None] | None = None
    container_id: str | None = None

    def start(self) -> FakeService:
        self.container_id = f"id-{self.component}"
        self.timeline.add(f"start {self.component}")
        if self.on_start is not None:
            self.on_start()
        deadline = time.monotonic() + self.seconds
        while time.monotonic() < deadline:
            if self.container_id in self.runner.removed:
                self.timeline.add(f"gone {self.component}")
                raise RuntimeError(f"the {self.component} container was removed while starting")
            time.sleep(0.01)
        if self.fail:
            raise RuntimeError(f"the {self.component} container was not ready")
        self.timeline.add(f"ready {self.component}")
        return self

    def logs_redacted(self) -> str:
        return f"log of {self.component}\n"

    def mint_token(self) -> Secret:
        return Secret("glpat-minted-token-789")


@dataclass
class FakeServices:
    timeline: Timeline
    runner: FakeRunner
    seconds: dict[str, float] = field(
        default_factory=lambda: {"gitlab": 0.4, "vault": 0.05, "registry": 0.05}
    )
    fail: str | None = None
    on_start: dict[str, Callable[[], None]] = field(default_factory=dict)

    def _service(self, component: str) -> FakeService:
        return FakeService(
            component,
            self.timeline,
            self.runner,
            self.seconds[component],
            fail=component == self.fail,
            on_start=self.on_start.get(component),
        )

    def gitlab(self, settings: WorldSettings, tls: TlsFiles, root_password: Secret) -> FakeService:
        assert b"BEGIN CERTIFICATE" in tls.cert_pem
        return self._service("gitlab")

    def vault(self, settings: WorldSettings, tls: TlsFiles) -> FakeService:
        return self._service("vault")

    def registry(
        self, settings: WorldSettings, tls: TlsFiles, username: str, password: Secret
    ) -> FakeService:
        return self._service("registry")

    def wait_answers(self, url: str, ca_pem: bytes, timeout_s: float) -> None:
        assert b"BEGIN CERTIFICATE" in ca_pem
        self.timeline.add(f"answers {url}")


@dataclass
class World:
    target: ClusterWorldTarget
    timeline: Timeline
    runner: FakeRunner
    services: FakeServices
    stages: StageRecorder
    state_root: Path
    work_dir: Path
    lines: list[str]


@pytest.fixture
def docker_for_the_sweep() -> None:
    """The teardown's last step sweeps Docker for the world's labels (``prune.sweep``) and keeps the world's
    directory when it cannot: the tests that check the directory goes need an engine to answer (a skip
    naming why where there is none)."""
    require_docker().close()


def make_world(
    tmp_path: Path,
    provider: str = "k3d",
    *,
    host: FakeHost | None = None,
    keep_env: bool = False,
    existing: str = "",
    fail_command: str | None = None,
    fail_service: str | None = None,
) -> World:
    timeline = Timeline()
    runner = FakeRunner(timeline, existing=existing, fail=fail_command)
    runners = iter([runner])
    services = FakeServices(timeline, runner, fail=fail_service)
    lines: list[str] = []
    stages = StageRecorder(EvidenceStore(tmp_path / "evidence"), progress_sink=lines.append)
    state_root = tmp_path / "state"
    environ = {"NAUTES_E2E_STATE_DIR": str(state_root), "NAUTES_E2E_WORLD_NAME": "w"}
    target = ClusterWorldTarget(
        "k3d" if provider == "k3d" else "kind",
        tmp_path / "work",
        environ,
        bringup=RecordedBringUp(stages),
        keep_env=keep_env,
        machinery=Machinery(
            runner=lambda log, environ: next(runners, None) or runner.fresh(),
            host=lambda command_runner, environ: host or FakeHost(),
            services=lambda: services,
        ),
    )
    return World(target, timeline, runner, services, stages, state_root, tmp_path / "work", lines)


K3D_BRINGUP = [
    "docker network create --driver bridge --subnet 10.213.213.0/24 --gateway 10.213.213.1 "
    "--label io.nautes-e2e.owner=nautes-e2e --label io.nautes-e2e.world=w "
    "--label io.nautes-e2e.component=network w-net",
    "k3d cluster list -o json",
    "k3d cluster create w --image rancher/k3s:v1.21.14-k3s1 --network w-net --servers 1 --agents 0 --no-lb "
    "--no-image-volume --api-port 10.213.213.1:6550 --port 10.213.213.1:31443:31443@server:0 "
    "--port 10.213.213.1:32000:32000@server:0 --k3s-arg --disable=traefik@server:0 "
    "--k3s-arg --disable=servicelb@server:0 --k3s-arg --disable=metrics-server@server:0 "
    "--k3s-arg --tls-san=10.213.213.1@server:0 --k3s-arg --tls-san=k3d-w-server-0@server:0 "
    "--runtime-label io.nautes-e2e.owner=nautes-e2e@server:0 --runtime-label io.nautes-e2e.world=w@server:0 "
    "--runtime-label io.nautes-e2e.component=cluster@server:0 --kubeconfig-update-default=false "
    "--kubeconfig-switch-context=false --wait --timeout 300s",
    "k3d kubeconfig get w",
    "kubectl --kubeconfig {state}/w/kubeconfig.yaml wait --for=condition=Ready nodes --all --timeout=300s",
    "{installer}",
    "{vault_proxy}",
]


def expected(commands: list[str], state_root: Path, provider: str = "k3d") -> list[str]:
    """``commands`` in ``state_root``; the installer's is the plan's own (the installer module makes it)."""
    settings = WorldSettings("k3d" if provider == "k3d" else "kind", "w")
    module, paths = InstallerModule(), WorldPaths(state_root / "w")
    [installer] = module.commands(settings, paths)
    [vault_proxy] = module.vault_proxy_commands(settings, paths)
    steps = {"installer": " ".join(installer.argv), "vault_proxy": " ".join(vault_proxy.argv)}
    return [line.format(state=state_root, **steps) for line in commands]


@pytest.mark.usefixtures("docker_for_the_sweep")
def test_a_full_k3d_bring_up_runs_the_plan_s_commands_in_order_and_services_in_parallel(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)

    started = world.target.start()

    assert world.timeline.commands() == expected(K3D_BRINGUP, world.state_root)
    names = world.timeline.names()
    # GitLab starts first; the cluster's commands, Vault and the registry run while it boots.
    assert names.index("start gitlab") < names.index("$ k3d cluster list -o json")
    assert world.timeline.at("$ k3d cluster list -o json") < world.timeline.at("ready gitlab")
    assert world.timeline.at("ready vault") < world.timeline.at("ready gitlab")
    assert world.timeline.at("ready registry") < world.timeline.at("ready gitlab")
    assert max(world.timeline.at(f"ready {c}") for c in ("gitlab", "vault", "registry")) < world.timeline.at(
        next(name for name in names if "w-installer" in name)
    )
    stages = world.stages.records
    assert [name for name in stages] == [
        "world-preflight", "world-network", "world-certificates", "world-gitlab", "world-cluster",
        "world-vault", "world-registry", "world-installer", "world-vault-proxy", "world-target-file",
    ]  # fmt: skip
    assert all(record.status == "passed" for record in stages.values())
    assert stages["world-gitlab"].duration_s >= 0.4 > stages["world-vault"].duration_s
    assert stages["world-cluster"].facts["cluster_reused"] is False
    assert [f["name"] for f in stages["world-preflight"].facts["findings"]][:3] == [
        "docker engine",
        "docker CLI",
        "k3d",
    ]
    assert "[world-preflight" in world.lines[0]

    assert (started.target, started.simulated) == ("k3d", False)
    assert started.gitlab_url == "https://10.213.213.1:8443"
    assert started.gitlab_ssh_url == "ssh://git@10.213.213.1:2222"
    assert started.vault_url == "https://10.213.213.1:8200"
    assert started.vault_token.reveal() == ROOT_TOKEN
    assert started.gitlab_token.reveal() == "glpat-minted-token-789"
    assert started.nautes_url == "https://apiserver.10.213.213.1.nip.io:31443"
    assert started.registry.host == "10.213.213.1:5000"
    cluster = started.clusters["w"]
    assert (cluster.api_server, cluster.ip) == ("https://10.213.213.1:6550", "10.213.213.1")
    world_dir = world.state_root / "w"
    kubeconfig = yaml.safe_load(cluster.kubeconfig.read_text())
    assert kubeconfig["clusters"][0]["cluster"]["server"] == "https://10.213.213.1:6550"
    assert stat.S_IMODE(cluster.kubeconfig.stat().st_mode) == 0o600
    assert stat.S_IMODE((world_dir / "credentials.env").stat().st_mode) == 0o600
    assert KEY_DATA not in redact(f"leaked {KEY_DATA}")
    assert SECRET_ID in (world_dir / "vault-proxy" / "config.yaml").read_text()
    assert "repo-7" in (world_dir / "vault-proxy" / "casbin" / "permission_acl.csv").read_text()
    copy = yaml.safe_load((world.work_dir / "target.yaml").read_text())
    assert copy["clusters"][0]["kubeconfig"] == str(world_dir / "kubeconfig.yaml")
    assert copy["caBundle"] == str(world_dir / "pki" / "ca.crt")
    state = StateFile(world.state_root, "w").load()
    assert (state.kept, state.target_file) == (False, str(world_dir / "target.yaml"))
    assert state.created[0] == Resource("network", "w-net", "network")
    assert state.created[-1] == Resource("container", "w-vault-proxy", "vault-proxy")
    assert {resource.ref for resource in state.created[1:-1]} == {"id-gitlab", "w", "id-vault", "id-registry"}

    count = len(world.timeline.commands())
    world.target.stop()
    world.target.stop()

    teardown = world.timeline.commands()[count:]
    assert teardown[0] == "docker rm --force --volumes w-vault-proxy"
    assert teardown[-1] == "docker network rm w-net"
    assert sorted(teardown[1:-1]) == sorted(
        ["docker rm --force --volumes id-gitlab", "k3d cluster delete w",
         "docker rm --force --volumes id-vault", "docker rm --force --volumes id-registry"]
    )  # fmt: skip
    assert world.stages.records["world-teardown"].status == "passed"
    assert not world_dir.exists()
    vault_proxy_answers = names.index("answers https://10.213.213.1:8000/health")
    assert vault_proxy_answers > names.index(next(name for name in names if "w-vault-proxy" in name))
    assert (world.work_dir / "gitlab.log").read_text() == "log of gitlab\n"
    installer_log = (world.work_dir / "installer.log").read_text()
    assert installer_log == "TASK [vault-init : Unseal vault] ok: vault_root_token=***\n"


@pytest.mark.usefixtures("docker_for_the_sweep")
def test_a_failed_installer_s_log_and_error_are_masked_and_the_world_comes_down(tmp_path: Path) -> None:
    world = make_world(tmp_path, fail_command="docker run --rm --name w-installer")

    with pytest.raises(BringUpError) as caught:
        world.target.start()

    assert ROOT_TOKEN not in str(caught.value)
    assert "vault_root_token=***" in (world.work_dir / "installer.log").read_text()
    assert world.stages.records["world-installer"].status == "failed"
    assert world.timeline.commands()[-1] == "docker network rm w-net"
    assert not (world.state_root / "w").exists()


def test_the_teardown_removes_in_the_reverse_order_of_creation(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    world.target.start()
    state = StateFile(world.state_root, "w").load()
    count = len(world.timeline.commands())

    world.target.stop()

    removals = world.timeline.commands()[count:]
    refs = [resource.ref for resource in reversed(state.created)]
    assert [removal.split()[-1] for removal in removals] == refs


def test_a_kind_bring_up_writes_its_config_applies_the_storage_class_and_uses_its_network(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path, "kind")

    world.target.start()
    config = (world.state_root / "w" / "kind-config.yaml").read_text()
    world.target.stop()

    commands = world.timeline.commands()
    state = world.state_root
    assert commands[1:6] == [
        "kind get clusters",
        f"KIND_EXPERIMENTAL_DOCKER_NETWORK=w-net kind create cluster --name w --image "
        "kindest/node:v1.21.14@sha256:8a4e9bb3f415d2bb81629ce33ef9c76ba514c14d707f9797a01e3216376ba093 "
        f"--config {state}/w/kind-config.yaml --kubeconfig {state}/w/kubeconfig.yaml --wait 300s",
        "kind get kubeconfig --name w",
        f"kubectl --kubeconfig {state}/w/kubeconfig.yaml wait --for=condition=Ready nodes --all "
        "--timeout=300s",
        f"kubectl --kubeconfig {state}/w/kubeconfig.yaml apply -f {state}/w/local-path-storageclass.yaml",
    ]
    assert yaml.safe_load(config)["networking"]["apiServerAddress"] == "10.213.213.1"
    assert "kind delete cluster --name w" in commands


def test_an_existing_cluster_of_the_same_name_is_reused_and_left_alone(tmp_path: Path) -> None:
    world = make_world(tmp_path, existing="w")

    world.target.start()
    world.target.stop()

    commands = world.timeline.commands()
    assert not any(command.startswith("k3d cluster create") for command in commands)
    assert not any(command.startswith("k3d cluster delete") for command in commands)
    assert "k3d kubeconfig get w" in commands
    assert world.stages.records["world-cluster"].facts["cluster_reused"] is True


def test_a_failed_preflight_creates_nothing_and_says_everything(tmp_path: Path) -> None:
    host = FakeHost(inotify="128")
    del host.programs["k3d"]
    world = make_world(tmp_path, host=host)

    with pytest.raises(PreflightError) as caught:
        world.target.start()

    assert str(caught.value).startswith(
        "preflight of the k3d world 'w' failed (2 of 16 checks); nothing was created:\n"
    )
    assert "  - k3d: not found on PATH\n      fix: curl -s https://raw.githubusercontent.com" in str(
        caught.value
    )
    assert world.timeline.commands() == []
    assert not world.state_root.exists()
    assert world.stages.records["world-preflight"].status == "failed"
    assert list(world.stages.records) == ["world-preflight"]


@pytest.mark.usefixtures("docker_for_the_sweep")
def test_a_failed_parallel_step_stops_the_others_and_takes_everything_down(tmp_path: Path) -> None:
    world = make_world(tmp_path, fail_command="k3d cluster create")
    world.services.seconds["gitlab"] = 30.0

    began = time.monotonic()
    with pytest.raises(
        BringUpError, match=r"the bring-up of the k3d world w failed: `k3d cluster create w .*"
    ):
        world.target.start()

    assert time.monotonic() - began < 10, "GitLab's readiness wait was not cut short"
    names = world.timeline.names()
    assert "gone gitlab" in names
    assert "ready gitlab" not in names
    commands = world.timeline.commands()
    assert commands[-2:] == ["k3d cluster delete w", "docker network rm w-net"]
    assert "docker rm --force --volumes id-gitlab" in commands
    assert world.stages.records["world-cluster"].status == "failed"
    assert world.stages.records["world-gitlab"].status == "failed"
    assert "world-installer" not in world.stages.records
    assert not (world.state_root / "w").exists()


@pytest.mark.usefixtures("docker_for_the_sweep")
def test_ctrl_c_during_the_bring_up_takes_everything_down(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    world.services.seconds["gitlab"] = 30.0
    main = threading.main_thread().ident
    assert main is not None
    world.services.on_start["registry"] = lambda: signal.pthread_kill(main, signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        world.target.start()

    names = world.timeline.names()
    assert "cancel" in names
    assert "gone gitlab" in names
    commands = world.timeline.commands()
    assert commands[-1] == "docker network rm w-net"
    assert "k3d cluster delete w" in commands
    assert not (world.state_root / "w").exists()
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("world")]


def test_keep_env_leaves_the_world_up_and_says_how_to_reuse_and_prune_it(tmp_path: Path) -> None:
    world = make_world(tmp_path, keep_env=True)
    world.target.start()
    count = len(world.timeline.commands())

    world.target.stop()

    assert world.timeline.commands()[count:] == []
    state = StateFile(world.state_root, "w").load()
    assert state.kept
    keep = world.stages.records["world-keep"]
    assert keep.status == "passed"
    assert "reuse it with --reuse-env w" in keep.notes[0]
    assert "'nautes-e2e world prune --world w'" in keep.notes[0]


# -- for real: reusing a kept world ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client() -> Iterator[docker.DockerClient]:
    engine = engine_with_sleeper()
    yield engine
    engine.close()


@pytest.fixture
def objects(client: docker.DockerClient) -> Iterator[Objects]:
    made = Objects(client)
    yield made
    made.remove_all()


def kept_world(objects: Objects, root: Path, name: str) -> StateFile:
    network = objects.network(f"{name}-net", labels(name, "network")).name
    container = objects.container(f"{name}-vault", labels(name, "vault"), network)
    world_dir = root / name
    world_dir.mkdir(parents=True)
    (world_dir / "kubeconfig.yaml").write_text(KUBECONFIG)
    (world_dir / "credentials.env").write_text(
        "NAUTES_E2E_GITLAB_TOKEN=glpat-kept-1\nNAUTES_E2E_VAULT_TOKEN=hvs.kept-2\n"
        "NAUTES_E2E_REGISTRY_USERNAME=pusher-kept-4\nNAUTES_E2E_REGISTRY_PASSWORD=kept-password-3\n"
    )
    (world_dir / "target.yaml").write_text(
        yaml.safe_dump(
            {
                "schema": 1,
                "simulated": False,
                "nautes": {"url": "https://apiserver.10.213.213.1.nip.io:31443"},
                "gitlab": {"url": "https://10.213.213.1:8443", "sshUrl": "ssh://git@10.213.213.1:2222",
                           "tokenEnv": "NAUTES_E2E_GITLAB_TOKEN"},
                "vault": {"url": "https://10.213.213.1:8200", "tokenEnv": "NAUTES_E2E_VAULT_TOKEN"},
                "registry": {"url": "10.213.213.1:5000", "usernameEnv": "NAUTES_E2E_REGISTRY_USERNAME",
                             "passwordEnv": "NAUTES_E2E_REGISTRY_PASSWORD"},
                "clusters": [{"name": name, "kubeconfig": "kubeconfig.yaml",
                              "apiServer": "https://10.213.213.1:6550", "ip": "10.213.213.1"}],
            }
        )
    )  # fmt: skip
    state = StateFile(root, name)
    state.create("kind")
    state.record(Resource("network", network, "network"))
    state.record(Resource("container", container.id, "vault"))
    state.update(kept=True, target_file=world_dir / "target.yaml")
    return state


def reuse(
    tmp_path: Path, root: Path, name: str, provider: str = "kind"
) -> tuple[ClusterWorldTarget, StageRecorder]:
    stages = StageRecorder(EvidenceStore(tmp_path / "evidence"), progress_sink=lambda line: None)
    target = ClusterWorldTarget(
        "kind" if provider == "kind" else "k3d",
        tmp_path / "work",
        {"NAUTES_E2E_STATE_DIR": str(root)},
        bringup=RecordedBringUp(stages),
        reuse_env=name,
    )
    return target, stages


def test_a_kept_world_is_reused_after_checking_it_is_all_there_and_nothing_is_written(
    objects: Objects, tmp_path: Path
) -> None:
    root, name = tmp_path / "state", f"kept-{os.getpid()}"
    state = kept_world(objects, root, name)
    before = state.path.read_text()
    target, stages = reuse(tmp_path, root, name)

    with target as started:
        assert started.target == "kind"
        assert started.vault_token.reveal() == "hvs.kept-2"
        assert started.clusters[name].kubeconfig == root / name / "kubeconfig.yaml"

    assert stages.records["world-reuse"].facts["world"] == name
    assert state.path.read_text() == before
    assert objects.exists("container", f"{name}-vault")
    assert objects.exists("network", f"{name}-net")


def test_a_world_that_is_not_all_there_is_not_reused(objects: Objects, tmp_path: Path) -> None:
    root, name = tmp_path / "state", f"broken-{os.getpid()}"
    kept_world(objects, root, name)
    objects.client.containers.get(f"{name}-vault").remove(force=True)

    with pytest.raises(
        ReuseError, match=rf"--reuse-env {name}: the kept world is not all there \(container .* is gone\)"
    ):
        reuse(tmp_path, root, name)[0].start()
    with pytest.raises(ReuseError, match=r"it is a kind world, not k3d"):
        reuse(tmp_path, root, name, "k3d")[0].start()
    with pytest.raises(ReuseError, match=r"--reuse-env nowhere: .*nowhere/state\.json: cannot read"):
        reuse(tmp_path, root, "nowhere")[0].start()


# -- for real: the world's services published on the gateway ------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def world_network(client: docker.DockerClient) -> Iterator[WorldSettings]:
    """A real world network on a free /24 of 10.213.0.0/16, and settings whose ports are free."""
    taken = {
        config.get("Subnet")
        for network in client.networks.list()
        for config in (network.attrs.get("IPAM") or {}).get("Config") or []
    }
    subnet = next(f"10.213.{n}.0/24" for n in range(100, 250) if f"10.213.{n}.0/24" not in taken)
    ports = Ports(vault=_free_port(), vault_proxy=_free_port(), registry=_free_port())
    images = Images(vault=OPENBAO_IMAGE, registry=DISTRIBUTION_IMAGE)
    settings = WorldSettings("k3d", f"gw-{os.getpid()}", images=images, ports=ports, subnet=subnet)
    for image in (OPENBAO_IMAGE, DISTRIBUTION_IMAGE):
        ensure_image(client, image)
    SubprocessRunner().run(docker_network.create(settings))
    yield settings
    for container in client.containers.list(
        all=True, filters={"label": f"io.nautes-e2e.world={settings.name}"}
    ):
        container.remove(force=True)
    client.networks.get(settings.network).remove()


def _https_status(url: str, ca_pem: bytes) -> int:
    context = ssl.create_default_context(cadata=ca_pem.decode())
    try:
        with urllib.request.urlopen(url, timeout=10, context=context) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_vault_and_the_registry_answer_on_the_gateway_with_the_world_s_certificates(
    world_network: WorldSettings,
    client: docker.DockerClient,
) -> None:
    settings = world_network
    ca = WorldCA.generate("gateway test CA")
    issued = {
        component: ca.issue(component, dns=[component, "localhost"], ips=[settings.gateway, "127.0.0.1"])
        for component in ("vault", "registry")
    }
    services = ContainerServices()
    vault = services.vault(settings, issued["vault"])
    registry = services.registry(settings, issued["registry"], "nautes-e2e", Secret("registry-password-1"))

    vault.start()
    registry.start()

    assert vault.url == f"https://127.0.0.1:{settings.ports.vault}"
    assert _https_status(f"https://{settings.gateway}:{settings.ports.vault}/v1/sys/health", ca.ca_pem) == 501
    assert _https_status(f"https://{settings.gateway}:{settings.ports.registry}/v2/", ca.ca_pem) == 401
    attrs = client.containers.get(f"{settings.name}-vault").attrs
    bindings = attrs["HostConfig"]["PortBindings"]
    assert bindings["8200/tcp"] == [
        {"HostIp": "127.0.0.1", "HostPort": str(settings.ports.vault)},
        {"HostIp": settings.gateway, "HostPort": str(settings.ports.vault)},
    ]
    assert bindings["8000/tcp"][1] == {
        "HostIp": settings.gateway,
        "HostPort": str(settings.ports.vault_proxy),
    }
    assert attrs["NetworkSettings"]["Networks"][settings.network]["Aliases"][:1] == ["vault"]
    assert attrs["Config"]["Labels"]["io.nautes-e2e.world"] == settings.name
    health = f"https://{settings.gateway}:{settings.ports.vault}/v1/sys/health"
    wait_answers(f"{health}?uninitcode=200", ca.ca_pem, timeout_s=10)
    with pytest.raises(NotAnswering, match=rf"^{health} did not answer within 0.3s \(HTTP Error 501"):
        wait_answers(health, ca.ca_pem, timeout_s=0.3, interval_s=0.1)


# -- the command runner ------------------------------------------------------------------------------------


def test_the_runner_logs_each_command_masked_and_never_a_secret_output(tmp_path: Path) -> None:
    log = tmp_path / "commands.log"
    token = Secret("runner-secret-token-42")
    runner = SubprocessRunner(log, {"PATH": os.environ["PATH"], "TOKEN": token.reveal()})

    shown = runner.run(Command(("sh", "-c", 'echo "the token is $TOKEN"')))
    hidden = runner.run(Command(("sh", "-c", "echo kubeconfig-$((40 + 2))"), secret_output=True))
    with pytest.raises(CommandError) as caught:
        runner.run(Command(("sh", "-c", 'echo "failed with $TOKEN" >&2; exit 3')))

    assert shown.stdout == "the token is runner-secret-token-42\n"
    assert hidden.stdout == "kubeconfig-42\n"
    text = log.read_text()
    assert "runner-secret-token-42" not in text
    assert "the token is ***" in text
    assert "kubeconfig-42" not in text
    assert "(secret output, not logged)" in text
    assert str(caught.value).startswith('`sh -c echo "failed with $TOKEN" >&2; exit 3` exited with status 3')
    assert "failed with ***" in str(caught.value)


def test_cancel_kills_a_running_command_and_refuses_new_ones(tmp_path: Path) -> None:
    runner = SubprocessRunner(tmp_path / "commands.log")
    outcome: list[BaseException] = []

    def sleep() -> None:
        try:
            runner.run(Command(("sleep", "30")))
        except CommandCancelled as error:
            outcome.append(error)

    thread = threading.Thread(target=sleep)
    began = time.monotonic()
    thread.start()
    time.sleep(0.3)
    runner.cancel()
    thread.join(10)

    assert time.monotonic() - began < 5
    assert len(outcome) == 1
    with pytest.raises(CommandCancelled):
        runner.run(Command(("true",)))
