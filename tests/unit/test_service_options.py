"""``--service NAME=KIND`` and ``--reuse-env NAME``: parsed and checked before anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from nautes_e2e.targets import TargetError, TargetRequest, open_target
from nautes_e2e.targets.cluster import ClusterWorldTarget
from nautes_e2e.targets.services import CONTAINER, EMULATED, parse_services

pytest_plugins = ["pytester"]


def test_every_swappable_service_gets_a_kind_and_the_unnamed_stay_emulated() -> None:
    chosen = parse_services(["vault=container"], ("vault", "registry"))

    assert dict(chosen) == {"vault": CONTAINER, "registry": EMULATED}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("vault", r"--service 'vault': expected NAME=KIND, e\.g\. vault=container"),
        ("=container", r"--service '=container': expected NAME=KIND"),
        ("gitlab=container", r"unknown service 'gitlab' \(swappable: vault, registry\)"),
        ("vault=docker", r"unknown kind 'docker' \(one of emulated, container\)"),
    ],
)
def test_a_bad_service_value_names_itself(value: str, message: str) -> None:
    with pytest.raises(TargetError, match=message):
        parse_services([value], ("vault", "registry"))


def test_a_service_named_twice_is_refused() -> None:
    with pytest.raises(TargetError, match=r"--service 'vault=emulated': vault is already container"):
        parse_services(["vault=container", "vault=emulated"], ("vault", "registry"))


def test_a_target_without_swappable_services_refuses_any(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")

    result = pytester.runpytest(
        "--target", "existing", "--target-file", "t.yaml", "--service", "vault=container"
    )

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*--service 'vault=container': unknown service 'vault' (swappable: none on this target)"
            " (--target existing)*"
        ]
    )


def test_reuse_env_is_refused_where_there_is_no_world_to_reuse(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")

    result = pytester.runpytest("--target", "existing", "--target-file", "t.yaml", "--reuse-env", "nightly")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--reuse-env: the existing target brings up no world to reuse*"])


def test_world_config_is_refused_where_no_world_is_brought_up(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")

    result = pytester.runpytest("--target", "local", "--world-config", "world.yaml")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--world-config: the local target brings up no world to configure*"])


def test_world_config_reaches_the_cluster_target(tmp_path: Path) -> None:
    config = tmp_path / "world.yaml"
    config.write_text("name: from-the-option\n")

    target = open_target("k3d", TargetRequest(work_dir=tmp_path, environ={}, world_config=config))

    assert isinstance(target, ClusterWorldTarget)
    assert target.world_config == config
