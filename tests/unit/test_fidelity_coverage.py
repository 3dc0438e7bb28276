"""``benchmarks/fidelity.py`` and its coverage table: route-log lines are given to the test whose stretch
holds them, the table shows per route who exercised it (and routes nobody did), and the committed
``docs/refstack-coverage.md`` lists exactly the routes the stack serves now (so a route added without
regenerating the table fails this test)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import fidelity
from benchmarks.route_coverage import (
    NO_SOURCE,
    Evidence,
    Route,
    SuiteRun,
    TracedTest,
    attribute,
    figure_of,
    read_traces,
    render,
    routes_on_page,
)
from tests.fidelity.plugins import route_trace
from tests.fidelity.runner import run_upstream_suite

ROOT = Path(__file__).resolve().parents[2]
COMMAND = ROOT / "benchmarks" / "fidelity.py"
PAGE = ROOT / "docs" / "refstack-coverage.md"

ROUTES = [
    Route(
        "gitlab",
        "GET",
        "/api/v4/projects/{id}",
        "nautes_refstack.gitlab.rest.projects.get_project",
        (NO_SOURCE,),
    ),
    Route(
        "gitlab",
        "POST",
        "/api/v4/projects",
        "nautes_refstack.gitlab.rest.projects.create",
        ("https://x.y/z",),
    ),
    Route(
        "argo-events",
        "*",
        "/{path}",
        "nautes_refstack.runtime.argoevents.webhook.Receiver._handle",
        ("a.go",),
    ),
]


def log_of(*entries: tuple[str, str, str, int]) -> bytes:
    lines = [{"server": s, "method": m, "route": r, "status": st} for s, m, r, st in entries]
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


def test_each_log_line_goes_to_the_test_whose_stretch_holds_it() -> None:
    first = log_of(("gitlab", "POST", "/api/v4/projects", 201))
    second = log_of(
        ("gitlab", "GET", "/api/v4/projects/{id}", 200), ("gitlab", "GET", "/api/v4/nowhere", 404)
    )
    between = log_of(("argo-events", "POST", "/{path}", 200))  # during no test: nobody's
    log = first + between + second
    traces = "\n".join(
        json.dumps(entry)
        for entry in (
            {"root": "/repo", "test": "t.py::wrapper", "outcome": "passed", "start": 0, "end": len(log)},
            {"root": "/up", "test": "a.py::test_create", "outcome": "passed", "start": 0, "end": len(first)},
            {
                "root": "/up",
                "test": "a.py::test_get",
                "outcome": "failed",
                "start": len(first + between),
                "end": len(log),
            },
        )
    )
    run = SuiteRun("python-gitlab", "client", read_traces(traces, lambda root: root == "/up"))

    attribute(run, log, ROUTES)

    assert run.exercised == {
        "gitlab POST /api/v4/projects": ["a.py::test_create"],
        "gitlab GET /api/v4/projects/{id}": ["a.py::test_get"],
    }
    assert run.unlisted == {("gitlab", "GET", "/api/v4/nowhere", 404): ["a.py::test_get"]}
    assert run.answers == {"gitlab POST /api/v4/projects": {201}, "gitlab GET /api/v4/projects/{id}": {200}}
    figure = figure_of(run, out_of_scope=4)
    assert (figure.passed, figure.in_scope, figure.line()) == (
        1,
        2,
        "python-gitlab: 1/2 passed (50.0%), 4 out of scope",
    )


def test_the_table_shows_who_exercised_each_route_and_which_routes_nobody_did() -> None:
    client = SuiteRun(
        "python-gitlab", "client", [TracedTest("tests/functional/api/test_p.py::test_get", "passed", 0, 9)]
    )
    client.exercised = {ROUTES[0].key: ["tests/functional/api/test_p.py::test_get"]}
    client.answers = {ROUTES[0].key: {404}}
    ours = SuiteRun("quickstart", "ours", [TracedTest("suites/q.py::test_q", "passed", 0, 9)])
    ours.exercised = {ROUTES[0].key: ["suites/q.py::test_q"], ROUTES[1].key: ["suites/q.py::test_q"]}
    ours.answers = {ROUTES[0].key: {200}, ROUTES[1].key: {201}}
    evidence = Evidence.of(
        "2026-01-01 00:00 UTC", [client, ours], [figure_of(client, None), figure_of(ours, None)]
    )

    page = render(ROUTES, evidence)

    exercised_both = (
        "| GET | `/api/v4/projects/{id}` | python-gitlab: 1 (`test_p.py::test_get`) | quickstart: 1 |"
    )
    assert exercised_both + " 200, 404 |" in page
    assert "| POST | `/api/v4/projects` |  | quickstart: 1 | 201 |" in page
    assert "| * | `/{path}` | **not exercised** |  |  |" in page
    assert "| python-gitlab | client | 1/1 | 100.0% |  |" in page
    assert (
        "exercised by client tests: 1; by our suites: 2; by nothing: 1; handlers citing no source: 1" in page
    )
    assert render(ROUTES, Evidence.read_json(evidence.to_json())) == page
    assert routes_on_page(page) == {route.key for route in ROUTES}


def check(page: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(COMMAND), "--check", "--page", str(page)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_committed_table_lists_the_routes_the_stack_serves() -> None:
    checked = check(PAGE)

    assert checked.returncode == 0, checked.stderr


def test_a_route_served_but_missing_from_the_table_fails_the_check(tmp_path: Path) -> None:
    rows = PAGE.read_text().splitlines(keepends=True)
    row = next(i for i, line in enumerate(rows) if line.startswith("| GET | `/api/v4/projects/{id}` |"))
    stale = tmp_path / "refstack-coverage.md"
    stale.write_text("".join(rows[:row] + rows[row + 1 :]))

    checked = check(stale)

    assert checked.returncode == 1
    assert "out of date" in checked.stderr
    assert "served, not in the table: gitlab GET /api/v4/projects/{id}" in checked.stderr


# An upstream test standing in for one that calls the stack: the stack's answer is a line in its route log.
UPSTREAM_TESTS = """
import json, os

def answer(route):
    with open(os.environ["NAUTES_E2E_REFSTACK_ROUTE_LOG"], "a") as log:
        log.write(json.dumps({"server": "gitlab", "method": "GET", "route": route, "status": 200}) + "\\n")

def test_reads_a_project():
    answer("/api/v4/projects/{id}")

def test_fails_without_a_request():
    assert False
"""


def test_upstream_sessions_started_by_the_runner_trace_their_own_tests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upstream = tmp_path / "upstream"
    upstream.mkdir()
    (upstream / "test_up.py").write_text(UPSTREAM_TESTS)
    log, trace = tmp_path / "routes.jsonl", tmp_path / "trace.jsonl"
    # What benchmarks/fidelity.py sets for the session that runs a fidelity suite (and the runner passes on).
    monkeypatch.setenv(route_trace.ROUTE_LOG_ENV, str(log))
    monkeypatch.setenv(route_trace.TRACE_ENV, str(trace))

    result = run_upstream_suite("demo", upstream, ["test_up.py"])

    run = SuiteRun("demo", "client", read_traces(trace.read_text(), lambda root: root != str(fidelity.ROOT)))
    attribute(run, log.read_bytes(), ROUTES)
    assert [(test.test, test.outcome) for test in run.tests] == [
        ("test_up.py::test_reads_a_project", "passed"),
        ("test_up.py::test_fails_without_a_request", "failed"),
    ]
    assert run.exercised == {"gitlab GET /api/v4/projects/{id}": ["test_up.py::test_reads_a_project"]}
    assert figure_of(run, None).ratio == result.ratio
