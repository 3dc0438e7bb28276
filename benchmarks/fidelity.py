"""The reference stack's fidelity figures and its per-route coverage table, from one command.

    python benchmarks/fidelity.py [--suite NAME ...]   # run the suites, print the figures, write the table
    python benchmarks/fidelity.py --table-only         # render the table again from the last run's evidence
    python benchmarks/fidelity.py --check              # exit 1 if the table does not list the routes served

Runs the fidelity suites (python-gitlab's functional tests, the kubernetes client's e2e tests, the kubectl
set: ``tests/fidelity/*``) and our own suites (``suites/quickstart``, ``suites/api_conformance``), each as a
pytest session of its own with the stack's route log on (``NAUTES_E2E_REFSTACK_ROUTE_LOG``) and the
``route_trace`` plugin noting each test's stretch of it (the sessions those suites start for the upstream
tests load it too, ``tests/fidelity/runner.py``, and inherit the log). It prints each suite's pass ratio
(passed over the tests in scope; a skip is not a pass) with the out-of-scope count, and writes
``docs/refstack-coverage.md`` (every route the stack serves: which client tests and which of our suites
exercised it, its handler, the source it follows) and the evidence behind it, ``docs/refstack-coverage.json``.
A suite's own verdict (its 95 % floor) does not stop the others: the figures are what this command is for. CPU
seconds (user + system of the sessions and what they waited for) are printed per suite.
"""

from __future__ import annotations

import argparse
import difflib
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: ``benchmarks`` and ``tests`` import from the repository

from benchmarks.route_coverage import (  # noqa: E402  (needs the path above)
    Evidence,
    Figure,
    Route,
    SuiteRun,
    attribute,
    figure_of,
    read_routes,
    read_traces,
    render,
    routes_on_page,
)
from tests.fidelity.gitlab import selection as gitlab_selection  # noqa: E402
from tests.fidelity.kubernetes import suite as kubernetes_suite  # noqa: E402
from tests.fidelity.plugins import route_trace  # noqa: E402
from tests.fidelity.upstream import (  # noqa: E402
    UpstreamUnavailable,
    cache_root,
    pinned_version,
    upstream_tree,
)

PAGE = ROOT / "docs" / "refstack-coverage.md"
EVIDENCE = ROOT / "docs" / "refstack-coverage.json"
PLUGINS = Path(route_trace.__file__).parent
SUITE_TIMEOUT_S = 1800.0


def _gitlab_out_of_scope() -> int:
    """python-gitlab's functional test functions its selection leaves out (a file entry covers its tests)."""
    selection = gitlab_selection.load_selection()
    root = upstream_tree("python-gitlab", pinned_version("python-gitlab"), "sdist")
    functions = gitlab_selection.upstream_test_functions(root)
    return sum(1 for test in functions if test not in selection.in_scope and selection.sorted_out(test))


def _kubernetes_out_of_scope() -> int:
    return len(kubernetes_suite.read_selection().out_of_scope)


@dataclass(frozen=True)
class Suite:
    """A suite to run: ``upstream`` when the tests that count run in sessions its own tests start with
    :func:`tests.fidelity.runner.run_upstream_suite` (the outer tests only start them). ``out_of_scope``
    counts the upstream tests its selection leaves out, with a reason each."""

    name: str
    path: str
    kind: str
    upstream: bool = False
    out_of_scope: Callable[[], int] | None = None

    def counts(self, root: str) -> bool:
        """Whether a test run with rootdir ``root`` is one of this suite's: for an upstream suite, one run
        from an upstream tree in the cache or from the suite's own folder (the kubectl set's checks)."""
        path = Path(root).resolve()
        if not self.upstream:
            return path == ROOT
        return path != ROOT and any(
            path.is_relative_to(r) for r in (cache_root().resolve(), ROOT / self.path)
        )


SUITES = (
    Suite("python-gitlab", "tests/fidelity/gitlab", "client", True, _gitlab_out_of_scope),
    Suite("kubernetes-client", "tests/fidelity/kubernetes", "client", True, _kubernetes_out_of_scope),
    Suite("kubectl", "tests/fidelity/kubectl", "client", True),
    Suite("quickstart", "suites/quickstart", "ours"),
    Suite("api_conformance", "suites/api_conformance", "ours"),
)


def served_routes() -> list[Route]:
    """Every route the stack serves, as ``nautes-refstack routes --json`` lists them (it starts a stack)."""
    listed = subprocess.run(
        [sys.executable, "-m", "nautes_refstack", "routes", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if listed.returncode != 0:
        tail = "\n".join(listed.stderr.strip().splitlines()[-5:])
        raise RoutesUnavailable(f"nautes-refstack routes exited {listed.returncode}:\n{tail}")
    return read_routes(listed.stdout)


class RoutesUnavailable(RuntimeError):
    """The stack could not list its routes (it did not start): nothing to render or check against."""


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_suite(suite: Suite, routes: Sequence[Route], scratch: Path) -> tuple[SuiteRun, int, list[str]]:
    """Run ``suite`` with the route log and the trace on: its tests, what they exercised, pytest's status
    and what pytest said went wrong (node ids and its summary line; no message, which may quote a secret)."""
    log, trace = scratch / f"{suite.name}.routes.jsonl", scratch / f"{suite.name}.trace.jsonl"
    python_path = [str(PLUGINS), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    environment = {
        **os.environ,
        route_trace.ROUTE_LOG_ENV: str(log),
        route_trace.TRACE_ENV: str(trace),
        "PYTEST_PLUGINS": "route_trace",
        "PYTHONPATH": os.pathsep.join(python_path),
    }
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", suite.path, "-q", "--tb=line"],
        cwd=ROOT,
        env=environment,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=SUITE_TIMEOUT_S,
        check=False,
    )
    traces = trace.read_text() if trace.exists() else ""
    run = SuiteRun(suite.name, suite.kind, read_traces(traces, suite.counts))
    if log.exists():
        attribute(run, log.read_bytes(), routes)
    lines = completed.stdout.splitlines()
    problems = [line.split(" - ", 1)[0] for line in lines if line.startswith(("FAILED ", "ERROR "))]
    return run, completed.returncode, problems + lines[-1:]


def _out_of_scope(suite: Suite) -> int | None:
    try:
        return suite.out_of_scope() if suite.out_of_scope else None
    except UpstreamUnavailable as error:  # the run itself would have skipped: no count without the tree
        print(f"{suite.name}: out-of-scope count unknown: {error}", file=sys.stderr)
        return None


def run_all(suites: Sequence[Suite], routes: Sequence[Route]) -> tuple[list[SuiteRun], list[Figure]]:
    runs, figures = [], []
    with tempfile.TemporaryDirectory(prefix="nautes-e2e-fidelity-") as scratch:
        for suite in suites:
            if not (ROOT / suite.path).exists():
                figures.append(
                    Figure(suite.name, suite.kind, 0, 0, None, f"not run: {suite.path} does not exist")
                )
                print(figures[-1].line(), flush=True)
                continue
            cpu, started = _children_cpu_s(), time.perf_counter()
            run, status, problems = run_suite(suite, routes, Path(scratch))
            figure = figure_of(run, _out_of_scope(suite))
            if not run.tests:
                figure = Figure(suite.name, suite.kind, 0, 0, None, f"no test ran (pytest exit {status})")
            runs.append(run)
            figures.append(figure)
            print(
                f"{figure.line()}  [{_children_cpu_s() - cpu:.0f} CPU-s, "
                f"{time.perf_counter() - started:.0f} s, pytest exit {status}]",
                flush=True,
            )
            if status != 0:
                print("\n".join(f"  {line}" for line in problems), file=sys.stderr, flush=True)
    return runs, figures


def merged_evidence(runs: Sequence[SuiteRun], figures: list[Figure], previous: Evidence | None) -> Evidence:
    """This run's evidence, keeping the previous run's for suites not run this time."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    fresh = Evidence.of(now, runs, figures)
    if previous is None:
        return fresh
    rerun = {figure.suite for figure in figures}
    kept = [figure for figure in previous.figures if figure.suite not in rerun]
    order = [suite.name for suite in SUITES]
    fresh.figures = sorted(
        kept + figures, key=lambda f: order.index(f.suite) if f.suite in order else len(order)
    )
    for key, suites in previous.exercised.items():
        for suite, tests in suites.items():
            if suite not in rerun:
                fresh.exercised.setdefault(key, {})[suite] = tests
    for key, by_suite in previous.unlisted.items():
        for suite, tests in by_suite.items():
            if suite not in rerun:
                fresh.unlisted.setdefault(key, {})[suite] = tests
    for key, statuses in previous.answers.items():
        for suite, codes in statuses.items():
            if suite not in rerun:
                fresh.answers.setdefault(key, {})[suite] = codes
    fresh.kinds = {**{s: k for s, k in previous.kinds.items() if s not in rerun}, **fresh.kinds}
    return fresh


def check(page: Path, evidence: Path) -> int:
    """0 if ``page`` is what the routes served now and the evidence render, else 1 naming the routes the
    page lacks or no longer served (or, with the same routes, its first differing lines)."""
    routes = served_routes()
    expected = render(routes, Evidence.read(evidence))
    current = page.read_text() if page.exists() else ""
    if current == expected:
        return 0
    listed, served = routes_on_page(current), {route.key for route in routes}
    problems = [f"served, not in the table: {key}" for key in sorted(served - listed)]
    problems += [f"in the table, not served: {key}" for key in sorted(listed - served)]
    if not problems:
        difference = difflib.unified_diff(current.splitlines(), expected.splitlines(), lineterm="", n=0)
        problems = [line for line in difference if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    shown = problems[:20] + ([f"... and {len(problems) - 20} more"] if len(problems) > 20 else [])
    print(
        f"{page} is out of date with the routes the stack serves: run python benchmarks/fidelity.py "
        "--table-only (or the whole command).\n" + "\n".join(shown),
        file=sys.stderr,
    )
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--suite", action="append", choices=[s.name for s in SUITES], help="run only these")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--table-only", action="store_true", help="render the table from the last evidence")
    mode.add_argument("--check", action="store_true", help="exit 1 if the table is out of date")
    parser.add_argument(
        "--page", type=Path, default=PAGE, help=f"the table (default {PAGE.relative_to(ROOT)})"
    )
    parser.add_argument("--evidence", type=Path, default=EVIDENCE, help="the evidence it is rendered from")
    args = parser.parse_args(argv)
    try:
        if args.check:
            return check(args.page, args.evidence)
        routes = served_routes()
    except RoutesUnavailable as error:
        print(f"fidelity: {error}", file=sys.stderr)
        return 2
    if args.table_only:
        args.page.write_text(render(routes, Evidence.read(args.evidence)))
        return 0
    suites = [suite for suite in SUITES if not args.suite or suite.name in args.suite]
    runs, figures = run_all(suites, routes)
    previous = Evidence.read(args.evidence) if args.suite and args.evidence.exists() else None
    evidence = merged_evidence(runs, figures, previous)
    args.evidence.write_text(evidence.to_json())
    args.page.write_text(render(routes, evidence))
    print(f"coverage table: {args.page} ({len(routes)} routes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
