"""Choosing a target, the local target's credentials file and its process handling (the target file itself
is tested in test_target_file.py).

LocalTarget is exercised with a tiny fake entry module (``module=`` parameter), never the real reference
stack: the fake writes what the stack writes (target.yaml, credentials.env, kubeconfig, ready) or misbehaves.
"""

from __future__ import annotations

import json
import os
import signal
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import requests

from nautes_e2e.containers.images import DISTRIBUTION_IMAGE, OPENBAO_IMAGE
from nautes_e2e.targets import (
    TARGETS,
    ExistingTarget,
    LocalTarget,
    TargetError,
    TargetRequest,
    open_target,
    read_credentials,
)
from nautes_e2e.targets.services import CONTAINER, EMULATED
from tests.support.service_containers import containers_of, require_docker, require_image

pytest_plugins = ["pytester"]


def test_read_credentials(tmp_path: Path) -> None:
    env = tmp_path / "credentials.env"
    env.write_text("# comment\nA_TOKEN=abc=def-ghi-jkl\n\nB=\n")
    assert read_credentials(env) == {"A_TOKEN": "abc=def-ghi-jkl", "B": ""}
    env.write_text("A=1\nsecret-value-without-name-123\n")
    with pytest.raises(TargetError, match=r"line 2 is not NAME=value$") as caught:
        read_credentials(env)
    assert "secret-value-without-name-123" not in str(caught.value)


def test_open_target_makes_each_registered_target_from_its_entry(tmp_path: Path) -> None:
    local = open_target("local", TargetRequest(work_dir=tmp_path, environ={}))
    existing = open_target("existing", TargetRequest(tmp_path, {}, target_file=tmp_path / "t.yaml"))

    assert isinstance(local, LocalTarget)
    assert isinstance(existing, ExistingTarget)
    assert existing.target_file == tmp_path / "t.yaml"


def test_a_target_that_needs_a_target_file_says_so(tmp_path: Path) -> None:
    assert TARGETS["existing"].needs_target_file
    with pytest.raises(TargetError, match=r"the existing target needs a target file \(--target-file\)"):
        open_target("existing", TargetRequest(work_dir=tmp_path, environ={}))


def test_an_unknown_target_names_the_registered_ones(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match=r"unknown target 'nowhere'; available: local, existing, k3d, kind"):
        open_target("nowhere", TargetRequest(work_dir=tmp_path, environ={}))


def test_the_target_option_offers_exactly_the_registered_targets(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--target", "nowhere")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--target: invalid choice: 'nowhere' (choose from 'existing', 'k3d', 'kind', 'local')*"]
    )


def test_the_report_s_simulated_flag_comes_from_the_registry() -> None:
    assert {name: entry.simulated for name, entry in TARGETS.items()} == {
        "local": True,
        "existing": False,
        "k3d": False,
        "kind": False,
    }


# -- the local target, with a fake reference stack -----------------------------------------------------

FAKE_STACK = textwrap.dedent(
    """\
    import json, os, signal, sys, time, urllib.request
    from pathlib import Path

    mode = os.environ["FAKE_STACK_MODE"]
    assert sys.argv[1:3] == ["up", "--dir"], sys.argv
    stack = Path(sys.argv[3])
    print("fake stack starting in", stack, flush=True)
    external = {k: v for k, v in os.environ.items() if k.startswith("NAUTES_E2E_REFSTACK_")}
    (stack / "invocation.json").write_text(json.dumps({"argv": sys.argv[4:], "environment": external}))
    if "--external-vault" in sys.argv:
        vault = sys.argv[sys.argv.index("--external-vault") + 1]

        def at_stop(signum, frame):
            # What the stack would still do on its way out: is its Vault still there?
            try:
                status = urllib.request.urlopen(vault + "/v1/sys/health", timeout=5).status
            except OSError as error:
                status = repr(error)
            (stack / "vault-at-stop.txt").write_text(str(status))
            sys.exit(0)

        signal.signal(signal.SIGTERM, at_stop)
    (stack / "credentials.env").write_text(
        "NAUTES_E2E_GITLAB_TOKEN=stack-gitlab-token-123\\nNAUTES_E2E_VAULT_TOKEN=stack-vault-token-456\\n"
    )
    if mode == "crash":
        print("fatal: could not bind, token was stack-gitlab-token-123", flush=True)
        sys.exit(3)
    if mode == "hang":
        time.sleep(60)
    (stack / "kubeconfig-runtime.yaml").write_text("apiVersion: v1\\nkind: Config\\n")
    (stack / "target.yaml").write_text(
        "schema: 1\\nsimulated: true\\nnautes: {url: 'http://127.0.0.1:1'}\\n"
        "gitlab: {url: 'http://127.0.0.1:2', sshUrl: 'ssh://git@127.0.0.1:3',"
        " tokenEnv: NAUTES_E2E_GITLAB_TOKEN}\\n"
        "vault: {url: 'http://127.0.0.1:4', tokenEnv: NAUTES_E2E_VAULT_TOKEN}\\n"
        "registry: {url: '127.0.0.1:5', scheme: http}\\n"
        "clusters: [{name: runtime, kubeconfig: kubeconfig-runtime.yaml,"
        " apiServer: 'http://127.0.0.1:6', ip: 127.0.0.1}]\\n"
    )
    if mode == "stubborn":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    (stack / "ready").write_text("")
    while True:
        time.sleep(0.1)
    """
)


def local_target(tmp_path: Path, mode: str, **options: Any) -> LocalTarget:
    modules = tmp_path / "modules"
    modules.mkdir(exist_ok=True)
    (modules / "fake_refstack.py").write_text(FAKE_STACK)
    environ = {**os.environ, "PYTHONPATH": str(modules), "FAKE_STACK_MODE": mode}
    return LocalTarget(tmp_path / "work", environ=environ, module="fake_refstack", **options)


def assert_gone(pid: int) -> None:
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_local_target_starts_reads_the_world_and_stops(tmp_path: Path) -> None:
    target = local_target(tmp_path, "ok")
    assert target.command[1:] == [
        "-m",
        "fake_refstack",
        "up",
        "--dir",
        str(tmp_path / "work" / "stack"),
        "--exit-with-parent",
    ]
    world = target.start()
    process = target._process
    assert process is not None
    assert os.getpgid(process.pid) == process.pid  # its own process group
    assert (world.target, world.simulated) == ("local", True)
    assert world.gitlab_token.reveal() == "stack-gitlab-token-123"  # from credentials.env
    assert world.clusters["runtime"].kubeconfig == tmp_path / "work" / "stack" / "kubeconfig-runtime.yaml"
    with pytest.raises(TargetError, match="already running"):
        target.start()
    target.stop()
    assert process.returncode == -signal.SIGTERM
    assert_gone(process.pid)
    target.stop()  # idempotent


def test_local_target_reports_a_crash_with_the_redacted_log(tmp_path: Path) -> None:
    target = local_target(tmp_path, "crash")
    with pytest.raises(TargetError) as caught:
        target.start()
    text = str(caught.value)
    assert "exited with status 3 before it was ready" in text
    assert "fatal: could not bind, token was ***" in text
    assert "stack-gitlab-token-123" not in text
    assert target._process is None


def test_local_target_names_the_bugs_its_stack_logged_without_their_time(tmp_path: Path) -> None:
    """The stack's log marks a bug of its own by its supervision logger at ERROR; the rest is not one."""
    target = LocalTarget(tmp_path / "work")
    assert target.stack_bugs() == []  # no log yet
    logs = target.stack_dir / "logs"
    logs.mkdir(parents=True)
    (logs / "refstack.log").write_text(
        "2026-12-05 07:56:45,001 INFO nautes_refstack.tekton.controller: running PipelineRun a/b\n"
        "2026-12-05 07:56:45,862 ERROR nautes_refstack.supervision: Pod events stopped: KeyError('x')\n"
        "Traceback (most recent call last):\n"
        "2026-12-05 07:56:46,002 ERROR nautes_refstack.runtime.argoevents.gitlab_hooks: failed to delete\n"
        "2026-12-05 07:56:47,003 ERROR nautes_refstack.supervision: reconcile crashed, retrying\n"
    )
    assert target.stack_bugs() == ["Pod events stopped: KeyError('x')", "reconcile crashed, retrying"]
    assert ExistingTarget(tmp_path / "target.yaml", {}).stack_bugs() == []  # a world it does not run


def test_local_target_times_out_and_leaves_nothing_running(tmp_path: Path) -> None:
    target = local_target(tmp_path, "hang", startup_timeout_s=0.5)
    with pytest.raises(TargetError, match=r"not ready after 0\.5s") as caught:
        target.start()
    assert "fake stack starting in" in str(caught.value)
    assert target._process is None


def test_stop_kills_a_stack_that_ignores_sigterm(tmp_path: Path) -> None:
    target = local_target(tmp_path, "stubborn", stop_timeout_s=0.3)
    target.start()
    process = target._process
    assert process is not None
    target.stop()
    assert process.returncode == -signal.SIGKILL
    assert_gone(process.pid)


# -- the local target with service containers (--service NAME=container), with the fake stack ------------


class RecordingBringUp:
    """A bring-up reporter that keeps each step's facts and notes (steps may run in parallel)."""

    def __init__(self) -> None:
        self.steps: dict[str, dict[str, Any]] = {}

    @contextmanager
    def step(self, name: str) -> Iterator[Any]:
        record: dict[str, Any] = {"facts": {}, "notes": [], "done": False}
        self.steps[name] = record
        step = SimpleNamespace(
            fact=lambda key, value: record["facts"].__setitem__(key, value), note=record["notes"].append
        )
        yield step
        record["done"] = True


SWAPPED = {"vault": CONTAINER, "registry": CONTAINER}


def test_the_local_factory_hands_the_bringup_reporter_over(tmp_path: Path) -> None:
    bringup = RecordingBringUp()
    target = open_target("local", TargetRequest(tmp_path, {}, services=SWAPPED, bringup=bringup))
    assert isinstance(target, LocalTarget)
    assert target.bringup is bringup
    assert target.swapped_services == ["vault", "registry"]


def test_swapped_services_run_in_containers_the_stack_is_pointed_at(tmp_path: Path) -> None:
    client = require_docker()
    require_image(client, OPENBAO_IMAGE)
    require_image(client, DISTRIBUTION_IMAGE)
    bringup = RecordingBringUp()
    target = local_target(tmp_path, "ok", services=SWAPPED, bringup=bringup)
    world_name = target.work_dir.name
    target.start()
    try:
        running = containers_of(client, world_name)
        assert len(running) == 2
        invocation = json.loads((target.stack_dir / "invocation.json").read_text())
        vault_url = invocation["argv"][invocation["argv"].index("--external-vault") + 1]
        registry_url = invocation["argv"][invocation["argv"].index("--external-registry") + 1]
        assert target.command[-4:] == ["--external-vault", vault_url, "--external-registry", registry_url]
        environment = invocation["environment"]
        assert sorted(environment) == [
            "NAUTES_E2E_REFSTACK_REGISTRY_PASSWORD",
            "NAUTES_E2E_REFSTACK_REGISTRY_USERNAME",
            "NAUTES_E2E_REFSTACK_VAULT_TOKEN",
        ]
        assert not set(environment.values()) & set(target.command)  # secrets in the environment only
        token = {"X-Vault-Token": environment["NAUTES_E2E_REFSTACK_VAULT_TOKEN"]}
        assert requests.get(f"{vault_url}/v1/auth/token/lookup-self", headers=token, timeout=5).ok
        credentials = (
            environment["NAUTES_E2E_REFSTACK_REGISTRY_USERNAME"],
            environment["NAUTES_E2E_REFSTACK_REGISTRY_PASSWORD"],
        )
        assert requests.get(f"{registry_url}/v2/", auth=credentials, timeout=5).status_code == 200
        assert requests.get(f"{registry_url}/v2/", timeout=5).status_code == 401

        assert sorted(bringup.steps) == ["registry-container", "vault-container"]
        vault_step = bringup.steps["vault-container"]
        assert vault_step["done"]
        assert vault_step["facts"]["vault_image"] == OPENBAO_IMAGE
        assert vault_step["facts"]["vault_url"] == vault_url
        assert 0 < vault_step["facts"]["vault_startup_s"] < 30
        assert bringup.steps["registry-container"]["facts"]["registry_url"] == registry_url
    finally:
        target.stop()
    assert (target.stack_dir / "vault-at-stop.txt").read_text() == "200"  # the stack stopped first
    assert containers_of(client, world_name) == []
    vault_log = (target.work_dir / "vault-container.log").read_text()
    assert "core: vault is unsealed" in vault_log
    assert environment["NAUTES_E2E_REFSTACK_VAULT_TOKEN"] not in vault_log
    assert "GET /v2/" in (target.work_dir / "registry-container.log").read_text()
    target.stop()  # idempotent


def test_no_docker_stops_the_start_before_anything_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    target = local_target(tmp_path, "ok", services={"vault": CONTAINER, "registry": EMULATED})
    with pytest.raises(TargetError) as caught:
        target.start()
    assert str(caught.value).startswith(
        "--service vault=container needs Docker: the Docker engine at unix:///nonexistent/docker.sock "
        "does not answer ("
    )
    assert not target.stack_dir.exists()  # the stack was never started


def test_a_missing_image_stops_the_start_before_anything_runs(tmp_path: Path) -> None:
    client = require_docker()
    target = local_target(tmp_path, "ok", services=SWAPPED)
    target.environ["NAUTES_E2E_REGISTRY_IMAGE"] = "nautes-e2e/nowhere:0.0.0"
    with pytest.raises(TargetError) as caught:
        target.start()
    assert str(caught.value) == (
        "--service vault=container, --service registry=container: image nautes-e2e/nowhere:0.0.0 is not "
        "present in the Docker engine and is never pulled by the harness: "
        "docker pull nautes-e2e/nowhere:0.0.0 (where a registry is reachable) or docker load it"
    )
    assert containers_of(client, target.work_dir.name) == []
    assert not target.stack_dir.exists()
