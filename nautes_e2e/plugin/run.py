"""The run's state: one :class:`RunState` in ``config.stash``, made when pytest configures, and the
session fixture that hands it to the fixture modules (``fixtures/``)."""

from __future__ import annotations

import sys
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from nautes_e2e.plugin.options import RunOptions
from nautes_e2e.stages import EvidenceStore, ProgressSink, StageRecorder


@dataclass
class RunState:
    """Everything the plugin knows about the run. What happens in it goes to ``recorder``, through its
    methods: stages, facts, the target and the scenario."""

    options: RunOptions
    recorder: StageRecorder
    started: datetime


STATE_KEY = pytest.StashKey[RunState]()


def run_state(config: pytest.Config) -> RunState:
    return config.stash[STATE_KEY]


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Before the other modules' ``pytest_configure``: they all reach the state made here."""
    options = RunOptions.from_config(config)
    recorder = StageRecorder(
        EvidenceStore(options.run_dir), _terminal_line_writer(config), stage_timeout_s=options.stage_timeout_s
    )
    config.stash[STATE_KEY] = RunState(options=options, recorder=recorder, started=datetime.now(UTC))


def pytest_report_header(config: pytest.Config) -> list[str]:
    options = run_state(config).options
    target = options.target if options.target_file is None else f"{options.target} ({options.target_file})"
    return [f"nautes-e2e: target {target}, reports in {options.run_dir}"]


@pytest.fixture(scope="session")
def e2e_run(pytestconfig: pytest.Config) -> RunState:
    """The run's options and recorder, for the fixtures that open the target and describe it."""
    return run_state(pytestconfig)


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
