"""``report.html`` as a maintainer sees it: laid out by headless Chromium in a 1400 by 900 window, a failed
quickstart's page shows each diagnosis on the first screen, whole and within the window's width, and neither
a failed nor a passed page (the TaskRun map, the repository URLs) scrolls sideways. A matrix run's page (eight
instances by twelve stages) keeps its grid within the window, each column wide enough to read, each failed
stage's first diagnosis line whole in its cell.

The pages are rendered from report models shaped like real runs' (facts, diagnosis and evidence taken from
quickstart reports), not by running the quickstart. Chromium's ``--dump-dom`` loads a copy of the page with a
probe script appended, which measures the laid-out page and writes what it found into the DOM that Chromium
prints: no DevTools client is needed. Debian's ``chromium`` package provides the browser (``.ci/run``
installs it); the tests skip, saying so, only where there is none.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from nautes_e2e.report import Report, RunSummary, ScenarioSummary, TargetSummary, write_reports
from nautes_e2e.report.matrix import write_matrix_summary
from nautes_e2e.scenario import Note
from nautes_e2e.secrets import Secret
from nautes_e2e.stages import StageRecord

WINDOW = (1400, 900)
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
BROWSER_TIMEOUT_S = 60
#: Appended to the page under test only: the report itself carries no script.
PROBE = """<script>
addEventListener("load", () => {
  const page = document.documentElement;
  const diagnoses = [...document.querySelectorAll("pre.diagnosis")].map((element) => {
    const box = element.getBoundingClientRect();
    return {text: element.textContent, left: box.left, right: box.right, top: box.top, width: box.width,
            scrollWidth: element.scrollWidth, clientWidth: element.clientWidth};
  });
  const columns = [...document.querySelectorAll("table.matrix tr:first-child th")].map((element) => {
    const box = element.getBoundingClientRect();
    return {text: element.textContent, left: box.left, right: box.right, width: box.width};
  });
  const cells = [...document.querySelectorAll("table.matrix td, table.matrix th")].map(
    (element) => ({text: element.textContent, scrollWidth: element.scrollWidth,
                   clientWidth: element.clientWidth}));
  document.body.setAttribute("data-layout", JSON.stringify({
    scrollWidth: page.scrollWidth, clientWidth: page.clientWidth, innerWidth, innerHeight, diagnoses, columns,
    cells}));
});
</script>"""

TOKEN = Secret("glpat-browser-PLANTED-41c9")
STARTED = datetime(2026, 12, 5, 1, 1, 35, tzinfo=UTC)
PORT = "127.0.0.1:35385"
REPOS = (
    "coderepo-sc-demo-quickstart",
    "coderepo-deploy-demo-quickstart",
    "coderepo-pipeline-demo-quickstart",
)
#: A real diagnosis's shape: several lines, one of them a URL longer than the window is wide.
WEBHOOK_DIAGNOSIS = (
    "no PipelineRun appeared in pr-demo-quickstart within 60s of the push: the push webhook was not "
    "delivered or did not trigger the Sensor (push webhooks on coderepo-sc-demo-quickstart: none)\n"
    "  - the EventSource product-3-pr-demo-quickstart listens at "
    f"http://{PORT}/product-3-pr-demo-quickstart/repo-3/{'a1b2c3d4' * 30}\n"
    "  - GitLab's hook list for project 3 is empty; the event source registers it when it starts"
)
REGISTER_DIAGNOSIS = (
    "POST /api/v1/clusters/physical-worker-quickstart answered 500: the cluster's kubeconfig in Vault at "
    "secret/data/kubernetes/physical-worker-quickstart/default/admin could not be read "
    f"(token {TOKEN.reveal()})"
)


def stage(name: str, offset_s: float, duration_s: float, **fields: Any) -> StageRecord:
    start = (STARTED + timedelta(seconds=offset_s)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return StageRecord(
        name=name, status=fields.pop("status", "passed"), start=start, duration_s=duration_s, **fields
    )


def quickstart_stages() -> list[StageRecord]:
    """A passed quickstart's stages, with the facts and evidence its report holds."""
    return [
        stage(
            "preflight",
            0.1,
            3.0,
            facts={
                "target": "local",
                "kubernetes_version": "v1.21.14+k3s1",
                "inventory": {"Nautes": 0, "GitLab": 2, "Vault": 3, "Kubernetes": 4},
            },
            evidence=["evidence/preflight/inventory-before.json"],
        ),
        stage(
            "initialise_product",
            3.1,
            6.3,
            facts={
                "repo_ids": {repo: index for index, repo in enumerate(REPOS, start=3)},
                "repo_ssh_urls": {repo: f"ssh://git@{PORT}/demo-quickstart/{repo}.git" for repo in REPOS},
                "source_hook": "http://127.0.0.1:36509/product-3-pr-demo-quickstart/repo-3",
            },
            evidence=[
                f"evidence/initialise_product/{name}.json" for name in ("read-back-product", "deploy-keys")
            ],
        ),
        stage("registry_auth", 9.4, 0.0, facts={"registry_auth_hosts": ["127.0.0.1:39837"]}),
        stage(
            "pipelinerun_succeeded",
            9.5,
            3.5,
            facts={
                "pipelinerun": "main-pipiline-nb849",
                "taskruns": {
                    "git-clone-sourcecode": "Succeeded: All Steps have completed executing",
                    "mvn-build": "Succeeded: maven not executed in the reference stack; verified "
                    "sourcecode/pom.xml (io.nautes.e2e:devops-sample:0.0.1) and goals "
                    "[-DskipTests clean install -f sourcecode/pom.xml]",
                },
                "task_results": {
                    "image-build": {
                        "IMAGE_DIGEST": "sha256:" + "28017639b754b2a3" * 4,
                        "IMAGE_URL": f"127.0.0.1:39837/devops-sample:0.0.1-{'ae83e56a' * 5}",
                    },
                    "mvn-build": {},
                },
            },
            evidence=["evidence/pipelinerun_succeeded/taskruns.json"],
        ),
        stage("teardown", 13.0, 5.1, facts={"run_objects": 63, "removed": 9}),
    ]


def failed_quickstart() -> list[StageRecord]:
    """The same run where the cluster's registration errored and the webhook never triggered a run."""
    stages = quickstart_stages()
    stages.insert(
        1,
        stage(
            "register_cluster",
            3.0,
            1.2,
            status="error",
            facts={"echo": TOKEN.reveal()},
            diagnosis=REGISTER_DIAGNOSIS,
            evidence=["evidence/register_cluster/error_body.json"],
        ),
    )
    pipeline = next(record for record in stages if record.name == "pipelinerun_succeeded")
    pipeline.status, pipeline.facts, pipeline.duration_s = "failed", {}, 60.0
    pipeline.diagnosis = WEBHOOK_DIAGNOSIS
    pipeline.evidence = ["evidence/pipelinerun_succeeded/source-repo-webhooks.json"]
    return stages


def report(stages: list[StageRecord]) -> Report:
    failed = any(record.status in ("failed", "error") for record in stages)
    note = Note(
        topic="cluster components",
        quickstart="「componentsList 可选」 (componentsList is optional)",
        behaviour="tekton.<cluster>.<IP of the api-server host>.nip.io, " + "x" * 150,
        source="contract §1.7; NAUTES app/api-server/pkg/clusters/pipeline.go",
    )
    return Report(
        run=RunSummary(
            id="20261205T010135Z-08dadb",
            started=STARTED,
            finished=STARTED + timedelta(seconds=76.4),
            result="failed" if failed else "passed",
            command_line="pytest suites/quickstart -q "
            + " ".join(f"--suffix=s{index}" for index in range(40)),
            kept_environment=False,
        ),
        target=TargetSummary(name="local", simulated=True, endpoints={"nautes": "http://127.0.0.1:44975"}),
        scenario=ScenarioSummary(name="quickstart", notes=(note,)),
        stages=tuple(stages),
        facts={},
        environment={"python": "3.11.7", "platform": "Linux-6.18.44-fc-v1272-x86_64-with-glibc2.36"},
    )


def chromium() -> str:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    pytest.skip(
        "no Chromium on this machine to lay report.html out: install Debian's chromium package "
        "(apt-get install chromium; .ci/run does so when it runs as root)"
    )


def layout(page: Path, browser: str, profile: Path) -> dict[str, Any]:
    """What the probe measured once Chromium loaded ``page`` in a window of :data:`WINDOW`."""
    probed = page.with_name("probed.html")
    probed.write_text(
        page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8"
    )
    shown = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",  # as root (CI containers) Chromium starts only without its sandbox
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            f"--user-data-dir={profile}",
            f"--window-size={WINDOW[0]},{WINDOW[1]}",
            "--dump-dom",
            probed.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=BROWSER_TIMEOUT_S,
        check=False,
    )
    found = re.search(r'data-layout="([^"]*)"', shown.stdout)
    assert found, f"Chromium exited {shown.returncode} without the probe's layout:\n{shown.stderr[-2000:]}"
    measured: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    return measured


@pytest.fixture
def browser() -> str:
    return chromium()


def written_page(stages: list[StageRecord], run_dir: Path) -> Path:
    write_reports(report(stages), run_dir)
    return run_dir / "report.html"


def test_a_failed_runs_diagnoses_are_on_the_first_screen_whole_and_within_its_width(
    browser: str, tmp_path: Path
) -> None:
    page = written_page(failed_quickstart(), tmp_path / "run")
    measured = layout(page, browser, tmp_path / "profile")
    diagnoses = measured["diagnoses"]

    assert measured["innerWidth"] == WINDOW[0]
    assert [" ".join(d["text"].split()) for d in diagnoses] == [
        " ".join(REGISTER_DIAGNOSIS.replace(TOKEN.reveal(), "***").split()),
        " ".join(WEBHOOK_DIAGNOSIS.split()),
    ]
    for diagnosis in diagnoses:
        assert diagnosis["width"] > 0
        assert 0 <= diagnosis["left"] < diagnosis["right"] <= measured["clientWidth"], diagnosis["text"][:80]
        assert diagnosis["scrollWidth"] <= diagnosis["clientWidth"], "the diagnosis is cut inside its box"
    assert diagnoses[0]["top"] < measured["innerHeight"], "the first diagnosis needs scrolling down"
    assert measured["scrollWidth"] <= measured["clientWidth"], "the page scrolls sideways"
    assert TOKEN.reveal() not in page.read_text(encoding="utf-8")


def test_a_passed_runs_page_with_structured_facts_does_not_scroll_sideways(
    browser: str, tmp_path: Path
) -> None:
    page = written_page(quickstart_stages(), tmp_path / "run")
    measured = layout(page, browser, tmp_path / "profile")

    assert measured["diagnoses"] == []
    assert measured["scrollWidth"] <= measured["clientWidth"], "the page scrolls sideways"


#: A nightly matrix at its widest: two cluster types by four suffixes, each a quickstart of twelve stages.
MATRIX_INSTANCES = tuple(
    f"{kind}-nightly-{index}" for kind in ("physical", "virtual") for index in range(1, 5)
)
MATRIX_STAGES = (
    "world-start",
    "preflight",
    "register_cluster",
    "initialise_product",
    "registry_auth",
    "source_pushed",
    "pipelinerun_succeeded",
    "image_published",
    "image_tag_rewritten",
    "argocd_synced",
    "deployment_ready",
    "teardown",
)
#: A first diagnosis line as real ones read: a URL that no narrow column holds unbroken.
MATRIX_DIAGNOSIS = (
    f"GitLab at http://{PORT}/api/v4/projects/demo-quickstart%2Fcoderepo-sc-demo-quickstart/hooks?"
    f"per_page=100&page={'9' * 40} did not answer: connection refused\n"
    "  - the second line stays on the instance's page"
)
#: The narrowest an instance's column may be for its name, status and a diagnosis line to read.
MIN_INSTANCE_COLUMN_PX = 110


def matrix_instance(run_dir: Path, name: str, failing: bool) -> Path:
    """One instance of the matrix under ``instances/<name>/``; a failing one's pipeline never ran."""
    stages = [stage(name, index * 1.0, 1.0) for index, name in enumerate(MATRIX_STAGES)]
    if failing:
        pipeline = MATRIX_STAGES.index("pipelinerun_succeeded")
        stages[pipeline].status, stages[pipeline].diagnosis = "failed", MATRIX_DIAGNOSIS
        for later in stages[pipeline + 1 : -1]:
            later.status, later.skip_reason = "skipped", "blocked by pipelinerun_succeeded"
    folder = run_dir / "instances" / name
    write_reports(report(stages), folder)
    return folder / "report.json"


def test_a_matrix_page_of_eight_instances_by_twelve_stages_reads_within_the_window(
    browser: str, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    failing = {MATRIX_INSTANCES[1], MATRIX_INSTANCES[6]}
    write_matrix_summary(
        run_dir, {name: matrix_instance(run_dir, name, name in failing) for name in MATRIX_INSTANCES}
    )
    measured = layout(run_dir / "report.html", browser, tmp_path / "profile")

    assert measured["scrollWidth"] <= measured["clientWidth"], "the page scrolls sideways"
    first_line = " ".join(MATRIX_DIAGNOSIS.splitlines()[0].split())
    assert [" ".join(d["text"].split()) for d in measured["diagnoses"]] == [first_line] * len(failing)
    for diagnosis in measured["diagnoses"]:
        assert 0 <= diagnosis["left"] < diagnosis["right"] <= measured["clientWidth"]
        assert diagnosis["scrollWidth"] <= diagnosis["clientWidth"], "the diagnosis is cut inside its cell"
    columns = measured["columns"]
    assert [" ".join(column["text"].split()) for column in columns[1:]] == [
        f"{name} {'failed' if name in failing else 'passed'}" for name in MATRIX_INSTANCES
    ]
    assert all(column["right"] <= measured["clientWidth"] for column in columns)
    assert min(column["width"] for column in columns[1:]) >= MIN_INSTANCE_COLUMN_PX, "a column is too narrow"
    overflowing = [cell["text"] for cell in measured["cells"] if cell["scrollWidth"] > cell["clientWidth"]]
    assert overflowing == [], "cells whose content is cut"
