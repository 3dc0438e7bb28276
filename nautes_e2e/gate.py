"""``nautes-e2e gate``: the release gate over a nightly matrix of runs (design §6).

It reads ``report.json`` files — a directory stands for every ``report.json`` below it — and passes (exit 0)
only if, in every report, each required stage passed and the target was a real Nautes rather than the
embedded reference stack (``--allow-simulated`` lifts that). A failing gate exits 1; a report it cannot
trust (unreadable, malformed, an unknown schema version) or no report at all exits 4, naming the file — the
codes of a run (:class:`~nautes_e2e.report.exit_codes.ExitCode`): 1 the world is broken, 4 the inputs are.
It reads report schemas 1 and 2 (2 adds the run's exit code and error, which the gate does not need: a run
stopped by its configuration has a stage in ``error``, and fails the gate by that stage).

A run that was interrupted or stopped by an error (``run.result``, schema 2) fails whatever its stages say:
the stages it names are not all the stages it had to run.

By default the required stages are the ones a report names, so a report is judged by its own scenario; the
teardown stage also counts when it was skipped because the run kept its environment (``--keep-env``).
``--require STAGE`` replaces that list, and a required stage missing from a report fails it.

It prints only run ids, target and stage names and statuses: never a diagnosis, fact or endpoint, although
the reports are already redacted.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nautes_e2e.report.exit_codes import ExitCode
from nautes_e2e.report.model import READABLE_SCHEMA_VERSIONS
from nautes_e2e.stages.model import KEPT_REASON, TEARDOWN_STAGE

STAGE_STATUSES = frozenset({"running", "passed", "failed", "skipped", "error"})
#: Results (schema 2) of a run that did not finish: whatever its stages say, they are not all it had to do.
INCOMPLETE_RESULTS = frozenset({"interrupted", "error"})

EXIT_PASSED = ExitCode.PASSED
EXIT_FAILED = ExitCode.FAILED
#: A report the gate cannot judge, or none at all: the gate's inputs are wrong, as a run's configuration.
EXIT_ERROR = ExitCode.CONFIGURATION_ERROR


class ReportError(Exception):
    """A report the gate cannot judge; the message names the file and what is wrong, never its content."""


@dataclass(frozen=True)
class StageOutcome:
    status: str
    skip_reason: str | None


@dataclass(frozen=True)
class GatedReport:
    """What the gate reads from one ``report.json``."""

    path: Path
    run_id: str
    result: str
    target: str | None
    simulated: bool | None
    stages: Mapping[str, StageOutcome]


@dataclass(frozen=True)
class Verdict:
    report: GatedReport
    problems: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.problems


def run(args: argparse.Namespace) -> int:
    """Judge the reports the parsed command line names (see :func:`add_arguments`); the exit status."""
    paths, errors = _report_paths([Path(argument) for argument in args.reports])
    reports: list[GatedReport] = []
    for path in paths:
        try:
            reports.append(load_report(path))
        except ReportError as error:
            errors.append(str(error))
    verdicts = [judge(report, args.require, allow_simulated=args.allow_simulated) for report in reports]
    for verdict in verdicts:
        print(describe(verdict))
    for message in errors:
        print(f"nautes-e2e gate: error: {message}", file=sys.stderr)
    if errors:
        print(f"gate: error ({len(errors)} of the inputs could not be judged)")
        return EXIT_ERROR
    failed = sum(not verdict.passed for verdict in verdicts)
    if failed:
        print(f"gate: failed ({failed} of {len(verdicts)} report(s) failed)")
        return EXIT_FAILED
    print(f"gate: passed ({len(verdicts)} report(s))")
    return EXIT_PASSED


#: The one-line description of the ``gate`` sub-command.
DESCRIPTION = "Pass only if every report's required stages passed on a real (non-simulated) target."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``gate`` sub-command's arguments, added to the parser :mod:`nautes_e2e.cli` gives it."""
    parser.add_argument(
        "reports", nargs="+", metavar="REPORT", help="a report.json, or a folder searched for report.json"
    )
    parser.add_argument(
        "--require",
        action="append",
        metavar="STAGE",
        help="a stage that must have passed (repeatable); default: every stage a report names",
    )
    parser.add_argument(
        "--allow-simulated",
        action="store_true",
        help="accept runs on a simulated target (the embedded reference stack)",
    )


def _report_paths(arguments: Sequence[Path]) -> tuple[list[Path], list[str]]:
    """The report files the arguments name, and an error for each argument that names none.

    A folder's ``report.json`` files inside some run's ``evidence/`` are not reports: a stage may keep an
    evidence file of that name.
    """
    paths: list[Path] = []
    errors: list[str] = []
    for argument in arguments:
        if argument.is_dir():
            found = sorted(
                path
                for path in argument.rglob("report.json")
                if "evidence" not in path.relative_to(argument).parts[:-1]
            )
            if not found:
                errors.append(f"{argument}: no report.json below this folder")
            paths += found
        elif argument.is_file():
            paths.append(argument)
        else:
            errors.append(f"{argument}: no such file or folder")
    return paths, errors


def load_report(path: Path) -> GatedReport:
    """Read the parts of a report (schema 1 or 2) the gate judges; :class:`ReportError` if it is not one."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ReportError(f"{path}: cannot be read ({type(error).__name__})") from None
    except json.JSONDecodeError as error:
        raise ReportError(f"{path}: not JSON (line {error.lineno}, column {error.colno})") from None
    if not isinstance(document, dict):
        raise ReportError(f"{path}: not a report (a JSON object is expected)")
    version = document.get("schema_version")
    if version not in READABLE_SCHEMA_VERSIONS or isinstance(version, bool):
        readable = " and ".join(map(str, READABLE_SCHEMA_VERSIONS))
        raise ReportError(f"{path}: unknown schema_version {version!r} (this gate reads {readable})")
    run = _field(path, document, "run", dict)
    target = document.get("target")
    if target is not None and not isinstance(target, dict):
        raise ReportError(f"{path}: 'target' is not an object")
    stages: dict[str, StageOutcome] = {}
    for stage in _field(path, document, "stages", list):
        if not isinstance(stage, dict):
            raise ReportError(f"{path}: a stage is not an object")
        name = _field(path, stage, "name", str)
        status = _field(path, stage, "status", str)
        if status not in STAGE_STATUSES:
            raise ReportError(f"{path}: stage {name!r} has an unknown status {status!r}")
        skip_reason = stage.get("skip_reason")
        stages[name] = StageOutcome(status, skip_reason if isinstance(skip_reason, str) else None)
    return GatedReport(
        path=path,
        run_id=_field(path, run, "id", str),
        result=_field(path, run, "result", str),
        target=None if target is None else _field(path, target, "name", str),
        simulated=None if target is None else _field(path, target, "simulated", bool),
        stages=stages,
    )


def _field(path: Path, mapping: Mapping[str, Any], key: str, kind: type[Any]) -> Any:
    value = mapping.get(key)
    if not isinstance(value, kind):
        raise ReportError(f"{path}: {key!r} is missing or not of type {kind.__name__}")
    return value


def judge(report: GatedReport, required: Sequence[str] | None, *, allow_simulated: bool) -> Verdict:
    """The reasons ``report`` fails the gate (none when it passes)."""
    problems: list[str] = []
    if not allow_simulated:
        if report.simulated is None:
            problems.append("target unknown")
        elif report.simulated:
            problems.append("simulated target")
    if report.result in INCOMPLETE_RESULTS:
        problems.append("the run did not finish")
    names = list(required) if required else list(report.stages)
    if not names:
        problems.append("no stages")
    missing = [name for name in names if name not in report.stages]
    not_passed = [
        f"{name} ({report.stages[name].status})"
        for name in names
        if name in report.stages and not _accepted(name, report.stages[name])
    ]
    if not_passed:
        problems.append("not passed: " + ", ".join(not_passed))
    if missing:
        problems.append("missing: " + ", ".join(missing))
    return Verdict(report, tuple(problems))


def _accepted(name: str, outcome: StageOutcome) -> bool:
    if outcome.status == "passed":
        return True
    return name == TEARDOWN_STAGE and outcome.status == "skipped" and outcome.skip_reason == KEPT_REASON


def describe(verdict: Verdict) -> str:
    """One line: verdict, run id, target, the run's own result, and the problems."""
    report = verdict.report
    target = report.target or "unknown target"
    if report.simulated:
        target += " (simulated)"
    line = f"{'PASS' if verdict.passed else 'FAIL'}  {report.run_id}  {target}  run {report.result}"
    if verdict.problems:
        line += "  " + "; ".join(verdict.problems)
    return f"{line}  [{report.path}]"
