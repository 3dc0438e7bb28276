"""The stage facts a kept run (``--keep-env``) saves beside its world's state, and ``--from-stage`` restores.

A run resumed on a kept world (``--reuse-env NAME --from-stage STAGE``) does not run the stages before
STAGE again: it takes what they established from the kept run's saved facts, and records each of them as
``skipped`` with the reason ``restored from <file> (passed in run <run id>)``. The release gate accepts
that skip (like the teardown's ``kept (--keep-env)``) because only stages that *passed* (or were themselves
restored from a run where they passed) are ever saved: a resume that needs a stage the kept run did not
pass is refused.

Where: ``stages.json`` in the world's state directory (``<state root>/<NAME>/``, beside ``state.json``),
written when a run on a kept world ends with the world still kept; a run that ends by removing what it
applied (no ``--keep-env``) deletes it, since the world no longer holds what those stages established.

Secrets never reach the file in clear. Facts are saved as the reports show them, redacted; a fact whose
value the redactor changes (it held a secret, or part of one) is not saved at all but named under
``withheld``, and a resume that needs a stage with withheld facts is refused, naming them: a secret is
re-derived by the stage that makes it (the world's credentials come from its own target file), never
read back from a file the harness wrote.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nautes_e2e.secrets import redact
from nautes_e2e.stages.model import StageRecord

#: How a restored stage's ``skip_reason`` begins; the release gate accepts a skip with this reason.
RESTORED_PREFIX = "restored from "
#: The saved facts' file in a kept world's state directory.
SAVED_STAGES_FILE = "stages.json"
SAVED_STAGES_VERSION = 1
_PASSED_IN_RUN = re.compile(r" \(passed in run (?P<run>[^)]+)\)$")


class SavedStagesError(ValueError):
    """The saved stages cannot be used for a resume; the text names the file and what is wrong."""


@dataclass(frozen=True)
class SavedStage:
    """One stage that passed on the kept world: the run it passed in, its facts, the facts withheld."""

    name: str
    run_id: str
    facts: Mapping[str, Any]
    withheld: tuple[str, ...] = ()


@dataclass(frozen=True)
class SavedStages:
    path: Path
    stages: Mapping[str, SavedStage]

    def restorable(self, names: Sequence[str]) -> list[SavedStage]:
        """The saved stages ``names`` in that order; :class:`SavedStagesError` names each that is missing
        (the kept run did not pass it) or had a fact withheld."""
        problems = []
        for name in names:
            stage = self.stages.get(name)
            if stage is None:
                problems.append(f"stage {name} has no saved facts (the kept run did not pass it)")
            elif stage.withheld:
                problems.append(
                    f"stage {name}'s facts {', '.join(stage.withheld)} held a secret and were not saved: "
                    f"resume from {name} or an earlier stage"
                )
        if problems:
            raise SavedStagesError(f"{self.path}: " + "; ".join(problems))
        return [self.stages[name] for name in names]


def is_restored(record: StageRecord) -> bool:
    """Whether a stage was restored from a kept run's saved facts (it then counts as passed)."""
    return (
        record.status == "skipped"
        and record.skip_reason is not None
        and record.skip_reason.startswith(RESTORED_PREFIX)
    )


def restored_reason(path: Path, stage: SavedStage) -> str:
    return f"{RESTORED_PREFIX}{path} (passed in run {stage.run_id})"


def save_stages(directory: Path, records: Iterable[StageRecord], run_id: str) -> Path:
    """Write the stages of ``records`` that passed (or were restored) with their facts, redacted, into
    ``directory``; 0600, replaced atomically."""
    stages = []
    for record in records:
        if record.status == "passed":
            passed_in = run_id
        elif is_restored(record) and (found := _PASSED_IN_RUN.search(record.skip_reason or "")):
            passed_in = found.group("run")
        else:
            continue
        facts, withheld = _redacted(record.facts)
        stages.append({"name": record.name, "run": passed_in, "facts": facts, "withheld": withheld})
    document = {"version": SAVED_STAGES_VERSION, "run": run_id, "stages": stages}
    path = directory / SAVED_STAGES_FILE
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(json.dumps(document, indent=2) + "\n")
    os.replace(temporary, path)
    return path


def keep_stages(directory: Path, records: Iterable[StageRecord], run_id: str, kept: bool) -> None:
    """At the end of a run on a world that outlives it: save its stages if the world is still ``kept``
    (``--keep-env``), else forget the saved ones, since the run's teardown removed what they established."""
    if kept:
        save_stages(directory, records, run_id)
    else:
        (directory / SAVED_STAGES_FILE).unlink(missing_ok=True)


def _redacted(facts: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The facts whose JSON the redactor leaves alone, and the names of the others."""
    kept: dict[str, Any] = {}
    withheld: list[str] = []
    for key, value in facts.items():
        text = json.dumps(value, default=str)
        if redact(text) != text or redact(key) != key:
            withheld.append(redact(key))
        else:
            kept[key] = json.loads(text)
    return kept, withheld


def load_saved_stages(path: Path) -> SavedStages:
    """The saved stages in ``path``; :class:`SavedStagesError` names the file and what is wrong with it."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SavedStagesError(
            f"{path}: no saved stage facts (the world was not kept by a run with --keep-env, or a later run "
            "without it removed what they established)"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise SavedStagesError(f"{path}: cannot be read ({type(error).__name__})") from None
    except json.JSONDecodeError as error:
        raise SavedStagesError(f"{path}: not JSON (line {error.lineno}, column {error.colno})") from None
    if not isinstance(document, dict) or document.get("version") != SAVED_STAGES_VERSION:
        raise SavedStagesError(f"{path}: not saved stage facts of version {SAVED_STAGES_VERSION}")
    stages: dict[str, SavedStage] = {}
    entries = document.get("stages")
    if not isinstance(entries, list):
        raise SavedStagesError(f"{path}: stages: a list is expected")
    for index, entry in enumerate(entries):
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("name"), str)
            and isinstance(entry.get("run"), str)
            and isinstance(entry.get("facts"), dict)
            and isinstance(entry.get("withheld"), list)
        ):
            raise SavedStagesError(f"{path}: stages[{index}]: name, run, facts and withheld are expected")
        stages[entry["name"]] = SavedStage(
            entry["name"], entry["run"], entry["facts"], tuple(map(str, entry["withheld"]))
        )
    return SavedStages(path, stages)
