"""The run's state: one :class:`RunState` in ``config.stash``, made when pytest configures, and the
session fixtures that hand it to the fixture modules (``fixtures/``).

A run with scenario instances (:mod:`~nautes_e2e.plugin.instances`) holds one :class:`RunState` per
instance besides its own: every test of the run is parametrized with the session-scoped ``instance``
fixture (pytest then runs each instance's items together, and makes the session fixtures that depend on
``instance`` again for each), and ``e2e_run`` is the state of the test's instance, so that every fixture
reading the suffix, cluster type, scenario or recorder reads its instance's. The run's own recorder is then
an :class:`InstanceRecorders`: it records nothing itself, and carries the instances' records between an
xdist worker and its controller.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from nautes_e2e.plugin.options import RunOptions
from nautes_e2e.stages import EvidenceStore, ProgressSink, StageRecorder

#: The fixture every test is parametrized with in a run with instances; its param is the instance's name.
INSTANCE_FIXTURE = "instance"


@dataclass
class RunState:
    """Everything the plugin knows about the run. What happens in it goes to ``recorder``, through its
    methods: stages, facts, the target and the scenario."""

    options: RunOptions
    recorder: StageRecorder
    started: datetime
    #: The instances' own states by name, in the run's order; empty for a run of one.
    instances: dict[str, RunState] = field(default_factory=dict)


class InstanceRecorders(StageRecorder):
    """The recorder of a run with instances: the stages are recorded by each instance's recorder; this one
    passes an interrupt on to them all and exports and absorbs them all, so that what carries a recorder's
    state from an xdist worker to its controller (a test report, the worker's end) carries the instances'."""

    def __init__(
        self, recorders: Mapping[str, StageRecorder], evidence: EvidenceStore, sink: ProgressSink
    ) -> None:
        super().__init__(evidence, sink)
        self.instances = dict(recorders)

    def interrupt(self, cause: str) -> None:
        super().interrupt(cause)
        for recorder in self.instances.values():
            recorder.interrupt(cause)

    def export(self) -> dict[str, Any]:
        """The instances that recorded anything here (on a worker: the ones it ran)."""
        exported = super().export()
        exported["instances"] = {
            name: recorder.export()
            for name, recorder in self.instances.items()
            if recorder.records or recorder.facts
        }
        return exported

    def absorb(self, exported: Mapping[str, Any]) -> None:
        super().absorb(exported)
        for name, state in exported.get("instances", {}).items():
            self.instances[name].absorb(state)


STATE_KEY = pytest.StashKey[RunState]()


def run_state(config: pytest.Config) -> RunState:
    return config.stash[STATE_KEY]


def instance_name(item: pytest.Item) -> str | None:
    """The instance a test runs as (its ``instance`` param), or ``None`` in a run of one."""
    callspec = getattr(item, "callspec", None)
    name = callspec.params.get(INSTANCE_FIXTURE) if callspec is not None else None
    return name if isinstance(name, str) else None


def item_state(item: pytest.Item) -> RunState:
    """The state of the instance ``item`` runs as: the run's own in a run of one."""
    state = run_state(item.config)
    name = instance_name(item)
    return state if name is None else state.instances[name]


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Before the other modules' ``pytest_configure``: they all reach the state made here."""
    options = RunOptions.from_config(config)
    started = datetime.now(UTC)
    write = _terminal_line_writer(config)
    instances = {
        instance.name: _instance_state(options.for_instance(instance), write, started)
        for instance in options.instances
    }
    evidence = EvidenceStore(options.run_dir)
    recorder = (
        InstanceRecorders({name: state.recorder for name, state in instances.items()}, evidence, write)
        if instances
        else StageRecorder(evidence, write, stage_timeout_s=options.stage_timeout_s)
    )
    config.stash[STATE_KEY] = RunState(
        options=options, recorder=recorder, started=started, instances=instances
    )


def pytest_report_header(config: pytest.Config) -> list[str]:
    options = run_state(config).options
    target = options.target if options.target_file is None else f"{options.target} ({options.target_file})"
    lines = [f"nautes-e2e: target {target}, reports in {options.run_root}"]
    lines += [f"nautes-e2e: instances {', '.join(run_state(config).instances)}"] if options.instances else []
    return lines


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """In a run with instances, every test runs once per instance: parametrized with the session fixture
    ``instance`` (its id first in the test's id, ``test_preflight[physical]``), so that each instance is one
    chain of the stages, its session fixtures made for it alone. Every test, not only those marked as
    stages where they are defined: a stage may be marked on a parametrized case (``pytest.param(...,
    marks=...)``), which is known only once the test is parametrized."""
    names = list(run_state(metafunc.config).instances)
    if not names:
        return
    if INSTANCE_FIXTURE not in metafunc.fixturenames:
        metafunc.fixturenames.append(INSTANCE_FIXTURE)
    metafunc.parametrize(INSTANCE_FIXTURE, names, indirect=True, ids=names, scope="session")


@pytest.fixture(scope="session")
def instance(request: pytest.FixtureRequest) -> str | None:
    """The name of the instance the session's stages run as now; ``None`` in a run of one."""
    name = getattr(request, "param", None)
    return name if isinstance(name, str) else None


@pytest.fixture(scope="session")
def e2e_run(pytestconfig: pytest.Config, instance: str | None) -> RunState:
    """The options and recorder of the run (in a run with instances, of the instance the stages run as),
    for the fixtures that open the target and describe it."""
    state = run_state(pytestconfig)
    return state if instance is None else state.instances[instance]


def _instance_state(options: RunOptions, write: ProgressSink, started: datetime) -> RunState:
    """An instance's state: its options, and a recorder whose progress lines say whose they are (instances
    interleave on one terminal)."""
    name = options.instance
    recorder = StageRecorder(
        EvidenceStore(options.run_dir),
        lambda line: write(f"[{name}] {line}"),
        stage_timeout_s=options.stage_timeout_s,
    )
    return RunState(options=options, recorder=recorder, started=started)


def _terminal_line_writer(config: pytest.Config) -> ProgressSink:
    """Progress lines reach the terminal at once: capturing is suspended for the line, as pytest's own
    live logging does."""

    def write(line: str) -> None:
        capture = config.pluginmanager.get_plugin("capturemanager")
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        with capture.global_and_fixture_disabled() if capture is not None else nullcontext():
            if reporter is not None:
                reporter.write_line(line)
            else:
                print(line, file=sys.stderr, flush=True)

    return write
