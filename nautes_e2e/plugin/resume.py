"""``--from-stage STAGE`` with ``--reuse-env NAME``: resume a scenario on a world an earlier ``--keep-env``
run left up, from STAGE on, with the earlier stages' facts restored from what that run saved
(:mod:`nautes_e2e.stages.saved_facts`, ``stages.json`` in the world's state directory).

The stages before STAGE (in the suite's order) are not run: each is recorded as ``skipped`` with the reason
``restored from <file> (passed in run <id>)`` and its saved facts, which the stages after it read as if it
had just run; the release gate counts it as passed. Refused with exit 4 before anything is touched:
``--from-stage`` without ``--reuse-env``, under ``-n`` or with several instances, a world with no saved
stages, a stage name the suite does not have (the message lists its stages), and a stage before STAGE the
kept run did not pass or whose facts held a secret.

A resumed run leaves the world as it found it, kept: it implies ``--keep-env`` (its teardown is skipped as
under ``--keep-env``; it removes nothing the kept run applied and it did not), and it saves its own stages
for the next resume. ``nautes-e2e world prune --world NAME`` removes the world.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from nautes_e2e.plugin.options import RunOptions
from nautes_e2e.plugin.run import item_state, run_state
from nautes_e2e.plugin.stages import stage_spec
from nautes_e2e.stages import StageRecorder
from nautes_e2e.stages.saved_facts import (
    SAVED_STAGES_FILE,
    SavedStage,
    SavedStages,
    SavedStagesError,
    keep_stages,
    load_saved_stages,
    restored_reason,
)
from nautes_e2e.worlds.state import state_root

#: ``config.getoption`` name of ``--from-stage`` (the option is declared with the others in options.py).
FROM_STAGE_DEST = "nautes_from_stage"


@dataclass
class Resume:
    """The stage to resume from, the kept world's saved stages, and those restored (known once the suite is
    collected)."""

    stage: str
    saved: SavedStages
    restore: dict[str, SavedStage] = field(default_factory=dict)


RESUME_KEY = pytest.StashKey[Resume | None]()


def pytest_configure(config: pytest.Config) -> None:
    """Check the option against ``--reuse-env`` and read the world's saved stages before anything starts
    (run.py's configure, which resolves the options, runs first)."""
    stage = config.getoption(FROM_STAGE_DEST, None)
    config.stash[RESUME_KEY] = None
    if stage is None:
        return
    state = run_state(config)
    world = state.options.reuse_env
    if world is None:
        raise pytest.UsageError(
            f"--from-stage {stage} resumes a kept world: give it with --reuse-env NAME (the world an earlier "
            "--keep-env run left up)"
        )
    if not hasattr(config, "workerinput") and getattr(config.option, "numprocesses", None):
        # The suite's stages are known only where it is collected: on an xdist worker, too late to refuse.
        raise pytest.UsageError(f"--from-stage {stage} resumes one stage chain: run it without -n")
    if state.instances:
        raise pytest.UsageError(
            f"--from-stage {stage} resumes the one stage chain a kept world holds, not a run of instances "
            f"({', '.join(state.instances)})"
        )
    try:
        saved = load_saved_stages(state_root(os.environ) / world / SAVED_STAGES_FILE)
    except SavedStagesError as error:
        raise pytest.UsageError(f"--from-stage {stage} --reuse-env {world}: {error}") from None
    state.options = replace(state.options, keep_env=True)
    config.stash[RESUME_KEY] = Resume(stage, saved)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Once the suite's stages are known: STAGE is one of them, and every stage before it can be restored."""
    resume = config.stash.get(RESUME_KEY, None)
    if resume is None:
        return
    names = list(dict.fromkeys(spec.name for item in items if (spec := stage_spec(item)) is not None))
    if resume.stage not in names:
        raise pytest.UsageError(
            f"--from-stage {resume.stage}: the suite has no such stage; its stages are {', '.join(names)}"
        )
    try:
        restored = resume.saved.restorable(names[: names.index(resume.stage)])
    except SavedStagesError as error:
        raise pytest.UsageError(f"--from-stage {resume.stage}: {error}") from None
    resume.restore = {stage.name: stage for stage in restored}


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """A stage before STAGE takes its saved facts and is skipped as restored, before any fixture starts
    (the stage plugin has begun its record and found it unblocked: a restored need counts as passed)."""
    resume = item.config.stash.get(RESUME_KEY, None)
    spec = stage_spec(item)
    if resume is None or spec is None or spec.name not in resume.restore:
        return
    saved = resume.restore[spec.name]
    context = item_state(item).recorder.context(spec.name)
    for key, value in saved.facts.items():
        context.fact(key, value)
    pytest.skip(restored_reason(resume.saved.path, saved))


@dataclass(frozen=True)
class KeptWorld:
    """A world that outlives the run (kept or reused), its state directory, and the run on it."""

    state_directory: Path
    recorder: StageRecorder
    options: RunOptions


KEPT_WORLDS_KEY = pytest.StashKey[list[KeptWorld]]()


def remember_kept_world(
    config: pytest.Config, state_directory: Path, recorder: StageRecorder, options: RunOptions
) -> None:
    """Say (from the ``world`` fixture, once the target stopped) that the world outlives the run: its
    stages are saved there when the session ends, when the last stage's outcome is known."""
    config.stash.setdefault(KEPT_WORLDS_KEY, []).append(KeptWorld(state_directory, recorder, options))


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Save the stages of each run whose world is still kept (``--keep-env``); forget the saved stages of a
    world whose run removed what it applied."""
    for kept in session.config.stash.get(KEPT_WORLDS_KEY, []):
        records = kept.recorder.records.values()
        keep_stages(kept.state_directory, records, kept.options.run_id, kept.options.keep_env)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """``SKIPPED ... restored from ...`` points at the stage's test, as a blocked stage's skip does, not at
    this plugin."""
    report = yield
    resume = item.config.stash.get(RESUME_KEY, None)
    spec = stage_spec(item)
    if resume is not None and spec is not None and spec.name in resume.restore and report.skipped:
        path, line, _ = item.reportinfo()
        reason = restored_reason(resume.saved.path, resume.restore[spec.name])
        report.longrepr = (str(path), (line or 0) + 1, f"Skipped: {reason}")
    return report
