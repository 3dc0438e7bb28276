"""Choosing a target, the local target's credentials file and its process handling (the target file itself
is tested in test_target_file.py).

LocalTarget is exercised with a tiny fake entry module (``module=`` parameter), never the real reference
stack: the fake writes what the stack writes (target.yaml, credentials.env, kubeconfig, ready) or misbehaves.
"""

from __future__ import annotations

import os
import signal
import textwrap
from pathlib import Path
from typing import Any

import pytest

from nautes_e2e.targets import (
    TARGETS,
    ExistingTarget,
    LocalTarget,
    TargetError,
    TargetRequest,
    open_target,
    read_credentials,
)

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
    with pytest.raises(TargetError, match=r"unknown target 'kind'; available: local, existing"):
        open_target("kind", TargetRequest(work_dir=tmp_path, environ={}))


def test_the_target_option_offers_exactly_the_registered_targets(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--target", "nowhere")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--target: invalid choice: 'nowhere' (choose from 'existing', 'local')*"])


def test_the_report_s_simulated_flag_comes_from_the_registry() -> None:
    assert {name: entry.simulated for name, entry in TARGETS.items()} == {"local": True, "existing": False}


# -- the local target, with a fake reference stack -----------------------------------------------------

FAKE_STACK = textwrap.dedent(
    """\
    import os, signal, sys, time
    from pathlib import Path

    mode = os.environ["FAKE_STACK_MODE"]
    assert sys.argv[1:3] == ["up", "--dir"], sys.argv
    stack = Path(sys.argv[3])
    print("fake stack starting in", stack, flush=True)
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
