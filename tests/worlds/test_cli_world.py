"""``nautes-e2e world plan``: the whole plan for k3d and kind, printed without running or writing anything;
a bad world config is a usage error naming the field. (``world prune`` is tested in test_prune.py.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import NoReturn

import docker
import pytest

from nautes_e2e.cli import main
from nautes_e2e.targets.cluster import world_plan
from nautes_e2e.worlds.installation import InstallerModule
from nautes_e2e.worlds.plan import render_plan
from nautes_e2e.worlds.settings import load_world_settings


def _refuse(*args: object, **kwargs: object) -> NoReturn:
    raise AssertionError(f"world plan must not spawn anything: {args!r}")


@pytest.fixture
def nothing_runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No process can be started, no Docker client made; the state directory is an empty temporary one."""
    for name in ("Popen", "run", "call", "check_call", "check_output"):
        monkeypatch.setattr(subprocess, name, _refuse)
    for name in ("system", "fork", "posix_spawn", "posix_spawnp", "execv", "execve"):
        monkeypatch.setattr(os, name, _refuse)
    monkeypatch.setattr(docker, "from_env", _refuse)
    monkeypatch.setattr(docker, "DockerClient", _refuse)
    state = tmp_path / "state"
    monkeypatch.setenv("NAUTES_E2E_STATE_DIR", str(state))
    monkeypatch.delenv("NAUTES_E2E_WORLD_CONFIG", raising=False)
    monkeypatch.delenv("NAUTES_E2E_WORLD_NAME", raising=False)
    return state


@pytest.mark.parametrize("provider", ["k3d", "kind"])
def test_world_plan_prints_the_whole_plan_and_runs_nothing(
    provider: str, nothing_runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["world", "plan", "--target", provider]) == 0

    printed = capsys.readouterr().out
    settings = load_world_settings("k3d" if provider == "k3d" else "kind")
    assert printed == render_plan(world_plan(settings, os.environ, InstallerModule()))
    assert printed.startswith(f"Bring-up of the {provider} world 'nautes-e2e-{provider}' ")
    for number, step in enumerate(["preflight", "network", "certificates"], start=1):
        assert f"\n{number}. {step}: " in printed
    assert "\n4. in parallel, started in this order: gitlab, cluster, vault, registry\n" in printed
    for step in ("5. installer: ", "6. vault-proxy: ", "7. target-file: "):
        assert f"\n{step}" in printed
    assert f"$ {provider} " in printed or f"{provider} create cluster" in printed
    assert not nothing_runs.exists(), "world plan wrote into the state directory"


def test_world_plan_takes_a_world_config(
    nothing_runs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "world.yaml"
    config.write_text("name: nightly-7\nports: {kubeApi: 16443}\n")

    assert main(["world", "plan", "--target", "k3d", "--world-config", str(config)]) == 0

    printed = capsys.readouterr().out
    assert "k3d cluster create nightly-7 " in printed
    assert "--api-port 10.213.213.1:16443" in printed


def test_a_bad_world_config_is_a_usage_error_naming_the_field(
    nothing_runs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "world.yaml"
    config.write_text("ports: {kubeApi: many}\n")

    assert main(["world", "plan", "--target", "kind", "--world-config", str(config)]) == 4

    assert capsys.readouterr().err == f"nautes-e2e world plan: {config}: ports.kubeApi: must be an integer\n"


def test_the_console_script_has_the_world_commands() -> None:
    script = Path(sys.executable).parent / "nautes-e2e"
    result = subprocess.run(
        [str(script), "world", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0
    assert (
        "\n    plan      print the bring-up of a k3d/kind world without running anything\n" in result.stdout
    )
    assert "\n    prune     remove what killed runs and kept worlds left in Docker" in result.stdout
