"""Which routes of the reference stack which tests exercised, and the page that shows it per route
(``docs/refstack-coverage.md``), the way LocalStack publishes per-operation parity.

Inputs, all plain files: the routes the stack serves (``nautes-refstack routes --json``), the stack's route
log of a suite's run (one JSON line per answer, :mod:`nautes_refstack.http`) and that run's trace (one JSON
line per test with the log's size before and after it, ``tests/fidelity/plugins/route_trace.py``). A log
line belongs to the test whose stretch of the log holds it. What a run found is kept as evidence
(``docs/refstack-coverage.json``) so that the page can be rendered again from the routes served now and the
last run's evidence: a route added since shows as exercised by nothing until the next run.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NO_SOURCE = "no source cited"
#: How many test ids a table cell names before it only counts the rest.
TESTS_SHOWN = 3


@dataclass(frozen=True)
class Route:
    """One served route as ``nautes-refstack routes --json`` lists it."""

    server: str
    method: str
    pattern: str
    handler: str
    sources: tuple[str, ...]

    @property
    def key(self) -> str:
        return route_key(self.server, self.method, self.pattern)


def route_key(server: str, method: str, pattern: str) -> str:
    return f"{server} {method} {pattern}"


def read_routes(text: str) -> list[Route]:
    """The routes from ``nautes-refstack routes --json`` output."""
    return [
        Route(r["server"], r["method"], r["pattern"], r["handler"], tuple(r["sources"]))
        for r in json.loads(text)
    ]


@dataclass(frozen=True)
class TracedTest:
    """One test of a suite's run: its node id, outcome and stretch ``[start, end)`` of the route log."""

    test: str
    outcome: str
    start: int
    end: int


@dataclass
class SuiteRun:
    """What one suite's run left: its tests (counted for its pass ratio) and the routes each exercised."""

    suite: str
    kind: str  # "client" (a client's own tests, upstream or kubectl) or "ours"
    tests: list[TracedTest] = field(default_factory=list)
    #: route key -> node ids of the tests that exercised it.
    exercised: dict[str, list[str]] = field(default_factory=dict)
    #: route key -> the statuses it answered with.
    answers: dict[str, set[int]] = field(default_factory=dict)
    #: (server, method, pattern, status) answered but not in the route list -> the test of each request.
    unlisted: dict[tuple[str, str, str, int], list[str]] = field(default_factory=dict)

    @property
    def outcomes(self) -> Counter[str]:
        return Counter(test.outcome for test in self.tests)


def read_traces(text: str, counted: Callable[[str], bool] = lambda root: True) -> list[TracedTest]:
    """The traced tests of a run whose session's rootdir is ``counted`` (an upstream suite's own tests
    count, not the session of ours that started them)."""
    entries = [json.loads(line) for line in text.splitlines()]
    return [
        TracedTest(entry["test"], entry["outcome"], entry["start"], entry["end"])
        for entry in entries
        if counted(entry["root"])
    ]


def attribute(run: SuiteRun, log: bytes, routes: Sequence[Route]) -> None:
    """Give each line of ``log`` to the test whose stretch holds it, and note the route it exercised (or,
    if the route list has no such route, that it was answered anyway)."""
    listed = {route.key for route in routes}
    offset = 0
    stretches = sorted(run.tests, key=lambda test: test.start)
    for raw in log.splitlines(keepends=True):
        line_start, offset = offset, offset + len(raw)
        owner = next((t for t in stretches if t.start <= line_start < t.end), None)
        if owner is None:
            continue
        entry = json.loads(raw)
        key = _listed_key(entry, listed)
        if key is None:
            answered = (entry["server"], entry["method"], entry["route"], int(entry["status"]))
            run.unlisted.setdefault(answered, []).append(owner.test)
            continue
        run.answers.setdefault(key, set()).add(int(entry["status"]))
        tests = run.exercised.setdefault(key, [])
        if owner.test not in tests:
            tests.append(owner.test)


def _listed_key(entry: dict[str, Any], listed: set[str]) -> str | None:
    """The listed route a log line names; a route served for any method is listed with ``*``."""
    for method in (entry["method"], "*"):
        key = route_key(entry["server"], method, entry["route"])
        if key in listed:
            return key
    return None


# -- evidence -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """One suite's pass ratio: passed over the tests in scope (a skip is not a pass)."""

    suite: str
    kind: str
    passed: int
    in_scope: int
    out_of_scope: int | None
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.passed / self.in_scope if self.in_scope else 0.0

    def line(self) -> str:
        if self.note:
            return f"{self.suite}: {self.note}"
        out = "" if self.out_of_scope is None else f", {self.out_of_scope} out of scope"
        return f"{self.suite}: {self.passed}/{self.in_scope} passed ({self.ratio:.1%}){out}"


def figure_of(run: SuiteRun, out_of_scope: int | None) -> Figure:
    return Figure(run.suite, run.kind, run.outcomes["passed"], len(run.tests), out_of_scope)


@dataclass
class Evidence:
    """What the last run found: the figures, who exercised each route, what was answered off the list."""

    generated: str
    figures: list[Figure]
    #: route key -> suite -> node ids.
    exercised: dict[str, dict[str, list[str]]]
    kinds: dict[str, str]
    #: "server method pattern status" -> suite -> the test of each request.
    unlisted: dict[str, dict[str, list[str]]]
    #: route key -> suite -> the statuses it answered that suite's tests with.
    answers: dict[str, dict[str, list[int]]]

    @classmethod
    def of(cls, generated: str, runs: Sequence[SuiteRun], figures: list[Figure]) -> Evidence:
        exercised: dict[str, dict[str, list[str]]] = {}
        unlisted: dict[str, dict[str, list[str]]] = {}
        answers: dict[str, dict[str, list[int]]] = {}
        for run in runs:
            for key, tests in run.exercised.items():
                exercised.setdefault(key, {})[run.suite] = sorted(tests)
                answers.setdefault(key, {})[run.suite] = sorted(run.answers.get(key, ()))
            for (server, method, pattern, status), tests in run.unlisted.items():
                unlisted.setdefault(f"{server} {method} {pattern} {status}", {})[run.suite] = sorted(tests)
        kinds = {run.suite: run.kind for run in runs}
        return cls(generated, figures, exercised, kinds, unlisted, answers)

    def to_json(self) -> str:
        data = {
            "generated": self.generated,
            "figures": [vars(figure) for figure in self.figures],
            "kinds": self.kinds,
            "exercised": {key: self.exercised[key] for key in sorted(self.exercised)},
            "unlisted": {key: self.unlisted[key] for key in sorted(self.unlisted)},
            "answers": {key: self.answers[key] for key in sorted(self.answers)},
        }
        return json.dumps(data, indent=1, ensure_ascii=False) + "\n"

    @classmethod
    def read(cls, path: Path) -> Evidence:
        return cls.read_json(path.read_text())

    @classmethod
    def read_json(cls, text: str) -> Evidence:
        data = json.loads(text)
        figures = [Figure(**figure) for figure in data["figures"]]
        fields = ("exercised", "kinds", "unlisted", "answers")
        return cls(data["generated"], figures, *(data.get(name, {}) for name in fields))


# -- the page -----------------------------------------------------------------------------------------

HEADER = """# Reference stack coverage: every route, and what exercises it

Generated by `python benchmarks/fidelity.py` (it runs the fidelity suites and our own suites with the
stack's route log on); `python benchmarks/fidelity.py --table-only` renders it again from the routes the
stack serves now and the last run's evidence (`docs/refstack-coverage.json`), and
`tests/unit/test_fidelity_coverage.py` fails when this page does not list exactly the routes the stack
serves. A route is named by its pattern; *client tests* are the clients' own tests (python-gitlab's
functional tests, the kubernetes client's e2e tests, the kubectl set), *our suites* are this project's
(with how many of their tests), *answers* the statuses the route answered them with. A cell counts the tests
whose stretch of the route log holds a request on that route, the stack's own requests during the test
included (its git hooks call GitLab's internal API).
The source is what the handler's docstring and comments cite (`module:` when only its module's docstring
does); "no source cited" is a finding about the emulation.
"""


def render(routes: Sequence[Route], evidence: Evidence) -> str:
    """The coverage page for ``routes`` with ``evidence``'s figures and exercising tests."""
    lines = [HEADER, f"Last run: {evidence.generated}.", "", "## Figures", ""]
    lines += ["| Suite | Kind | Passed / in scope | Ratio | Out of scope |", "|---|---|---|---|---|"]
    for figure in evidence.figures:
        if figure.note:
            lines.append(f"| {figure.suite} | {figure.kind} | {figure.note} | | |")
            continue
        out = "" if figure.out_of_scope is None else str(figure.out_of_scope)
        counts = f"{figure.passed}/{figure.in_scope}"
        lines.append(f"| {figure.suite} | {figure.kind} | {counts} | {figure.ratio:.1%} | {out} |")
    lines += ["", *_route_totals(routes, evidence), ""]
    for server in sorted({route.server for route in routes}):
        served = [route for route in routes if route.server == server]
        lines += [f"## {server} ({len(served)} routes)", ""]
        lines += [
            "| Method | Route | Client tests | Our suites | Answers | Handler | Source |",
            "|---|---|---|---|---|---|---|",
        ]
        lines += [_row(route, evidence) for route in served]
        lines.append("")
    lines += _unlisted(evidence)
    return "\n".join(lines).rstrip("\n") + "\n"


def _by_kind(route: Route, evidence: Evidence, kind: str) -> dict[str, list[str]]:
    suites = evidence.exercised.get(route.key, {})
    return {suite: tests for suite, tests in suites.items() if evidence.kinds.get(suite) == kind}


def _route_totals(routes: Sequence[Route], evidence: Evidence) -> list[str]:
    by_client = sum(1 for route in routes if _by_kind(route, evidence, "client"))
    by_ours = sum(1 for route in routes if _by_kind(route, evidence, "ours"))
    by_nothing = sum(1 for route in routes if route.key not in evidence.exercised)
    uncited = sum(1 for route in routes if route.sources == (NO_SOURCE,))
    return [
        f"Routes served: {len(routes)}; exercised by client tests: {by_client}; by our suites: {by_ours}; "
        f"by nothing: {by_nothing}; handlers citing no source: {uncited}."
    ]


def _row(route: Route, evidence: Evidence) -> str:
    clients = _by_kind(route, evidence, "client")
    ours = _by_kind(route, evidence, "ours")
    client_cell = "; ".join(f"{suite}: {_tests_cell(tests)}" for suite, tests in sorted(clients.items()))
    ours_cell = ", ".join(f"{suite}: {len(tests)}" for suite, tests in sorted(ours.items()))
    if not clients and not ours:
        client_cell = "**not exercised**"
    handler = route.handler.replace("nautes_refstack.", "")
    sources = "; ".join(route.sources)
    statuses = sorted({code for codes in evidence.answers.get(route.key, {}).values() for code in codes})
    answers = ", ".join(str(code) for code in statuses)
    return (
        f"| {route.method} | `{_cell(route.pattern)}` | {client_cell} | {ours_cell} | {answers} "
        f"| `{_cell(handler)}` | {_cell(sources)} |"
    )


def _tests_cell(tests: list[str]) -> str:
    shown = ", ".join(f"`{_cell(_short(test))}`" for test in tests[:TESTS_SHOWN])
    more = f" +{len(tests) - TESTS_SHOWN} more" if len(tests) > TESTS_SHOWN else ""
    return f"{len(tests)} ({shown}{more})"


def _short(test: str) -> str:
    """A node id without its file's directories: ``test_projects.py::test_create``."""
    path, separator, rest = test.partition("::")
    return path.rsplit("/", 1)[-1] + separator + rest


def _requests_cell(tests: list[str]) -> str:
    """How many requests, and from which tests."""
    distinct = list(dict.fromkeys(tests))
    shown = ", ".join(f"`{_cell(_short(test))}`" for test in distinct[:TESTS_SHOWN])
    more = f" +{len(distinct) - TESTS_SHOWN} more" if len(distinct) > TESTS_SHOWN else ""
    return f"{len(tests)} ({shown}{more})"


def _unlisted(evidence: Evidence) -> list[str]:
    if not evidence.unlisted:
        return []
    lines = [
        "## Answered on routes the list does not name",
        "",
        "The list is a fresh stack's routes. A client can make more exist: a CustomResourceDefinition it "
        "creates has its resources served (those answers are 2xx here). A 404 or 405 here is what a client "
        "asked for that the emulation does not serve; `(no route)` means no router pattern matched, so none "
        "can name it (the concrete path is never logged).",
        "",
        "| Server | Method | Route | Status | Requests by suite |",
        "|---|---|---|---|---|",
    ]
    for key, suites in sorted(evidence.unlisted.items()):
        server, method, rest = key.split(" ", 2)
        pattern, status = rest.rsplit(" ", 1)
        counts = "; ".join(f"{suite}: {_requests_cell(tests)}" for suite, tests in sorted(suites.items()))
        lines.append(f"| {server} | {method} | `{_cell(pattern)}` | {status} | {counts} |")
    return [*lines, ""]


_SERVER_HEADING = re.compile(r"^## (\S+) \(\d+ routes\)$")
_ROUTE_ROW = re.compile(r"^\| (\S+) \| `(.+?)` \|")


def routes_on_page(page: str) -> set[str]:
    """The keys of the routes a rendered page lists (to name what a stale page lacks or has too many)."""
    keys, server = set(), None
    for line in page.splitlines():
        if heading := _SERVER_HEADING.match(line):
            server = heading.group(1)
        elif line.startswith("## "):
            server = None
        elif server is not None and (row := _ROUTE_ROW.match(line)):
            keys.add(route_key(server, row.group(1), row.group(2).replace("\\|", "|")))
    return keys


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")
