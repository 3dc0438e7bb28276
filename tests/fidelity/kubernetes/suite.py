"""The kubernetes client's e2e suite as a fidelity suite: its selection, and one run of it against a stack.

The in-scope selection (``in_scope.txt``) and the out-of-scope list with a reason per test
(``out_of_scope.txt``) sit beside this module; together they name every test of :data:`UPSTREAM_FILES`. A run
points the upstream tests at the stack's first runtime cluster through its kubeconfig (the plugin
:mod:`nautes_kube_e2e`), in one pytest process of theirs (:func:`tests.fidelity.runner.run_upstream_suite`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.fidelity.kubernetes import nautes_kube_e2e
from tests.fidelity.runner import SuiteResult, run_upstream_suite

SUITE = "kubernetes-client"
DISTRIBUTION = "kubernetes"
HERE = Path(__file__).parent
PLUGIN = Path(nautes_kube_e2e.__file__)
#: The ratio of the in-scope selection that must pass (issue 10).
MIN_RATIO = 0.95
#: The upstream files whose every test is either in scope or out of scope with a reason.
UPSTREAM_FILES = (
    "kubernetes/dynamic/test_client.py",
    "kubernetes/dynamic/test_discovery.py",
    "kubernetes/dynamic/client_test.py",
    "kubernetes/aio/dynamic/client_test.py",
    "kubernetes/aio/dynamic/discovery_test.py",
)


class SelectionError(ValueError):
    """``in_scope.txt`` or ``out_of_scope.txt`` is malformed (the message names file, line and entry)."""


@dataclass(frozen=True)
class Selection:
    in_scope: tuple[str, ...]
    out_of_scope: dict[str, str]  # node id -> why it is left out


def _entries(path: Path) -> list[tuple[int, str]]:
    lines = path.read_text().splitlines()
    return [(number, line.strip()) for number, line in enumerate(lines, 1) if line.strip() and line[0] != "#"]


def read_selection(directory: Path = HERE) -> Selection:
    """Both lists, checked: every out-of-scope entry gives a reason, and no test is in both or twice."""
    in_scope = [entry for _, entry in _entries(directory / "in_scope.txt")]
    out_of_scope: dict[str, str] = {}
    listing = directory / "out_of_scope.txt"
    for number, entry in _entries(listing):
        node_id, _, reason = (part.strip() for part in entry.partition("|"))
        if not reason:
            raise SelectionError(f"{listing}:{number}: {node_id!r} has no reason ('<node id> | <why>')")
        out_of_scope[node_id] = reason
    listed = [*in_scope, *out_of_scope]
    twice = sorted({node_id for node_id in listed if listed.count(node_id) > 1})
    if twice:
        raise SelectionError(f"{directory}: listed more than once (in scope and out, or twice): {twice}")
    return Selection(tuple(in_scope), out_of_scope)


def cluster_kubeconfig(stack_directory: Path) -> Path:
    """The kubeconfig of the stack's first runtime cluster (``target.yaml`` names it)."""
    target = yaml.safe_load((stack_directory / "target.yaml").read_text())
    return stack_directory / str(target["clusters"][0]["kubeconfig"])


def _tokens(kubeconfig: Path) -> list[str]:
    users = yaml.safe_load(kubeconfig.read_text()).get("users") or []
    return [str(user["user"]["token"]) for user in users if (user.get("user") or {}).get("token")]


def run_kubernetes_client_suite(
    stack_directory: Path, upstream_root: Path, scratch: Path, *, log_path: Path | None = None
) -> SuiteResult:
    """Run the in-scope selection against the stack in ``stack_directory``; ``scratch`` becomes the upstream
    process's temporary directory (the dynamic client keeps its discovery cache there)."""
    kubeconfig = cluster_kubeconfig(stack_directory)
    (scratch / "tmp").mkdir(parents=True, exist_ok=True)
    env = {nautes_kube_e2e.KUBECONFIG_ENV: str(kubeconfig), "TMPDIR": str(scratch / "tmp")}
    return run_upstream_suite(
        SUITE,
        upstream_root,
        read_selection().in_scope,
        plugins=[PLUGIN],
        env=env,
        redact=_tokens(kubeconfig),
        log_path=log_path,
    )


def verdict(result: SuiteResult) -> str | None:
    """Why ``result`` falls short of :data:`MIN_RATIO` (its ratio and failed ids); None if it does not."""
    if result.total and result.ratio >= MIN_RATIO:
        return None
    return f"below {MIN_RATIO:.0%} of the in-scope selection:\n{result.summary()}"
