"""pytest-xdist: a suite's stage chain runs on one worker, and the controller gets every worker's records.

Stages of a suite share one world and need each other's outcomes, so a chain must not be split over
workers. The one mechanism for that: with ``-n``, a run that selects ``suites/`` is scheduled by
:class:`ChainScheduling`, whatever ``--dist`` asks for: xdist's ``LoadScopeScheduling`` with a module and
an instance (:mod:`~nautes_e2e.plugin.instances`) as the unit, so that each instance's chain runs on one
worker, in order, and instances run in parallel. ``xdist_group`` would be xdist's own tool, but pytest-xdist
3.8 cannot tag items on pytest 9.2 (pytest-dev/pytest-xdist#1386, still open; pytest 9.1.1 with xdist 3.8.0
does group), and where it works it renames every test (``test_preflight[physical]@physical``), which the
reports' test ids would carry. The harness's own tests keep xdist's default.

Workers write no reports: each ships its recorder's state on the test reports it sends, and the controller
takes it over, so that the controller's reports are complete.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any, Protocol

import pytest
from xdist.scheduler import LoadScopeScheduling

from nautes_e2e.plugin.instances import instance_in_nodeid
from nautes_e2e.plugin.options import RUN_ID_WORKERINPUT
from nautes_e2e.plugin.run import run_state
from nautes_e2e.plugin.stages import stage_spec
from nautes_e2e.stages import StageRecorder

#: The directory of the stage suites (design §2): each module there is one chain of stages.
SUITES_DIR = "suites"
#: Attribute of a worker's test report that carries the worker recorder's state to the controller.
EXPORT_ATTRIBUTE = "nautes_e2e_recorder"


class _XdistWorkerNode(Protocol):
    """The part of pytest-xdist's ``WorkerController`` the plugin uses (xdist ships no type hints)."""

    config: pytest.Config
    workerinput: dict[str, Any]


def is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """With ``-n``, keep each stage suite's module (of each instance) on one worker, in order."""
    if str(config.getoption("dist", "no")) not in ("load", "loadgroup", "worksteal"):
        return None
    selected = [Path(arg.split("::")[0]).resolve() for arg in config.args]
    suites = config.rootpath / SUITES_DIR
    if not any(path == suites or suites in path.parents for path in selected):
        return None
    return ChainScheduling(config, log)


class ChainScheduling(LoadScopeScheduling):  # type: ignore[misc]  # xdist ships no type hints
    """xdist's scheduling by scope, the scope being a test's module and instance: one chain of stages."""

    def __init__(self, config: pytest.Config, log: Any = None) -> None:
        super().__init__(config, log)
        self.instances = list(run_state(config).instances)

    def _split_scope(self, nodeid: str) -> str:
        """``suites/quickstart/test_quickstart.py[physical]`` for every stage of that module and instance;
        xdist's own scope (the module) in a run of one."""
        name = instance_in_nodeid(nodeid, self.instances)
        if name is None:
            return str(super()._split_scope(nodeid))
        return f"{nodeid.split('::', 1)[0]}[{name}]"


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: _XdistWorkerNode) -> None:
    """Every worker writes evidence into the controller's run folder."""
    node.workerinput[RUN_ID_WORKERINPUT] = run_state(node.config).options.run_id


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """On a worker, attach the recorder's state once the stage plugin has recorded the phase."""
    report = yield
    if is_xdist_worker(item.config) and stage_spec(item) is not None:
        setattr(report, EXPORT_ATTRIBUTE, run_state(item.config).recorder.export())
    return report


def pytest_configure(config: pytest.Config) -> None:
    if not is_xdist_worker(config):
        config.pluginmanager.register(RecordsFromWorkers(run_state(config).recorder), "nautes-e2e-xdist")


class RecordsFromWorkers:
    """On the controller: takes over the state a worker shipped on a test report (the complete, newer
    state of the stages). Without ``-n`` no report carries any, and this does nothing."""

    def __init__(self, recorder: StageRecorder) -> None:
        self.recorder = recorder

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        exported = getattr(report, EXPORT_ATTRIBUTE, None)
        if exported is not None:
            self.recorder.absorb(exported)
