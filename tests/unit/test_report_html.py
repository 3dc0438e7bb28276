"""``report.html``: written next to report.json, well-formed, self-contained, each failed stage's diagnosis
first and in full with its evidence, every stage on the timeline and in the table with its facts as readable
lists, every text escaped, and no secret in it. How it lays out in a browser is
``test_report_html_browser.py``."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from nautes_e2e.report import (
    Report,
    RunError,
    RunSummary,
    ScenarioSummary,
    TargetSummary,
    render_html,
    write_reports,
)
from nautes_e2e.scenario import Note
from nautes_e2e.secrets import Secret
from nautes_e2e.stages import StageRecord

pytest_plugins = ["pytester"]

#: A secret that changes when HTML-escaped: redacting only the finished page would miss it.
PLANTED = Secret("pl<nted&secret-7d1e")
STARTED = datetime(2026, 11, 29, 21, 0, tzinfo=UTC)
HTML_VOID_ELEMENTS = {"meta", "col"}
SVG_ELEMENTS = {"svg", "rect", "title"}


def make_report() -> Report:
    stages = (
        StageRecord(
            name="preflight",
            status="passed",
            start="2026-11-29T21:00:00.000Z",
            duration_s=2.0,
            facts={
                "gitlab_user": "root",
                "repo_ids": {"coderepo-sc-demo": 57},
                "registry_auth_hosts": ["127.0.0.1:5000", "registry.local"],
                "passed_over": {},
                "task_results": [{"name": "image-build", "results": {"IMAGE_DIGEST": "sha256:ab"}}],
            },
        ),
        StageRecord(
            name="register_cluster",
            status="failed",
            start="2026-11-29T21:00:02.000Z",
            duration_s=5.0,
            facts={"echo": PLANTED.reveal(), "reply": {"headers": {"token": PLANTED.reveal()}}},
            diagnosis=f"POST answered 500: <script>alert('x')</script> & token {PLANTED.reveal()}\n"
            "second line of the diagnosis",
            evidence=["evidence/register_cluster/error body.json"],
            notes=["the API server answered without TLS"],
        ),
        StageRecord(
            name="initialise_product",
            status="skipped",
            start="2026-11-29T21:00:07.000Z",
            skip_reason="blocked by register_cluster",
        ),
        StageRecord(name="teardown", status="error", start="2026-11-29T21:00:07.500Z", duration_s=2.5),
    )
    return Report(
        run=RunSummary(
            id="run-1",
            started=STARTED,
            finished=STARTED + timedelta(seconds=10),
            result="failed",
            command_line="pytest suites/quickstart --keep-env",
            kept_environment=True,
        ),
        target=TargetSummary(name="local", simulated=True, endpoints={"nautes": "http://127.0.0.1:8000"}),
        scenario=ScenarioSummary(
            name="quickstart",
            notes=(
                Note(
                    topic="cluster <components>",
                    quickstart="tektonHost",
                    behaviour="componentsList.pipeline.additions.host",
                    source="contract §1.7",
                ),
            ),
        ),
        stages=stages,
        facts={},
        environment={"python": "3.11.7", "docker": ""},  # an empty value must not make an empty <dd/>
    )


@pytest.fixture
def page() -> str:
    return render_html(make_report())


def parse(page: str) -> ET.Element:
    return ET.fromstring(page.removeprefix("<!DOCTYPE html>\n"))


class TagBalance(HTMLParser):
    """Checks the page as a browser reads it: every HTML element closed in order, and only void and SVG
    elements self-closed (a browser reads ``<td/>`` as an open cell)."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.self_closed: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.self_closed.add(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open[-1:] == [tag], f"</{tag}> closes {self.open[-1:]}"
        self.open.pop()


def test_the_page_is_well_formed_for_xml_and_for_a_browser(page: str) -> None:
    root = parse(page)
    balance = TagBalance()
    balance.feed(page)
    balance.close()

    assert page.startswith("<!DOCTYPE html>\n")
    assert root.tag == "html"
    assert balance.open == []
    assert balance.self_closed <= HTML_VOID_ELEMENTS | SVG_ELEMENTS


def test_the_page_is_self_contained(page: str) -> None:
    root = parse(page)

    assert root.find("head/meta[@charset='utf-8']") is not None
    assert root.find("head/style") is not None
    assert not [element.tag for element in root.iter() if element.tag in ("script", "link", "img", "iframe")]
    assert not [element for element in root.iter() if element.get("src") is not None]
    assert "url(" not in page
    assert "@import" not in page
    hrefs = [element.get("href") or "" for element in root.iter("a")]
    assert hrefs
    assert all(href.startswith(("#stage-", "#diagnosis-", "evidence/")) for href in hrefs)
    ids = {element.get("id") for element in root.iter()}
    assert {href[1:] for href in hrefs if href.startswith("#")} <= ids


def test_the_header_names_scenario_target_simulation_result_exit_code_start_and_duration(page: str) -> None:
    header = parse(page).find(".//section[@id='run']/dl")
    assert header is not None
    terms = [element.text for element in header.iter("dt")]
    values = [element.text for element in header.iter("dd")]

    assert dict(zip(terms, values, strict=True)) == {
        "scenario": "quickstart",
        "target": "local (simulated)",
        "simulated": "yes",
        "result": "failed",
        "exit code": "1",
        "run": "run-1",
        "started": "2026-11-29 21:00:00 UTC",
        "duration": "10.0 s",
        "environment kept": "yes (--keep-env)",
        "command line": "pytest suites/quickstart --keep-env",
    }


def test_the_timeline_places_each_stage_by_start_and_duration(page: str) -> None:
    timeline = parse(page).find(".//table[@class='timeline']")
    assert timeline is not None
    bars = {
        (row.findtext("th/a") or ""): row.find("td/svg/rect")
        for row in timeline.iter("tr")
        if row.find("td/svg/rect") is not None
    }

    assert list(bars) == ["preflight", "register_cluster", "initialise_product", "teardown"]
    placed = {name: (bar.get("class"), bar.get("x"), bar.get("width")) for name, bar in bars.items() if bar}
    assert placed == {
        "preflight": ("passed", "0.00%", "20.00%"),
        "register_cluster": ("failed", "20.00%", "50.00%"),
        "initialise_product": ("skipped", "70.00%", "0.40%"),  # no duration: the narrowest bar
        "teardown": ("error", "75.00%", "25.00%"),
    }


def test_failed_stages_come_first_with_the_diagnosis_in_full_notes_and_evidence(page: str) -> None:
    body = parse(page).find("body")
    assert body is not None
    sections = [section.get("id") for section in body.iter("section")]
    problems = body.find("section[@id='problems']")
    assert problems is not None
    blocks = problems.findall("article")

    assert sections[0] == "problems"
    assert [block.get("id") for block in blocks] == ["diagnosis-register_cluster", "diagnosis-teardown"]
    register, teardown = blocks
    assert shown(blocks[0][0]) == "register_cluster failed after 5.0 s"
    assert register.findtext("pre[@class='diagnosis']") == (
        "POST answered 500: <script>alert('x')</script> & token ***\nsecond line of the diagnosis"
    )
    assert register.findtext("p") == "note: the API server answered without TLS"
    link = register.find("ul[@class='evidence']/li/a")
    assert link is not None
    assert (link.get("href"), link.text) == (
        "evidence/register_cluster/error%20body.json",
        "evidence/register_cluster/error body.json",
    )
    assert teardown.findtext("pre[@class='diagnosis']") == "no diagnosis was recorded"


def test_a_run_error_comes_first() -> None:
    report = make_report()
    errored = replace(
        report,
        run=replace(report.run, result="error", error=RunError("configuration", "target.yaml: url: missing")),
    )
    problems = parse(render_html(errored)).find(".//section[@id='problems']")
    assert problems is not None
    first = problems.find("article")
    assert first is not None

    assert (first.get("id"), first.findtext("h3"), first.findtext("pre")) == (
        "run-error",
        "configuration error",
        "target.yaml: url: missing",
    )


def test_a_passed_run_has_no_problem_section() -> None:
    report = make_report()
    passed = replace(
        report,
        run=replace(report.run, result="passed"),
        stages=tuple(replace(stage, status="passed", diagnosis=None) for stage in report.stages),
    )
    body = parse(render_html(passed)).find("body")
    assert body is not None

    assert next(section.get("id") for section in body.iter("section")) == "run"


def shown(element: ET.Element) -> str:
    """An element's text as a browser shows it: runs of white space (the page's indentation) as one."""
    return " ".join("".join(element.itertext()).split())


def fact_lines(facts: ET.Element) -> list[str]:
    """Each list item's own line (its text without its nested list, as shown), indented by its depth."""

    def lines(element: ET.Element, depth: int) -> list[str]:
        found = []
        for item in element.findall("li"):
            own = "".join("".join(span.itertext()) + (span.tail or "") for span in item.findall("span"))
            found.append("  " * depth + " ".join(own.split()))
            for nested in item.findall("ul"):
                found.extend(lines(nested, depth + 1))
        return found

    return lines(facts, 0)


def test_the_stage_table_has_every_stage_with_readable_facts_and_evidence(page: str) -> None:
    table = parse(page).find(".//table[@class='stages']")
    assert table is not None
    rows = {row.get("id"): row for row in table.iter("tr") if row.get("id")}

    assert list(rows) == [
        "stage-preflight",
        "stage-register_cluster",
        "stage-initialise_product",
        "stage-teardown",
    ]
    preflight = rows["stage-preflight"]
    assert [cell.get("class") for cell in preflight.iter("td")][1] == "status passed"
    facts = preflight.find(".//ul[@class='facts']")
    assert facts is not None
    assert fact_lines(facts) == [
        "gitlab_user: root",
        "repo_ids",
        "  coderepo-sc-demo: 57",
        "registry_auth_hosts: 127.0.0.1:5000, registry.local",
        "passed_over: none",
        "task_results",
        "  #1",
        "    name: image-build",
        "    results",
        "      IMAGE_DIGEST: sha256:ab",
    ]
    assert "{" not in "".join(facts.itertext())
    register = rows["stage-register_cluster"]
    to_diagnosis = register.find(".//a[@href='#diagnosis-register_cluster']")
    assert to_diagnosis is not None
    assert register.find(".//pre") is None  # the diagnosis is shown once, above
    assert register.findtext(".//p[2]") == "note: the API server answered without TLS"
    link = register.find(".//ul[@class='evidence']/li/a")
    assert link is not None
    assert link.get("href") == "evidence/register_cluster/error%20body.json"
    assert rows["stage-initialise_product"].findtext(".//p") == "blocked by register_cluster"
    assert [col.get("style") for col in table.iter("col")] == [
        "width: 19%",
        "width: 7%",
        "width: 7%",
        "width: 42%",
        "width: 25%",
    ]


def test_text_is_escaped_and_no_secret_appears(page: str) -> None:
    assert "<script" not in page
    assert "&lt;script&gt;alert('x')&lt;/script&gt; &amp; token ***" in page
    assert "cluster &lt;components&gt;" in page
    assert PLANTED.reveal() not in page
    assert "pl&lt;nted&amp;secret-7d1e" not in page
    register = parse(page).find(".//tr[@id='stage-register_cluster']//ul[@class='facts']")
    assert register is not None
    assert fact_lines(register) == ["echo: ***", "reply", "  headers", "    token: ***"]


def test_the_writer_puts_report_html_next_to_report_json(tmp_path: Path) -> None:
    written = write_reports(make_report(), tmp_path)

    assert tmp_path / "report.html" in written
    assert (tmp_path / "report.json").is_file()
    assert (tmp_path / "report.html").read_text(encoding="utf-8") == render_html(make_report())


def test_a_run_writes_report_html_with_every_stage_and_no_secret(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_suite="""
import pytest
from nautes_e2e.scenario import Note
from nautes_e2e.secrets import Secret

TOKEN = Secret("glpat-html-PLANTED-5be2")


@pytest.mark.stage("preflight")
def test_preflight(stage):
    stage.fact("token_echo", TOKEN.reveal())


@pytest.mark.stage("register_cluster", needs=("preflight",))
def test_register_cluster(stage):
    stage.fail("<script>steal()</script> token " + TOKEN.reveal(), error_body={"token": TOKEN.reveal()})


@pytest.mark.stage("initialise_product", needs=("register_cluster",))
def test_initialise_product(stage):
    pass
"""
    )

    result = pytester.runpytest("--run-id", "run")

    result.assert_outcomes(passed=1, failed=1, skipped=1)
    page = (pytester.path / "reports" / "run" / "report.html").read_text(encoding="utf-8")
    stage_table = parse(page).find(".//table[@class='stages']")
    assert stage_table is not None
    assert [row.get("id") for row in stage_table.iter("tr") if row.get("id")] == [
        "stage-preflight",
        "stage-register_cluster",
        "stage-initialise_product",
    ]
    assert "&lt;script&gt;steal()&lt;/script&gt; token ***" in page
    assert "<script" not in page
    assert "glpat-html-PLANTED-5be2" not in page
    assert 'href="evidence/register_cluster/error_body.json"' in page
