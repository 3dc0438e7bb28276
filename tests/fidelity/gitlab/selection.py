"""The curated selection of python-gitlab's functional tests (``selection.toml``): which the reference stack
must pass, and which it does not serve, each with a reason. Checked for shape before anything runs."""

from __future__ import annotations

import ast
import tomllib
from dataclasses import dataclass
from pathlib import Path

SELECTION_FILE = Path(__file__).with_name("selection.toml")
UPSTREAM_TESTS = "tests/functional/api"


@dataclass(frozen=True)
class Selection:
    in_scope: tuple[str, ...]
    #: A file or a ``file::function`` -> why it is not served.
    out_of_scope: dict[str, str]
    #: In-scope ``file::function`` -> why it fails against the stack today.
    known_failures: dict[str, str]

    def known_to_fail(self, node_id: str) -> bool:
        """Whether a collected test (``file::function[params]``) is a known failure."""
        return node_id.split("[", 1)[0] in self.known_failures

    def sorted_out(self, test_id: str) -> bool:
        """Whether ``file::function`` is in either list (a file entry covers its functions)."""
        file = test_id.split("::", 1)[0]
        return test_id in self.in_scope or test_id in self.out_of_scope or file in self.out_of_scope


def load_selection(path: Path = SELECTION_FILE) -> Selection:
    """The selection in ``path``; a ``ValueError`` naming the file and the entry for a malformed one."""
    data = tomllib.loads(path.read_text())
    in_scope = tuple(data.get("in_scope", ()))
    out_of_scope = dict(data.get("out_of_scope", {}))
    known_failures = dict(data.get("known_failures", {}))
    for entry in (*in_scope, *out_of_scope):
        if not isinstance(entry, str) or not entry.startswith(UPSTREAM_TESTS + "/"):
            raise ValueError(f"{path}: {entry!r} is not an id under {UPSTREAM_TESTS}/")
    for table, entries in (("out_of_scope", out_of_scope), ("known_failures", known_failures)):
        for entry, reason in entries.items():
            if not isinstance(reason, str) or not reason.strip():
                raise ValueError(f"{path}: {table} {entry!r} has no reason")
    if strays := sorted(set(known_failures) - set(in_scope)):
        raise ValueError(f"{path}: known_failures not in scope: {', '.join(strays)}")
    if both := sorted(set(in_scope) & set(out_of_scope)):
        raise ValueError(f"{path}: both in and out of scope: {', '.join(both)}")
    if len(set(in_scope)) != len(in_scope):
        raise ValueError(f"{path}: in_scope lists an id twice")
    return Selection(in_scope, out_of_scope, known_failures)


def upstream_test_functions(upstream_root: Path) -> list[str]:
    """``file::function`` of every ``test_*`` function in the upstream suite (read, not imported)."""
    found = []
    for module in sorted((upstream_root / UPSTREAM_TESTS).glob("test_*.py")):
        relative = module.relative_to(upstream_root).as_posix()
        tree = ast.parse(module.read_text())
        found += [
            f"{relative}::{node.name}"
            for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_")
        ]
    return found


def unsorted_tests(selection: Selection, upstream_root: Path) -> list[str]:
    """Upstream tests in neither list: a new python-gitlab release's tests wait for a decision."""
    return [test for test in upstream_test_functions(upstream_root) if not selection.sorted_out(test)]


def stale_entries(selection: Selection, upstream_root: Path) -> list[str]:
    """Entries naming a test or file the upstream suite no longer has."""
    functions = set(upstream_test_functions(upstream_root))
    files = {function.split("::", 1)[0] for function in functions}
    entries = [*selection.in_scope, *selection.out_of_scope]
    return [entry for entry in entries if entry not in functions and entry not in files]
