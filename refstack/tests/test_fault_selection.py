"""Selecting faults: ``--fault`` and ``NAUTES_E2E_REFSTACK_FAULTS`` parsing, the errors a bad selection
gives before anything starts, and that no selection means no fault ever acts."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from nautes_refstack import faults as faults_module
from nautes_refstack.faults import (
    FAULTS,
    FAULTS_ENV,
    NAUTES_KINDS,
    NO_FAULTS,
    FaultError,
    Faults,
    faults_from,
    parse_faults,
)
from support.command import refused_start

# How a component's hook asks for a fault: ``faults.active("name"`` (the call may wrap after the paren).
HOOK_CALL = re.compile(r'\.active\(\s*"([a-z0-9-]+)"')


def armed(faults: Faults) -> Faults:
    faults.arm()
    return faults


def test_every_fault_has_a_hook_and_every_hook_a_fault_with_its_breakage() -> None:
    package = Path(faults_module.__file__).parent
    hooked = {
        name
        for source in package.rglob("*.py")
        if source.name != "faults.py"
        for name in HOOK_CALL.findall(source.read_text())
    }
    assert hooked == set(FAULTS)
    assert all(fault.breakage and "\n" not in fault.breakage for fault in FAULTS.values())


def test_nothing_selected_means_no_fault_ever_acts() -> None:
    """A stack started without faults behaves exactly as before: every hook asks and is told no."""
    for faults in (faults_from([], {}), faults_from([], {FAULTS_ENV: " , "}), NO_FAULTS):
        faults.arm()
        assert faults.describe() == []
        assert not any(faults.active(name) for name in FAULTS)
        assert not faults.active("nautes-api-500", "Cluster")
        assert not faults.active("task-fails", "image-build")


def test_options_and_environment_add_up() -> None:
    faults = armed(
        faults_from(["webhook-not-delivered"], {FAULTS_ENV: "task-fails=image-build, wrong-image-tag"})
    )

    assert faults.active("webhook-not-delivered")
    assert faults.active("wrong-image-tag")
    assert faults.active("task-fails", "image-build")
    assert not faults.active("tag-not-rewritten")
    assert faults.describe() == [
        f"task-fails=image-build: {FAULTS['task-fails'].breakage}",
        f"webhook-not-delivered: {FAULTS['webhook-not-delivered'].breakage}",
        f"wrong-image-tag: {FAULTS['wrong-image-tag'].breakage}",
    ]


def test_a_fault_with_an_argument_acts_only_for_that_argument() -> None:
    faults = armed(
        parse_faults(["nautes-api-500=Cluster", "nautes-api-500=CodeRepo", "task-fails=mvn-build"])
    )

    assert faults.active("nautes-api-500", "Cluster")
    assert faults.active("nautes-api-500", "CodeRepo")
    assert not faults.active("nautes-api-500", "Product")
    assert faults.active("task-fails", "mvn-build")
    assert not faults.active("task-fails", "image-build")
    assert faults.active("nautes-api-500")  # selected at all


def test_faults_act_only_once_armed_and_say_so_the_first_time(caplog: pytest.LogCaptureFixture) -> None:
    faults = parse_faults(["webhook-not-delivered"])
    assert not faults.active("webhook-not-delivered")  # the stack's own bootstrap is not broken

    faults.arm()
    with caplog.at_level(logging.WARNING, logger="nautes_refstack.faults"):
        assert faults.active("webhook-not-delivered")
        assert faults.active("webhook-not-delivered")

    assert [record.getMessage() for record in caplog.records] == [
        f"fault webhook-not-delivered acts: {FAULTS['webhook-not-delivered'].breakage}"
    ]


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("no-such-fault", "unknown fault 'no-such-fault'; the reference stack knows:"),
        ("Webhook-Not-Delivered", "unknown fault 'Webhook-Not-Delivered'"),
        ("webhook-not-delivered=yes", "fault webhook-not-delivered takes no argument"),
        ("nautes-api-500", "fault nautes-api-500 needs an argument: nautes-api-500=<Kind>"),
        ("nautes-api-500=", "fault nautes-api-500 needs an argument"),
        ("nautes-api-500=cluster", "fault nautes-api-500=<Kind>: 'cluster' is not one of Product, Project"),
        ("task-fails=Image Build", "'Image Build' is not a valid pipeline task name"),
        ("task-fails", "fault task-fails needs an argument: task-fails=<pipeline task name>"),
    ],
)
def test_a_bad_selection_is_a_clear_error(item: str, message: str) -> None:
    with pytest.raises(FaultError) as error:
        faults_from([], {FAULTS_ENV: f"webhook-not-delivered,{item}"})
    assert message in str(error.value)


def test_the_unknown_fault_error_lists_every_fault_with_its_usage() -> None:
    with pytest.raises(FaultError) as error:
        parse_faults(["nope"])
    for fault in FAULTS.values():
        assert f"  {fault.usage}: {fault.breakage}" in str(error.value)


def test_every_nautes_kind_is_accepted() -> None:
    faults = armed(parse_faults([f"nautes-api-500={kind}" for kind in NAUTES_KINDS]))
    assert all(faults.active("nautes-api-500", kind) for kind in NAUTES_KINDS)


def test_asking_for_a_fault_that_does_not_exist_is_a_bug_in_the_hook() -> None:
    with pytest.raises(FaultError, match="unknown fault 'webhook-not-deliverd'"):
        NO_FAULTS.active("webhook-not-deliverd")


@pytest.mark.parametrize(
    ("arguments", "environment"),
    [(["--fault", "no-such-fault"], {}), ([], {FAULTS_ENV: "nautes-api-500=Widget"})],
    ids=["option", "environment"],
)
def test_refstack_up_refuses_a_bad_fault_before_it_starts_anything(
    arguments: list[str], environment: dict[str, str], tmp_path: Path
) -> None:
    stderr = refused_start(tmp_path / "stack", arguments, environment)

    assert stderr.startswith("reference stack not started: ")
    assert "fault" in stderr
