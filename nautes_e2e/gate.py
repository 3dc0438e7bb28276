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
teardown stage also counts when it was skipped because the run kept its environment (``--keep-env``), and
a stage counts when a resumed run (``--from-stage``) restored it from a kept run in which it passed
(``restored from ...``, :mod:`nautes_e2e.stages.saved_facts`). ``--require STAGE`` replaces that list, and a
required stage missing from a report fails it.

Each report stands for one instance of a matrix: named by the report (``instance``), else by its folder
under ``instances/`` (a matrix run's layout), else by its run id. A matrix run's index (``matrix.json``,
found in a folder or given itself) must be whole: an instance it lists without a report (never run, or its
report lost) fails the gate by name, and an index that cannot be read is an error (4).

After one verdict line per instance the gate prints the instance-by-stage grid
(:mod:`nautes_e2e.report.matrix`), and writes it with the verdicts as Markdown to ``--summary PATH``
(default: ``gate-summary.md`` in the folder, when the gate is given one folder; not ``summary.md``, which a
matrix run writes there itself, with diagnoses).

It prints only instance names, run ids, target and stage names and statuses: never a diagnosis, fact or
endpoint, although the reports are already redacted.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from nautes_e2e.report.exit_codes import ExitCode
from nautes_e2e.report.matrix import InstanceColumn, StageCell, grid_markdown, grid_text
from nautes_e2e.report.model import READABLE_SCHEMA_VERSIONS
from nautes_e2e.stages.model import KEPT_REASON, TEARDOWN_STAGE
from nautes_e2e.stages.saved_facts import RESTORED_PREFIX

STAGE_STATUSES = frozenset({"running", "passed", "failed", "skipped", "error"})
#: Results (schema 2) of a run that did not finish: whatever its stages say, they are not all it had to do.
INCOMPLETE_RESULTS = frozenset({"interrupted", "error"})

EXIT_PASSED = ExitCode.PASSED
EXIT_FAILED = ExitCode.FAILED
#: A report the gate cannot judge, or none at all: the gate's inputs are wrong, as a run's configuration.
EXIT_ERROR = ExitCode.CONFIGURATION_ERROR
#: Where the gate writes its Markdown summary when given one folder and no ``--summary``.
DEFAULT_SUMMARY = "gate-summary.md"
#: The folder a matrix run keeps each instance's reports in: ``instances/<name>/report.json``.
INSTANCES_FOLDER = "instances"
#: A matrix run's index of its instances, beside ``instances/``: every instance it lists must have passed.
MATRIX_INDEX = "matrix.json"


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
    #: The instance the report stands for (its run id for a plain run).
    name: str
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
    paths, indexes, errors = _report_paths([Path(argument) for argument in args.reports])
    unreported: list[Verdict] = []
    for index in indexes:
        try:
            listed, missing = read_matrix_index(index)
        except ReportError as error:
            errors.append(str(error))
            continue
        paths += [path for path in listed if path.resolve() not in {known.resolve() for known in paths}]
        unreported += missing
    reports: list[GatedReport] = []
    for path in paths:
        try:
            reports.append(load_report(path))
        except ReportError as error:
            errors.append(str(error))
    reports = _distinct_names(reports)
    verdicts = [judge(report, args.require, allow_simulated=args.allow_simulated) for report in reports]
    verdicts += unreported
    for verdict in verdicts:
        print(describe(verdict))
    columns = [_column(verdict) for verdict in verdicts]
    if columns:
        print()
        print("\n".join(grid_text(columns, result_label="gate")))
    for message in errors:
        print(f"nautes-e2e gate: error: {message}", file=sys.stderr)
    failed = [verdict.report.name for verdict in verdicts if not verdict.passed]
    if errors:
        code, conclusion = EXIT_ERROR, f"gate: error ({len(errors)} of the inputs could not be judged)"
    elif failed:
        code = EXIT_FAILED
        conclusion = f"gate: failed ({len(failed)} of {len(verdicts)} report(s) failed: {', '.join(failed)})"
    else:
        code, conclusion = EXIT_PASSED, f"gate: passed ({len(verdicts)} report(s))"
    summary = _summary_path(args)
    if summary is not None:
        _write_summary(summary, verdicts, columns, errors, conclusion)
    print(conclusion)
    return code


#: The one-line description of the ``gate`` sub-command.
DESCRIPTION = "Pass only if every report's required stages passed on a real (non-simulated) target."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``gate`` sub-command's arguments, added to the parser :mod:`nautes_e2e.cli` gives it."""
    parser.add_argument(
        "reports",
        nargs="+",
        metavar="REPORT",
        help="a report.json, a matrix run's matrix.json, or a folder searched for both",
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
    parser.add_argument(
        "--summary",
        type=Path,
        metavar="PATH",
        help="write the verdicts and the instance-by-stage grid as Markdown to PATH (e.g. "
        f"$GITHUB_STEP_SUMMARY); default: {DEFAULT_SUMMARY} in the folder when given one folder",
    )


def _distinct_names(reports: Sequence[GatedReport]) -> list[GatedReport]:
    """Reports that share a name (two plain runs with one run id, or matrices with the same instance names)
    are told apart by their folder."""
    counts = Counter(report.name for report in reports)
    return [
        replace(report, name=report.path.parent.as_posix()) if counts[report.name] > 1 else report
        for report in reports
    ]


def _summary_path(args: argparse.Namespace) -> Path | None:
    summary: Path | None = args.summary
    if summary is None and len(args.reports) == 1 and Path(args.reports[0]).is_dir():
        summary = Path(args.reports[0]) / DEFAULT_SUMMARY
    return summary


def _column(verdict: Verdict) -> InstanceColumn:
    """The report as a column of the grid, its result the gate's verdict; an accepted skip reads as what it
    stands for (``kept``, ``restored``)."""
    report = verdict.report
    cells = {}
    for name, outcome in report.stages.items():
        status = outcome.status
        if status == "skipped" and _accepted(name, outcome):
            status = "kept" if outcome.skip_reason == KEPT_REASON else "restored"
        cells[name] = StageCell(status)
    return InstanceColumn(report.name, "PASS" if verdict.passed else "FAIL", cells, report.path)


def _write_summary(
    path: Path,
    verdicts: Sequence[Verdict],
    columns: Sequence[InstanceColumn],
    errors: Sequence[str],
    conclusion: str,
) -> None:
    """The gate's Markdown summary: the conclusion, each instance's verdict and problems, the grid, and the
    inputs that could not be judged (named by path only)."""
    lines = [f"## nautes-e2e {conclusion}", ""]
    for verdict in verdicts:
        problems = "; ".join(verdict.problems) or "every required stage passed"
        mark = "PASS" if verdict.passed else "FAIL"
        report = verdict.report
        lines.append(f"- {mark} **{report.name}** (run `{report.run_id}`): {problems}")
    if columns:
        lines += ["", *grid_markdown(columns, result_label="gate")]
    if errors:
        lines += ["", "### Inputs that could not be judged", "", *(f"- {message}" for message in errors)]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    except OSError as error:
        print(f"nautes-e2e gate: error: {path}: cannot write the summary ({error.strerror})", file=sys.stderr)


def _report_paths(arguments: Sequence[Path]) -> tuple[list[Path], list[Path], list[str]]:
    """The report files and the matrix runs' indexes (``matrix.json``) the arguments name, and an error for
    each argument that names none.

    A folder's ``report.json`` files inside some run's ``evidence/`` are not reports: a stage may keep an
    evidence file of that name.
    """
    paths: list[Path] = []
    indexes: list[Path] = []
    errors: list[str] = []
    for argument in arguments:
        if argument.is_dir():
            found = {name: _below(argument, name) for name in ("report.json", MATRIX_INDEX)}
            if not any(found.values()):
                errors.append(f"{argument}: no report.json below this folder")
            paths += found["report.json"]
            indexes += found[MATRIX_INDEX]
        elif argument.is_file():
            (indexes if argument.name == MATRIX_INDEX else paths).append(argument)
        else:
            errors.append(f"{argument}: no such file or folder")
    return paths, indexes, errors


def _below(folder: Path, name: str) -> list[Path]:
    """The files called ``name`` below ``folder``, outside any ``evidence/``."""
    found = folder.rglob(name)
    return sorted(path for path in found if "evidence" not in path.relative_to(folder).parts[:-1])


def _json_object(path: Path, what: str) -> dict[str, Any]:
    """The JSON object in ``path``; :class:`ReportError` naming the file (never its content) otherwise."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ReportError(f"{path}: cannot be read ({type(error).__name__})") from None
    except json.JSONDecodeError as error:
        raise ReportError(f"{path}: not JSON (line {error.lineno}, column {error.colno})") from None
    if not isinstance(document, dict):
        raise ReportError(f"{path}: not {what} (a JSON object is expected)")
    return document


def read_matrix_index(index: Path) -> tuple[list[Path], list[Verdict]]:
    """The reports a matrix run's ``matrix.json`` lists, and a failing verdict for each instance it lists
    without a report (not run, or its report lost): a matrix passes only whole. :class:`ReportError` when
    the index cannot be read."""
    document = _json_object(index, "a matrix index")
    run_id = str(_field(index, _field(index, document, "run", dict), "id", str))
    listed: list[Path] = []
    missing: list[Verdict] = []
    for entry in _field(index, document, "instances", list):
        if not isinstance(entry, dict):
            raise ReportError(f"{index}: an instance is not an object")
        name = _field(index, entry, "name", str)
        report = entry.get("report")
        path = index.parent / report if isinstance(report, str) else None
        if path is not None and path.is_file():
            listed.append(path)
            continue
        result = str(entry.get("result"))
        problem = f"no report ({'not run' if path is None else f'{report} is missing'}, result {result})"
        stand_in = GatedReport(index, name, run_id, result, None, None, {})
        missing.append(Verdict(stand_in, (problem,)))
    return listed, missing


def load_report(path: Path) -> GatedReport:
    """Read the parts of a report (schema 1 or 2) the gate judges; :class:`ReportError` if it is not one."""
    document = _json_object(path, "a report")
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
    run_id = _field(path, run, "id", str)
    return GatedReport(
        path=path,
        name=_instance_name(path, document, run_id),
        run_id=run_id,
        result=_field(path, run, "result", str),
        target=None if target is None else _field(path, target, "name", str),
        simulated=None if target is None else _field(path, target, "simulated", bool),
        stages=stages,
    )


def _instance_name(path: Path, document: Mapping[str, Any], run_id: str) -> str:
    """The report's ``instance`` (a name, or an object with a ``name``), else the folder a matrix run keeps
    it in (``instances/<name>/``), else the run id."""
    instance = document.get("instance")
    if isinstance(instance, Mapping):
        instance = instance.get("name")
    if isinstance(instance, str) and instance:
        return instance
    if path.parent.parent.name == INSTANCES_FOLDER:
        return path.parent.name
    return run_id


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
    """Passed; or skipped because the environment was kept (the teardown only), or restored by a resumed
    run from a kept run in which it passed."""
    if outcome.status == "passed":
        return True
    if outcome.status != "skipped" or outcome.skip_reason is None:
        return False
    if name == TEARDOWN_STAGE and outcome.skip_reason == KEPT_REASON:
        return True
    return outcome.skip_reason.startswith(RESTORED_PREFIX)


def describe(verdict: Verdict) -> str:
    """One line: verdict, run id, target, the run's own result, and the problems."""
    report = verdict.report
    target = report.target or "unknown target"
    if report.simulated:
        target += " (simulated)"
    who = report.run_id if report.name == report.run_id else f"{report.name} (run {report.run_id})"
    line = f"{'PASS' if verdict.passed else 'FAIL'}  {who}  {target}  run {report.result}"
    if verdict.problems:
        line += "  " + "; ".join(verdict.problems)
    return f"{line}  [{report.path}]"
