"""The nightly CI templates pass check-jsonschema, zizmor and actionlint, offline; and each validator really
rejects a copy broken the way it exists to catch, for that reason (its finding names it), so a validator that
silently stopped checking would fail here."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.ci import validators
from tests.ci.validators import GITHUB_SCHEMA, GITHUB_TEMPLATE, GITLAB_SCHEMA, GITLAB_TEMPLATE, Outcome


def _skip_if_absent(validator: str) -> None:
    reason = validators.absent_reason(validator)
    if reason is not None:
        pytest.skip(reason)


RUNNERS: dict[str, Callable[[Path], Outcome]] = {
    "check-jsonschema": lambda path: validators.check_jsonschema(path, GITHUB_SCHEMA),
    "zizmor": validators.zizmor,
    "actionlint": validators.actionlint,
}


@pytest.mark.parametrize("validator", sorted(RUNNERS))
def test_the_github_workflow_passes(validator: str) -> None:
    _skip_if_absent(validator)
    outcome = RUNNERS[validator](GITHUB_TEMPLATE)
    assert outcome.clean, str(outcome)


def test_the_gitlab_pipeline_passes_gitlabs_schema() -> None:
    _skip_if_absent("check-jsonschema")
    outcome = validators.check_jsonschema(GITLAB_TEMPLATE, GITLAB_SCHEMA)
    assert outcome.clean, str(outcome)


@dataclass(frozen=True)
class Breakage:
    """Replace ``old`` (which must occur in the template) by ``new`` in a copy of it."""

    old: str
    new: str

    def apply(self, template: Path, directory: Path) -> Path:
        text = template.read_text()
        assert self.old in text, f"{template.name} no longer contains {self.old!r}: update this breakage"
        broken = directory / template.name
        broken.write_text(text.replace(self.old, self.new))
        return broken


CHECKOUT = "actions/checkout@11d5960a326750d5838078e36cf38b85af677262 # v4.4.0"
PLAN_STEP = 'run: nautes-e2e world plan --target "$PROVIDER"'

GITHUB_BREAKAGES = {
    # An attacker-controllable value expanded into a shell script.
    "template-injection": Breakage(PLAN_STEP, 'run: echo "${{ github.event.head_commit.message }}"'),
    # An action by tag, which its owner can move.
    "unpinned-action": Breakage(CHECKOUT, "actions/checkout@v4"),
    # The checkout leaves the job's token in .git/config for every later step.
    "persisted-credentials": Breakage("          persist-credentials: false\n", "          fetch-depth: 1\n"),
    # Every scope writable.
    "write-all": Breakage("permissions:\n  contents: read\n", "permissions: write-all\n"),
    # A schedule must be a list of cron entries.
    "schema-error": Breakage('schedule:\n    - cron: "23 2 * * *"', 'schedule: "23 2 * * *"'),
    # The gate waits for a job that does not exist.
    "unknown-needs": Breakage("needs: [quickstart]", "needs: [quickstarts]"),
    # A matrix value that no matrix entry defines.
    "undefined-matrix-key": Breakage(
        "VARIANT: ${{ matrix.variant }}", "VARIANT: ${{ matrix.cluster_variant }}"
    ),
}

GITLAB_BREAKAGES = {
    "artifacts-when": Breakage("    when: always\n    expire_in", "    when: sometimes\n    expire_in"),
    "matrix-not-a-list": Breakage(
        "  parallel:\n    matrix:\n", "  parallel:\n    matrix: every-cell\n    unused:\n"
    ),
}

# (validator, breakage, the finding that must name it)
GITHUB_REJECTIONS = [
    ("check-jsonschema", "schema-error", "$.on"),
    ("zizmor", "template-injection", "template-injection"),
    ("zizmor", "unpinned-action", "unpinned-uses"),
    ("zizmor", "persisted-credentials", "artipacked"),
    ("zizmor", "write-all", "excessive-permissions"),
    ("actionlint", "template-injection", "expression"),
    ("actionlint", "unknown-needs", "job-needs"),
    ("actionlint", "undefined-matrix-key", "expression"),
    ("actionlint", "schema-error", "syntax-check"),
]


@pytest.mark.parametrize(
    ("validator", "breakage", "finding"),
    GITHUB_REJECTIONS,
    ids=[f"{validator}-{breakage}" for validator, breakage, _ in GITHUB_REJECTIONS],
)
def test_a_broken_github_workflow_is_rejected(
    validator: str, breakage: str, finding: str, tmp_path: Path
) -> None:
    _skip_if_absent(validator)
    outcome = RUNNERS[validator](GITHUB_BREAKAGES[breakage].apply(GITHUB_TEMPLATE, tmp_path))
    assert outcome.returncode != 0, str(outcome)
    assert any(found.startswith(finding) for found in outcome.findings), str(outcome)


@pytest.mark.parametrize(
    ("breakage", "path"),
    [("artifacts-when", "$.quickstart.artifacts.when"), ("matrix-not-a-list", "$.quickstart.parallel")],
)
def test_a_broken_gitlab_pipeline_is_rejected(breakage: str, path: str, tmp_path: Path) -> None:
    _skip_if_absent("check-jsonschema")
    outcome = validators.check_jsonschema(
        GITLAB_BREAKAGES[breakage].apply(GITLAB_TEMPLATE, tmp_path), GITLAB_SCHEMA
    )
    assert outcome.returncode != 0, str(outcome)
    assert path in outcome.findings, str(outcome)


def test_the_validators_run_without_a_network() -> None:
    """Every validator run above happens inside the namespace of ``offline_prefix()``: it has no route out,
    so those runs prove the validators need no network."""
    if not validators.offline_prefix():
        pytest.skip(
            "this machine cannot create a network namespace (unshare --net): the offline runs are unproven"
        )
    connect = "import socket; socket.create_connection(('192.0.2.1', 443), timeout=2)"
    probe = subprocess.run(
        [*validators.offline_prefix(), sys.executable, "-c", connect],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert probe.returncode != 0
    assert "Network is unreachable" in probe.stderr, probe.stderr
