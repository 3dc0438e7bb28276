"""Every fault the reference stack can inject has a row in the fault matrix (tests/faults/cases.py): a
fault without one proves nothing, and a row without a fault tests a name the stack no longer knows.

The stack's faults come from ``nautes-refstack faults`` (the harness's tests reach the stack as a process)."""

from __future__ import annotations

import functools
import subprocess
import sys

from tests.faults.cases import CASES, GREEN_CASES


@functools.cache
def stack_faults() -> frozenset[str]:
    listing = subprocess.run(
        [sys.executable, "-m", "nautes_refstack", "faults"], capture_output=True, text=True, check=True
    ).stdout
    names = frozenset(line.split("\t")[0].partition("=")[0] for line in listing.splitlines())
    assert "webhook-not-delivered" in names, f"no faults in the listing: {listing!r}"
    return names


def _name(selection: str) -> str:
    return selection.partition("=")[0]


def test_every_fault_has_a_row_in_the_matrix() -> None:
    rows = {_name(case.fault) for case in CASES} | {_name(case.fault) for case in GREEN_CASES}
    assert sorted(stack_faults() - rows) == [], "faults with no row in tests/faults/cases.py"


def test_every_row_names_a_fault_the_stack_knows() -> None:
    rows = [case.fault for case in CASES] + [case.fault for case in GREEN_CASES]
    assert sorted(_name(row) for row in rows if _name(row) not in stack_faults()) == []


def test_no_fault_has_two_rows() -> None:
    rows = [case.fault for case in CASES] + [case.fault for case in GREEN_CASES]
    assert sorted({row for row in rows if rows.count(row) > 1}) == []
