"""Faults armed on a running stack for one run (``DIR/faults.d``): they act at once, only on what carries the
run's names, only when the stack's own user armed them; ``arm`` refuses bad input before writing."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from nautes_refstack.fault_control import FaultControl, arm, disarm, main
from nautes_refstack.faults import FaultError, Faults, carries, parse_faults
from nautes_refstack.world_dir import FAULT_CONTROL_DIR, READY_FILE


@pytest.fixture
def stack_dir(tmp_path: Path) -> Path:
    """A directory as a running stack leaves it: ``ready`` and the (empty) control directory."""
    (tmp_path / READY_FILE).write_text("1\n")
    FaultControl(tmp_path / FAULT_CONTROL_DIR).create()
    return tmp_path


def watching(directory: Path, faults: Faults | None = None) -> Faults:
    faults = faults or Faults()
    faults.arm()
    faults.arm_per_run(FaultControl(directory / FAULT_CONTROL_DIR))
    return faults


@pytest.mark.parametrize(
    ("about", "expected"),
    [
        ("pr-demo-s1", True),
        ("demo-s1/coderepo-sc-demo-s1", True),
        ("/api/v1/clusters/physical-worker-s1", True),
        ("12-pr-demo-s1-0", True),  # a Sensor: <product id>-<runtime>-<index>
        ("s1", True),
        ("pr-demo-s10", False),
        ("pr-demo-xs1", False),
        ("pr-demo-quickstart", False),
    ],
)
def test_a_name_carries_a_suffix_only_as_whole_words(about: str, expected: bool) -> None:
    assert carries(about, "s1") is expected


def test_a_fault_armed_for_a_run_acts_at_once_on_its_names_only(
    stack_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    faults = watching(stack_dir)
    assert not faults.active("wrong-image-tag", about="pr-demo-s1")

    arm(stack_dir, "s1", ["wrong-image-tag", "task-fails=image-build"])
    assert faults.active("wrong-image-tag", about="pr-demo-s1")
    assert faults.active("wrong-image-tag", about="pr-demo-s1")
    assert faults.active("task-fails", "image-build", about="pr-demo-s1")
    assert not faults.active("task-fails", "git-clone", about="pr-demo-s1")
    assert not faults.active("wrong-image-tag", about="pr-demo-s2"), "another run's names"
    assert not faults.active("wrong-image-tag"), "a hook that names no run"
    assert not faults.active("webhook-not-delivered", about="demo-s1/coderepo-sc-demo-s1")
    acted = [
        record.getMessage() for record in caplog.records if "wrong-image-tag acts" in record.getMessage()
    ]
    assert len(acted) == 1, "logged once per run"
    assert acted[0].startswith("fault wrong-image-tag acts for run s1: kaniko pushes"), acted

    disarm(stack_dir, "s1")
    assert not faults.active("wrong-image-tag", about="pr-demo-s1")


def test_rearming_within_one_clock_tick_is_seen(stack_dir: Path) -> None:
    """The directory's mtime has a clock tick's resolution: changes in quick succession still count."""
    faults = watching(stack_dir)
    for _ in range(20):
        arm(stack_dir, "s1", ["wrong-image-tag"])
        assert faults.active("wrong-image-tag", about="pr-demo-s1")
        disarm(stack_dir, "s1")
        assert not faults.active("wrong-image-tag", about="pr-demo-s1")


def test_faults_selected_at_start_still_act_on_everything(stack_dir: Path) -> None:
    faults = watching(stack_dir, parse_faults(["wrong-image-tag"]))
    assert faults.active("wrong-image-tag", about="pr-demo-anything")
    assert faults.active("wrong-image-tag")


def test_nothing_acts_before_the_stack_arms_its_faults(stack_dir: Path) -> None:
    faults = Faults()
    faults.arm_per_run(FaultControl(stack_dir / FAULT_CONTROL_DIR))
    arm(stack_dir, "s1", ["wrong-image-tag"])
    assert not faults.active("wrong-image-tag", about="pr-demo-s1")


def test_a_file_others_may_write_or_with_a_bad_fault_is_ignored_and_logged(
    stack_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    faults = watching(stack_dir)
    writable = stack_dir / FAULT_CONTROL_DIR / "s1"
    writable.write_text("wrong-image-tag\n")
    writable.chmod(0o622)
    unknown = stack_dir / FAULT_CONTROL_DIR / "s2"
    unknown.write_text("wrong-image-tag\nno-such-fault\n")
    unknown.chmod(0o600)

    assert not faults.active("wrong-image-tag", about="pr-demo-s1")
    assert not faults.active("wrong-image-tag", about="pr-demo-s2")
    errors = [record.getMessage() for record in caplog.records if record.levelno == logging.ERROR]
    assert any("s1: not the stack user's own, or writable by others" in error for error in errors), errors
    assert any("s2: unknown fault 'no-such-fault'" in error for error in errors), errors


@pytest.mark.parametrize(
    ("suffix", "items", "reason"),
    [
        ("s1", ["no-such-fault"], "unknown fault 'no-such-fault'"),
        ("s1", ["task-fails"], "fault task-fails needs an argument"),
        ("S1", ["wrong-image-tag"], "'S1' is not a run's suffix"),
        ("../x", ["wrong-image-tag"], "'../x' is not a run's suffix"),
    ],
)
def test_arm_refuses_bad_input_before_writing(
    stack_dir: Path, suffix: str, items: list[str], reason: str
) -> None:
    with pytest.raises(FaultError, match=reason.replace("(", r"\(")):
        arm(stack_dir, suffix, items)
    assert list((stack_dir / FAULT_CONTROL_DIR).iterdir()) == []


def test_arm_refuses_a_directory_without_a_running_stack(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["arm", "--dir", str(tmp_path), "--run", "s1", "wrong-image-tag"]) == 2
    assert f"nothing armed: no reference stack runs in {tmp_path}" in capsys.readouterr().err


@pytest.mark.parametrize("module", ["nautes_refstack.fault_control", "nautes_refstack"])
def test_arm_writes_a_private_file_through_the_command_line(stack_dir: Path, module: str) -> None:
    """Through the control module itself (what tests use: it loads nothing else) and the stack's command."""
    command = [sys.executable, "-m", module]
    subprocess.run([*command, "arm", "--dir", str(stack_dir), "--run", "s1", "ca-secret-missing"], check=True)
    armed = stack_dir / FAULT_CONTROL_DIR / "s1"
    assert armed.read_text() == "ca-secret-missing\n"
    assert armed.stat().st_mode & 0o777 == 0o600
    assert os.stat(stack_dir / FAULT_CONTROL_DIR).st_mode & 0o777 == 0o700
    subprocess.run([*command, "disarm", "--dir", str(stack_dir), "--run", "s1"], check=True)
    assert not armed.exists()
