"""Whatever stops a run, nothing is left behind and the reports say so.

SIGTERM (a cancelled CI job, ``timeout``, ``kill``), SIGHUP (a closed terminal) and SIGINT (Ctrl-C) stop the
stage where it is; the teardown stage still removes what the run applied and proves it gone, the world is
stopped, ``report.json`` says the run was interrupted and by what, and the exit status is 2. A signal during
the teardown lets it finish; a second signal stops at once, still leaving no process. A run killed with
SIGKILL cannot clean up: its stack stops by itself and the next run sweeps the world directory it left.

The first tests drive a small stage suite (no world) to pin the plugin's behaviour, also under
pytest-xdist; the others drive the real quickstart on the local target, and one drives it against a
standalone stack (``--target existing``) and checks that nothing the run applied is left in the world.
Every signal goes to the run's whole process group, the way a CI runner stops a job.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gitlab
import hvac
import pytest
import requests

from nautes_e2e.targets.processes import Process
from nautes_e2e.targets.workdir import sweep_orphaned
from tests.support.quickstart import (
    QuickstartRun,
    StartedQuickstart,
    listeners,
    pids_of_run,
    processes_of_run,
    start_quickstart,
    still_listening,
    world_directories,
)

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="processes and ports are read from /proc")

# -- the plugin, on a small suite --------------------------------------------------------------------------

CONFTEST = """
import os
import time
from pathlib import Path

import pytest

from nautes_e2e.plugin.run import run_state
from nautes_e2e.plugin.signals import interrupts

LOG = Path(os.environ["SIGNALS_LOG"])


def log(line):
    with LOG.open("a") as file:
        file.write(line + "\\n")


@pytest.fixture(scope="session")
def world(pytestconfig):
    yield
    with interrupts(pytestconfig).closing():
        with run_state(pytestconfig).recorder.stage("teardown") as stage:
            log("teardown begins")
            time.sleep(float(os.environ["TEARDOWN_S"]))
            stage.fact("removed", 1)
            log("teardown ends")
"""
SUITE = """
import os

import pytest

from nautes_e2e.stages import Observation


@pytest.mark.stage("first")
def test_first(stage, world):
    stage.fact("first", True)


@pytest.mark.stage("waits", needs=("first",))
def test_waits(stage, world):
    from conftest import log

    log("waiting")
    if float(os.environ["WAIT_S"]):
        stage.wait_for("a state that never comes", lambda: Observation(done=False, state="not yet"))
"""
#: Long enough that only a signal ends the wait or the teardown.
FOREVER_S = "120"


@dataclass
class SuiteRun:
    process: subprocess.Popen[bytes]
    directory: Path

    def log(self) -> list[str]:
        path = self.directory / "signals.log"
        return path.read_text().splitlines() if path.exists() else []

    def wait_for_line(self, line: str) -> None:
        deadline = time.monotonic() + 60
        while line not in self.log():
            assert self.process.poll() is None, f"the run ended before {line!r}:\n{self.output()}"
            assert time.monotonic() < deadline, f"no {line!r} within 60 s:\n{self.output()}"
            time.sleep(0.02)

    def output(self) -> str:
        return (self.directory / "output.txt").read_text(errors="replace")

    def finish(self) -> int:
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            raise AssertionError(f"the run did not end within 60 s of the signal:\n{self.output()}") from None

    def report(self) -> dict[str, Any]:
        path = self.directory / "reports" / "r" / "report.json"
        assert path.is_file(), f"no report.json:\n{self.output()}"
        report: dict[str, Any] = json.loads(path.read_text())
        return report

    def stages(self) -> dict[str, dict[str, Any]]:
        return {stage["name"]: stage for stage in self.report()["stages"]}


def start_suite(tmp_path: Path, *arguments: str, wait_s: str = FOREVER_S, teardown_s: str = "0") -> SuiteRun:
    """``pytest suites`` in ``tmp_path``, a stage suite of its own, as CI runs the quickstart."""
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "suites").mkdir()
    (tmp_path / "suites" / "test_suite.py").write_text(SUITE)
    environ = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    environ |= {"SIGNALS_LOG": str(tmp_path / "signals.log"), "WAIT_S": wait_s, "TEARDOWN_S": teardown_s}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path)]
    command += [
        "--reports-dir",
        "reports",
        "--run-id",
        "r",
        "--stage-timeout",
        FOREVER_S,
        "suites",
        *arguments,
    ]
    with (tmp_path / "output.txt").open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=tmp_path,
            env=environ,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return SuiteRun(process, tmp_path)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=lambda s: s.name)
def test_a_signal_stops_the_stage_then_the_teardown_runs_and_the_reports_say_by_what(
    tmp_path: Path, signum: signal.Signals
) -> None:
    run = start_suite(tmp_path)
    run.wait_for_line("waiting")
    time.sleep(0.3)  # the stage has waited this long at least

    os.killpg(run.process.pid, signum)

    assert run.finish() == pytest.ExitCode.INTERRUPTED
    assert run.log().count("teardown ends") == 1
    stages = run.stages()
    assert stages["waits"]["status"] == "error"
    assert stages["waits"]["diagnosis"] == f"interrupted by {signum.name} before the stage finished"
    assert stages["waits"]["duration_s"] >= 0.3, "an interrupted stage keeps the time it ran"
    assert stages["teardown"]["status"] == "passed"
    assert run.report()["run"]["result"] == "interrupted"
    assert run.report()["run"]["exit_code"] == pytest.ExitCode.INTERRUPTED


def test_a_signal_during_the_teardown_lets_it_finish(tmp_path: Path) -> None:
    run = start_suite(tmp_path, wait_s="0", teardown_s="1")
    run.wait_for_line("teardown begins")

    os.killpg(run.process.pid, signal.SIGTERM)

    assert run.finish() == pytest.ExitCode.INTERRUPTED
    assert run.log()[-1] == "teardown ends"
    stages = run.stages()
    assert {name: stage["status"] for name, stage in stages.items()} == {
        "first": "passed",
        "waits": "passed",
        "teardown": "passed",
    }
    assert stages["teardown"]["facts"] == {"removed": 1}
    assert run.report()["run"]["result"] == "interrupted"
    assert "the run is closing; it finishes that" in run.output()


def test_a_second_signal_stops_at_once_and_the_reports_are_still_written(tmp_path: Path) -> None:
    run = start_suite(tmp_path, wait_s="0", teardown_s=FOREVER_S)
    run.wait_for_line("teardown begins")
    os.killpg(run.process.pid, signal.SIGTERM)
    time.sleep(0.3)

    os.killpg(run.process.pid, signal.SIGTERM)

    assert run.finish() == pytest.ExitCode.INTERRUPTED
    assert "teardown ends" not in run.log()
    teardown = run.stages()["teardown"]
    assert (teardown["status"], teardown["diagnosis"]) == (
        "error",
        "interrupted by SIGTERM before the stage finished",
    )
    assert "SIGTERM again: stopping at once" in run.output()


@pytest.mark.parametrize("to_the_group", [True, False], ids=["process-group", "controller-only"])
def test_under_xdist_each_worker_is_interrupted_once_and_its_final_records_reach_the_report(
    tmp_path: Path, to_the_group: bool
) -> None:
    run = start_suite(tmp_path, "-n", "2", "--dist", "loadfile")
    run.wait_for_line("waiting")
    time.sleep(0.3)

    if to_the_group:
        os.killpg(run.process.pid, signal.SIGTERM)
    else:
        os.kill(run.process.pid, signal.SIGTERM)

    assert run.finish() == pytest.ExitCode.INTERRUPTED
    assert run.log().count("teardown begins") == 1
    assert run.log().count("teardown ends") == 1, "a worker interrupted twice would not finish its teardown"
    stages = run.stages()
    assert stages["waits"]["diagnosis"] == "interrupted by SIGTERM before the stage finished"
    assert stages["waits"]["duration_s"] >= 0.3
    # The teardown runs after the worker's last test report: its record comes with the worker's end.
    assert stages["teardown"]["status"] == "passed"
    assert "replacing crashed worker" not in run.output()


# -- the quickstart on the local target --------------------------------------------------------------------


def wait_gone(run: QuickstartRun, within_s: float = 20.0) -> list[str]:
    """The run's processes still alive after ``within_s`` at most (a stack whose parent was killed notices
    within a second and then stops; exited processes take a moment to be reaped)."""
    deadline = time.monotonic() + within_s
    while (left := processes_of_run(run)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def result_of(run: QuickstartRun) -> dict[str, Any]:
    report: dict[str, Any] = json.loads((run.work_dir / "reports" / "run" / "report.json").read_text())
    return dict(report["run"])


def ports_of(started: StartedQuickstart) -> dict[int, Process]:
    return listeners(pids_of_run(started))


def in_bring_up(started: StartedQuickstart) -> bool:
    """The stack has been started and is not ready yet."""
    return any((world / "refstack.log").exists() for world in world_directories(started.work_dir))


def in_a_stage(started: StartedQuickstart) -> bool:
    """``initialise_product`` has begun: the stack answered its first save, the Product (the stage then
    still saves the rest and waits for the runtime's namespace, hook and Sensors, so a signal now lands
    inside it). Read from the stack's log, not the stage's progress lines: under ``-n`` those stay on the
    worker."""
    logs = (world / "stack" / "logs" / "refstack.log" for world in world_directories(started.work_dir))
    return any(
        "POST /api/v1/products/{product_name} ->" in log.read_text(errors="replace")
        for log in logs
        if log.exists()
    )


def in_the_teardown(started: StartedQuickstart) -> bool:
    return "[teardown " in started.output()


POINTS = {"bring-up": in_bring_up, "mid-stage": in_a_stage, "teardown": in_the_teardown}
#: The stage each point interrupts, and the status it ends with.
INTERRUPTED = {"bring-up": ("preflight", "error"), "mid-stage": ("initialise_product", "error")}


@pytest.mark.parametrize("point", POINTS)
def test_sigterm_leaves_no_process_port_or_world_directory_and_a_report_that_says_so(
    tmp_path: Path, point: str
) -> None:
    started = start_quickstart(tmp_path, {})
    started.wait_until(lambda: POINTS[point](started), point)
    ports = ports_of(started)

    started.signal(signal.SIGTERM)
    run = started.finish()

    assert run.returncode == pytest.ExitCode.INTERRUPTED, run.tail()
    assert wait_gone(run) == []
    assert still_listening(ports) == {}
    assert world_directories(tmp_path) == []
    assert result_of(run)["result"] == "interrupted"
    stages = run.stages
    if point in INTERRUPTED:
        name, status = INTERRUPTED[point]
        assert (stages[name]["status"], stages[name]["diagnosis"]) == (
            status,
            "interrupted by SIGTERM before the stage finished",
        )
    if "teardown" in stages:
        assert stages["teardown"]["status"] == "passed", "the teardown ran to the end all the same"
        assert "run interrupted by SIGTERM: the teardown ran all the same" in stages["teardown"]["notes"]


def test_a_second_sigterm_stops_at_once_and_still_leaves_nothing(tmp_path: Path) -> None:
    started = start_quickstart(tmp_path, {})
    started.wait_until(lambda: in_a_stage(started), "initialise_product")
    started.signal(signal.SIGTERM)
    started.wait_until(lambda: in_the_teardown(started), "the teardown")
    ports = ports_of(started)

    started.signal(signal.SIGTERM)
    run = started.finish()

    assert run.returncode == pytest.ExitCode.INTERRUPTED, run.tail()
    assert wait_gone(run) == []
    assert still_listening(ports) == {}
    assert world_directories(tmp_path) == []
    assert run.stages["teardown"]["status"] == "error"


def test_under_xdist_sigterm_to_the_group_interrupts_the_quickstart_once(tmp_path: Path) -> None:
    started = start_quickstart(tmp_path, {}, "-n", "2")
    started.wait_until(lambda: in_a_stage(started), "initialise_product")
    ports = ports_of(started)

    started.signal(signal.SIGTERM)
    run = started.finish()

    assert run.returncode == pytest.ExitCode.INTERRUPTED, run.tail()
    assert wait_gone(run) == []
    assert still_listening(ports) == {}
    assert world_directories(tmp_path) == []
    stages = run.stages
    assert stages["initialise_product"]["diagnosis"] == "interrupted by SIGTERM before the stage finished"
    assert stages["teardown"]["status"] == "passed", stages["teardown"]["diagnosis"]


def test_after_sigkill_the_stack_stops_by_itself_and_the_next_run_sweeps_the_world_directory(
    tmp_path: Path,
) -> None:
    started = start_quickstart(tmp_path, {})
    started.wait_until(lambda: in_a_stage(started), "initialise_product")
    ports = ports_of(started)
    assert ports, "the stack listens while the run goes on"

    started.signal(signal.SIGKILL)
    run = started.finish()

    assert run.returncode == -signal.SIGKILL
    assert wait_gone(run) == [], "the stack outlived the run that started it"
    assert still_listening(ports) == {}
    left = world_directories(tmp_path)
    assert len(left) == 1, "a killed run cannot remove its world directory: the next run does"
    assert sweep_orphaned(tmp_path / "tmp") == left
    assert world_directories(tmp_path) == []


# -- the quickstart against a standalone stack -------------------------------------------------------------

PRODUCT = "demo-quickstart"
CLUSTER = "physical-worker-quickstart"


@dataclass
class Standalone:
    directory: Path
    environ: dict[str, str]
    target: dict[str, Any]


@pytest.fixture
def standalone(tmp_path: Path) -> Iterator[Standalone]:
    import yaml

    directory = tmp_path / "world"
    stack = subprocess.Popen(
        [sys.executable, "-m", "nautes_refstack", "up", "--dir", str(directory)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (directory / "ready").exists():
            assert stack.poll() is None, f"the stack exited with {stack.returncode}"
            assert time.monotonic() < deadline, "the stack was not ready within 60 s"
            time.sleep(0.05)
        credentials = dict(
            line.split("=", 1) for line in (directory / "credentials.env").read_text().splitlines() if line
        )
        yield Standalone(
            directory=directory,
            environ=credentials,
            target=yaml.safe_load((directory / "target.yaml").read_text()),
        )
    finally:
        os.killpg(stack.pid, signal.SIGTERM)
        stack.wait(timeout=30)


def left_in_the_world(world: Standalone) -> list[str]:
    """What of the run is still in the world, asked with the users' own tools: the Nautes API for the
    cluster registration and the product, python-gitlab for the group, hvac for Vault's secrets."""
    left: list[str] = []
    token = world.environ["NAUTES_E2E_GITLAB_TOKEN"]
    nautes = world.target["nautes"]["url"]
    headers = {"Authorization": f"Bearer {token}"}
    if requests.get(f"{nautes}/api/v1/clusters/{CLUSTER}", headers=headers, timeout=30).status_code == 200:
        left.append(f"cluster registration {CLUSTER}")
    if requests.get(f"{nautes}/api/v1/products/{PRODUCT}", headers=headers, timeout=30).status_code == 200:
        left.append(f"product {PRODUCT}")
    client = gitlab.Gitlab(world.target["gitlab"]["url"], private_token=token)
    left += [f"GitLab group {group.full_path}" for group in client.groups.list(search=PRODUCT, get_all=True)]
    vault = hvac.Client(url=world.target["vault"]["url"], token=world.environ["NAUTES_E2E_VAULT_TOKEN"])
    for mount, path in (("cluster", f"kubernetes/{CLUSTER}"), ("git", "gitlab")):
        try:
            keys = vault.secrets.kv.v2.list_secrets(path=path, mount_point=mount)["data"]["keys"]
        except hvac.exceptions.InvalidPath:
            continue
        left += [f"Vault secret {mount}/{path}/{key}" for key in keys]
    return left


def test_sigint_mid_apply_on_an_existing_world_leaves_nothing_the_report_does_not_name(
    tmp_path: Path, standalone: Standalone
) -> None:
    """Ctrl-C while ``initialise_product`` saves the product's documents: the one being saved may or may
    not have landed. The teardown removes everything, and the world is as before the run."""
    assert left_in_the_world(standalone) == []
    target_file = str(standalone.directory / "target.yaml")
    started = start_quickstart(
        tmp_path / "run", standalone.environ, "--target", "existing", "--target-file", target_file
    )
    client = gitlab.Gitlab(
        standalone.target["gitlab"]["url"], private_token=standalone.environ["NAUTES_E2E_GITLAB_TOKEN"]
    )
    # The product's group exists once the Product is saved: the Project and CodeRepos come next.
    started.wait_until(lambda: bool(client.groups.list(search=PRODUCT)), "the product's GitLab group")

    started.signal(signal.SIGINT)
    run = started.finish()

    assert run.returncode == pytest.ExitCode.INTERRUPTED, run.tail()
    stages = run.stages
    assert stages["initialise_product"]["diagnosis"] == "interrupted by SIGINT before the stage finished"
    teardown = stages["teardown"]
    assert teardown["status"] == "passed", teardown["diagnosis"]
    assert left_in_the_world(standalone) == []
    assert processes_of_run(run) == []
