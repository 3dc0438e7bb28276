"""python-gitlab's functional suite against a standalone reference stack: one call, usable by the fidelity
test and by a command that prints the fidelity figures (``run_gitlab_suite``).

The stack is found through its directory (``nautes-e2e refstack up --dir DIR``): GitLab's URL from
``target.yaml``, and the administrator's token the emulated GitLab writes at start (``gitlab/
root-personal-access-token``, its counterpart of minting root's token with ``gitlab-rails runner`` as the
upstream suite's own ``set_token.rb`` does): their tests create users and use ``sudo``, which only an
administrator may. Their session runs in the sdist's root, so the ``gitlab`` package their tests import is
the sdist's own: the same release as the one pinned and installed.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.fidelity.gitlab.nautes_gitlab_stack import TOKEN_ENV, URL_ENV
from tests.fidelity.gitlab.selection import Selection, load_selection, stale_entries, unsorted_tests
from tests.fidelity.runner import SuiteResult, run_upstream_suite

SUITE = "python-gitlab"
DISTRIBUTION = "python-gitlab"
PLUGIN = Path(__file__).with_name("nautes_gitlab_fixtures.py")
ROOT_TOKEN_FILE = Path("gitlab") / "root-personal-access-token"
#: The share of the in-scope selection that must pass (issue 10).
THRESHOLD = 0.95


class SelectionOutOfDate(ValueError):
    """The selection does not match the upstream suite: tests in neither list, or entries that are gone."""


def checked_selection(upstream_root: Path) -> Selection:
    selection = load_selection()
    problems = [f"not sorted: {t}" for t in unsorted_tests(selection, upstream_root)]
    problems += [f"not upstream: {e}" for e in stale_entries(selection, upstream_root)]
    if problems:
        raise SelectionOutOfDate(
            "selection.toml does not match the upstream suite:\n  " + "\n  ".join(problems)
        )
    return selection


def run_gitlab_suite(stack_directory: Path, upstream_root: Path, log_path: Path | None = None) -> SuiteResult:
    """Run the in-scope selection against the stack in ``stack_directory``; the session's output (token
    masked) goes to ``log_path``."""
    selection = checked_selection(upstream_root)
    target = yaml.safe_load((stack_directory / "target.yaml").read_text())
    token = (stack_directory / ROOT_TOKEN_FILE).read_text().strip()
    return run_upstream_suite(
        SUITE,
        upstream_root,
        selection.in_scope,
        plugins=[PLUGIN],
        env={URL_ENV: target["gitlab"]["url"], TOKEN_ENV: token},
        redact=[token],
        log_path=log_path,
    )
