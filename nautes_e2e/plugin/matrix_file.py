"""``matrix.json``: the index of a run with instances, in the run's folder beside ``instances/``; and what
``--rerun-failed`` reads back from it (or from one ``report.json``) to run again.

Schema 1::

    {"schema_version": 1, "run": {"id", "started", "finished", "exit_code", "rerun_of"},
     "instances": [{"name", "options": {"name", "clusterType", "suffix", "scenarioDir"},
                    "result", "exit_code", "report"}]}

``result`` is the instance's ``run.result`` (``passed``, ``failed``, ``interrupted``, ``error``), or
``not-run`` for an instance the run never began (stopped first, or deselected); ``report`` is the path of its
``report.json`` relative to the run's folder (``null`` when not run). ``run.exit_code`` is the process's,
the worst of the instances' (:func:`worst_exit_code`); ``rerun_of`` names the file a ``--rerun-failed`` run
took its instances from (``null`` otherwise).
"""

from __future__ import annotations

import argparse
import json
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from nautes_e2e.plugin.instances import INSTANCES_DIR, Instance, InstancesError
from nautes_e2e.report.exit_codes import ExitCode
from nautes_e2e.stages.model import iso_utc

MATRIX_FILE = "matrix.json"
REPORT_FILE = "report.json"
MATRIX_SCHEMA_VERSION = 1
#: The result of an instance the run never began.
NOT_RUN = "not-run"
#: Which exit code of two instances the run ends with: the first in this order that one of them has. An
#: interrupt stopped every instance; a harness error makes every verdict doubtful; a configuration error
#: means an instance tested nothing (fix the job, and a rerun tells the rest); then a broken world.
SEVERITY = (
    ExitCode.INTERRUPTED,
    ExitCode.HARNESS_ERROR,
    ExitCode.CONFIGURATION_ERROR,
    ExitCode.FAILED,
    ExitCode.PASSED,
)


@dataclass(frozen=True)
class MatrixEntry:
    """One instance's line of ``matrix.json``."""

    instance: Instance
    result: str
    exit_code: ExitCode
    #: Its ``report.json``, relative to the run's folder; ``None`` when it did not run.
    report: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.instance.name,
            "options": self.instance.to_dict(),
            "result": self.result,
            "exit_code": int(self.exit_code),
            "report": self.report,
        }


def worst_exit_code(codes: Iterable[ExitCode]) -> ExitCode:
    """The exit code of a run whose instances ended with ``codes`` (:data:`SEVERITY`)."""
    given = set(codes)
    return next((code for code in SEVERITY if code in given), ExitCode.PASSED)


def instance_report_path(name: str) -> str:
    """Where an instance's ``report.json`` is, relative to the run's folder."""
    return f"{INSTANCES_DIR}/{name}/{REPORT_FILE}"


def write_matrix(
    run_root: Path,
    *,
    run_id: str,
    started: datetime,
    finished: datetime,
    entries: Sequence[MatrixEntry],
    rerun_of: Path | None,
) -> Path:
    """Write ``matrix.json`` into ``run_root``; return its path."""
    document = {
        "schema_version": MATRIX_SCHEMA_VERSION,
        "run": {
            "id": run_id,
            "started": iso_utc(started),
            "finished": iso_utc(finished),
            "exit_code": int(worst_exit_code(entry.exit_code for entry in entries)),
            "rerun_of": None if rerun_of is None else str(rerun_of),
        },
        "instances": [entry.to_dict() for entry in entries],
    }
    run_root.mkdir(parents=True, exist_ok=True)
    path = run_root / MATRIX_FILE
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path


@dataclass(frozen=True)
class SingleRunOptions:
    """What a run of one (no instances) ran with, read back from its ``report.json``'s command line; a
    value it did not give is ``None`` (the option's default)."""

    cluster_type: str | None
    suffix: str | None
    scenario_dir: Path | None


@dataclass(frozen=True)
class Rerun:
    """What ``--rerun-failed`` runs again: the instances of a matrix that did not pass, or a run of one
    that did not pass (``single``); neither when everything passed."""

    source: Path
    instances: tuple[Instance, ...] = ()
    single: SingleRunOptions | None = None

    @property
    def nothing_failed(self) -> bool:
        return not self.instances and self.single is None


def read_rerun(path: Path, invocation_dir: Path) -> Rerun:
    """What to run again after the run of ``path``: a ``matrix.json``, a ``report.json``, or a run's folder
    holding one of them (``matrix.json`` first). Raises :class:`InstancesError` naming the file when it is
    neither, or cannot be read."""
    if path.is_dir():
        found = next((path / name for name in (MATRIX_FILE, REPORT_FILE) if (path / name).is_file()), None)
        if found is None:
            raise InstancesError(
                f"--rerun-failed: {path} holds neither {MATRIX_FILE} nor {REPORT_FILE} (give a run's "
                "report folder, or one of those files)"
            )
        path = found
    document = _json_object(path)
    if "instances" in document:
        return Rerun(path, instances=_failed_instances(path, document))
    if "run" in document and "stages" in document:
        return _rerun_of_report(path, document, invocation_dir)
    raise InstancesError(f"--rerun-failed: {path} is neither a {MATRIX_FILE} nor a {REPORT_FILE}")


def _rerun_of_report(path: Path, document: Mapping[str, Any], invocation_dir: Path) -> Rerun:
    """A report of an instance stands for that instance of its matrix; a report of a run of one, for that
    run, with the options its command line gave."""
    run = _mapping(path, document, "run")
    if run.get("result") == "passed":
        return Rerun(path)
    matrix = path.parent.parent.parent / MATRIX_FILE
    if path.parent.parent.name == INSTANCES_DIR and matrix.is_file():
        name = path.parent.name
        instances = [i for i in _matrix_instances(matrix, _json_object(matrix)) if i[0].name == name]
        if not instances:
            raise InstancesError(f"--rerun-failed: {matrix} lists no instance {name!r} (of {path})")
        return Rerun(path, instances=(instances[0][0],))
    command_line = run.get("command_line")
    if not isinstance(command_line, str):
        raise InstancesError(f"--rerun-failed: {path}: run.command_line must be a string")
    return Rerun(path, single=_single_run_options(command_line, invocation_dir))


def _single_run_options(command_line: str, invocation_dir: Path) -> SingleRunOptions:
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--cluster-type")
    parser.add_argument("--suffix")
    parser.add_argument("--scenario-dir")
    known, _ = parser.parse_known_args(shlex.split(command_line))
    scenario_dir: str | None = known.scenario_dir
    return SingleRunOptions(
        cluster_type=known.cluster_type,
        suffix=known.suffix,
        scenario_dir=None if scenario_dir is None else invocation_dir / scenario_dir,
    )


def _failed_instances(path: Path, document: Mapping[str, Any]) -> tuple[Instance, ...]:
    return tuple(instance for instance, result in _matrix_instances(path, document) if result != "passed")


def _matrix_instances(path: Path, document: Mapping[str, Any]) -> list[tuple[Instance, str]]:
    if document.get("schema_version") != MATRIX_SCHEMA_VERSION:
        raise InstancesError(
            f"--rerun-failed: {path}: schema_version must be {MATRIX_SCHEMA_VERSION}, not "
            f"{document.get('schema_version')!r}"
        )
    entries = document.get("instances")
    if not isinstance(entries, list):
        raise InstancesError(f"--rerun-failed: {path}: instances must be a list")
    found = []
    for index, entry in enumerate(entries):
        where = f"instances[{index}]"
        if not isinstance(entry, dict):
            raise InstancesError(f"--rerun-failed: {path}: {where} must be a mapping")
        options = _mapping(path, entry, "options", where)
        fields = {key: options.get(key) for key in ("name", "clusterType", "suffix", "scenarioDir")}
        for key, value in fields.items():
            if not isinstance(value, str) or not value:
                raise InstancesError(
                    f"--rerun-failed: {path}: {where}.options.{key} must be a non-empty string"
                )
        result = entry.get("result")
        if not isinstance(result, str):
            raise InstancesError(f"--rerun-failed: {path}: {where}.result must be a string")
        instance = Instance(
            name=str(fields["name"]),
            cluster_type=str(fields["clusterType"]),
            suffix=str(fields["suffix"]),
            scenario_dir=Path(str(fields["scenarioDir"])),
        )
        found.append((instance, result))
    return found


def _json_object(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InstancesError(f"--rerun-failed: {path}: cannot read the file ({error.strerror})") from None
    except ValueError:
        raise InstancesError(f"--rerun-failed: {path}: not a JSON document") from None
    if not isinstance(document, dict):
        raise InstancesError(f"--rerun-failed: {path}: not a JSON object")
    return document


def _mapping(path: Path, document: Mapping[str, Any], key: str, where: str = "") -> Mapping[str, Any]:
    value = document.get(key)
    if not isinstance(value, dict):
        raise InstancesError(f"--rerun-failed: {path}: {where + '.' if where else ''}{key} must be a mapping")
    return value
