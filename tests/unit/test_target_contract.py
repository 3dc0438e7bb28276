"""Every registered target keeps the Target contract: a start gives a World, ``stop`` may be called again
and again, and a failed start leaves nothing running.

Each target needs a way to start well and a way to start badly: :data:`CASES` holds them, one per
registered target, and a target added to the registry without a case here fails
:func:`test_every_registered_target_has_a_contract_case`. The ``local`` case starts the real reference
stack (as a process, like every run does).

The real worlds (``k3d``, ``kind``) need Docker, their CLI and images that cannot be pulled here. Their good
case is the registered target with its bring-up's machinery faked (``offline``: every command recorded, no
container started; tests/worlds/test_cluster_target.py checks those commands); their bad case is the real
registered target on a machine without the CLIs (an empty ``PATH``): preflight refuses, and nothing may be
left behind, neither a process nor anything in the world's state directory.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from nautes_e2e.targets import TARGETS, Target, TargetError, TargetRequest, World, open_target
from nautes_e2e.targets.cluster import ClusterWorldTarget, Machinery
from nautes_e2e.worlds.settings import Provider
from tests.worlds.test_cluster_target import FakeRunner, FakeServices, Timeline
from tests.worlds.test_preflight import FakeHost

#: The environment variable the reference stack reads its faults from (its command line's interface).
REFSTACK_FAULTS_ENV = "NAUTES_E2E_REFSTACK_FAULTS"


@dataclass(frozen=True)
class ContractCase:
    """How to ask a target for a world it can give (``good``) and for one it cannot (``bad``)."""

    good: Callable[[Path], TargetRequest]
    bad: Callable[[Path], TargetRequest]
    #: Makes the target of ``good`` itself, where the real one cannot be had here (the real worlds).
    offline: Callable[[TargetRequest], Target] | None = None


def _existing_world_file(directory: Path) -> Path:
    (directory / "kubeconfig.yaml").write_text("apiVersion: v1\nkind: Config\n")
    target_file = directory / "target.yaml"
    target_file.write_text(
        textwrap.dedent(
            """\
            schema: 1
            nautes: {url: 'http://127.0.0.1:9'}
            gitlab: {url: 'http://127.0.0.1:9', sshUrl: 'ssh://git@127.0.0.1:9', tokenEnv: CONTRACT_TOKEN}
            vault: {url: 'http://127.0.0.1:9', tokenEnv: CONTRACT_TOKEN}
            registry: {url: '127.0.0.1:9'}
            clusters:
              - {name: runtime, kubeconfig: kubeconfig.yaml, apiServer: 'http://127.0.0.1:9', ip: 127.0.0.1}
            """
        )
    )
    return target_file


def _world_request(directory: Path, environ: dict[str, str]) -> TargetRequest:
    state = {"NAUTES_E2E_STATE_DIR": str(directory / "state"), "NAUTES_E2E_WORLD_NAME": "contract"}
    return TargetRequest(directory / "work", {**environ, **state})


def _offline_world(provider: Provider) -> Callable[[TargetRequest], Target]:
    def make(request: TargetRequest) -> Target:
        runner = FakeRunner(Timeline())
        return ClusterWorldTarget(
            provider,
            request.work_dir,
            request.environ,
            bringup=request.bringup,
            machinery=Machinery(
                runner=lambda log, environ: runner.fresh(),
                host=lambda command_runner, environ: FakeHost(),
                services=lambda: FakeServices(runner.timeline, runner),
            ),
        )

    return make


def _world_case(provider: Provider) -> ContractCase:
    return ContractCase(
        good=lambda directory: _world_request(directory, {}),
        bad=lambda directory: _world_request(directory, {**os.environ, "PATH": ""}),
        offline=_offline_world(provider),
    )


CASES: dict[str, ContractCase] = {
    "local": ContractCase(
        good=lambda directory: TargetRequest(directory, dict(os.environ)),
        # The stack refuses an unknown fault before anything listens, and exits.
        bad=lambda directory: TargetRequest(directory, {**os.environ, REFSTACK_FAULTS_ENV: "no-such-fault"}),
    ),
    "existing": ContractCase(
        good=lambda directory: TargetRequest(
            directory, {"CONTRACT_TOKEN": "contract-token"}, target_file=_existing_world_file(directory)
        ),
        bad=lambda directory: TargetRequest(directory, {}, target_file=directory / "missing.yaml"),
    ),
    "k3d": _world_case("k3d"),
    "kind": _world_case("kind"),
}


def processes_of(directory: Path) -> list[int]:
    """Live processes whose command line names ``directory`` (a target's work directory)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command_line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(directory) in command_line:
            found.append(int(entry.name))
    return found


def test_every_registered_target_has_a_contract_case() -> None:
    assert set(CASES) == set(TARGETS)


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_a_target_gives_a_world_and_stops_idempotently(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    request = case.good(tmp_path)
    target = case.offline(request) if case.offline else open_target(name, request)

    with target as world:
        assert isinstance(world, World)
        assert world.target == name
        assert world.simulated == TARGETS[name].simulated
        assert world.clusters, "a world has at least one runtime cluster"
    target.stop()
    target.stop()

    assert processes_of(tmp_path) == []


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_a_failed_start_raises_a_target_error_and_leaves_nothing_running(name: str, tmp_path: Path) -> None:
    target = open_target(name, CASES[name].bad(tmp_path))

    with pytest.raises(TargetError):
        target.start()

    assert processes_of(tmp_path) == []
    state = tmp_path / "state"
    assert not state.exists() or not any(state.iterdir()), "a failed preflight left state behind"
    target.stop()
