"""The nightly CI templates read as data: the matrix cells each one runs, its jobs and the shell scripts of
their steps, so the tests can compare the two templates and run those scripts here, offline.

The cell id, ``<provider>-<variant>-k8s-<kubernetes>``, names a cell's reports folder, its artifact and its
run id in both templates.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.ci.validators import GITHUB_TEMPLATE, GITLAB_TEMPLATE, REPO_ROOT

WORLDS = REPO_ROOT / "ci" / "worlds"

# Each action the workflow uses: the commit its tag pointed to in the action's own repository when pinned.
PINNED_ACTIONS = {
    "actions/checkout": ("11d5960a326750d5838078e36cf38b85af677262", "v4.4.0"),
    "actions/setup-python": ("a26af69be951a213d495a4c3e4e4022e16d87065", "v5.6.0"),
    "actions/upload-artifact": ("ea165f8d65b6e75b540449e92b4886f43607fa02", "v4.6.2"),
    "actions/download-artifact": ("d3f86a106a0bac45b974a628896c90dbdf5c8093", "v4.3.0"),
}

USES = re.compile(r"^\s*(?:-\s+)?uses:\s+(?P<action>[^@\s]+)@(?P<ref>\S+)(?:\s+#\s*(?P<comment>\S+))?\s*$")
EXPRESSION = re.compile(r"\$\{\{\s*(?P<expr>[^}]*?)\s*\}\}")


@dataclass(frozen=True)
class Cell:
    """One matrix cell, with the values both templates give it."""

    provider: str
    variant: str
    kubernetes: str

    @property
    def id(self) -> str:
        return f"{self.provider}-{self.variant}-k8s-{self.kubernetes}"

    @property
    def world_config(self) -> Path:
        """The world settings of the cell (``NAUTES_E2E_WORLD_CONFIG``): one per provider and version."""
        return WORLDS / f"{self.provider}-k8s-{self.kubernetes}.yaml"


def load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict), f"{path}: not a mapping"
    return document


def github() -> dict[str, Any]:
    return load(GITHUB_TEMPLATE)


def gitlab() -> dict[str, Any]:
    return load(GITLAB_TEMPLATE)


def github_triggers(workflow: Mapping[Any, Any]) -> dict[str, Any]:
    """The ``on:`` mapping (YAML 1.1 readers such as PyYAML load the key ``on`` as True)."""
    triggers = workflow.get("on", workflow.get(True))
    assert isinstance(triggers, dict)
    return triggers


def expand_github_matrix(matrix: Mapping[str, Any]) -> list[dict[str, Any]]:
    """GitHub's expansion of ``strategy.matrix``: the product of the axes less each ``exclude`` entry (a
    partial match), then each ``include`` entry merged into every combination whose original values it matches
    (new keys only), or added as a combination of its own where it matches none."""
    axes = {key: values for key, values in matrix.items() if key not in ("include", "exclude")}
    combinations = [dict(zip(axes, values, strict=True)) for values in itertools.product(*axes.values())]
    for excluded in matrix.get("exclude", []):
        combinations = [c for c in combinations if any(c.get(k) != v for k, v in excluded.items())]
    for included in matrix.get("include", []):
        matched = False
        for combination in combinations:
            original = {k: v for k, v in included.items() if k in axes}
            if all(combination[k] == v for k, v in original.items()):
                combination.update({k: v for k, v in included.items() if k not in axes})
                matched = True
        if not matched:
            combinations.append(dict(included))
    return combinations


def github_cells() -> list[Cell]:
    matrix = github()["jobs"]["quickstart"]["strategy"]["matrix"]
    cells = (Cell(c["provider"], c["variant"], c["kubernetes"]) for c in expand_github_matrix(matrix))
    return sorted(cells, key=lambda cell: cell.id)


def gitlab_cells() -> list[Cell]:
    """GitLab's ``parallel:matrix``: each entry is the product of its (scalar or list) values."""
    cells: list[Cell] = []
    for entry in gitlab()["quickstart"]["parallel"]["matrix"]:
        axes = {key: value if isinstance(value, list) else [value] for key, value in entry.items()}
        for values in itertools.product(*axes.values()):
            c = dict(zip(axes, values, strict=True))
            cells.append(Cell(c["PROVIDER"], c["CLUSTER_VARIANT"], c["KUBERNETES"]))
    return sorted(cells, key=lambda cell: cell.id)


def github_step(job: str, name: str) -> dict[str, Any]:
    steps: Sequence[dict[str, Any]] = github()["jobs"][job]["steps"]
    matches = [step for step in steps if step.get("name") == name]
    assert len(matches) == 1, f"job {job} has {len(matches)} steps named {name!r}"
    return matches[0]


def github_job_env(job: str, cell: Cell | None = None, workspace: Path = REPO_ROOT) -> dict[str, str]:
    """The job's ``env:``, its ``${{ matrix.* }}`` and ``${{ github.workspace }}`` expressions evaluated for
    ``cell`` in a checkout at ``workspace``."""
    values = {"github.workspace": str(workspace)}
    if cell is not None:
        values |= {
            "matrix.provider": cell.provider,
            "matrix.variant": cell.variant,
            "matrix.kubernetes": cell.kubernetes,
        }

    def evaluate(match: re.Match[str]) -> str:
        expression = match.group("expr")
        assert expression in values, f"job {job}: cannot evaluate ${{{{ {expression} }}}} here"
        return values[expression]

    env: Mapping[str, Any] = github()["jobs"][job].get("env", {})
    return {key: EXPRESSION.sub(evaluate, str(value)) for key, value in env.items()}


def uses_lines(path: Path) -> list[re.Match[str]]:
    """Every ``uses:`` line of a workflow, parsed with the comment YAML readers drop."""
    return [match for line in path.read_text().splitlines() if (match := USES.match(line))]
