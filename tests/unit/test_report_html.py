"""``report.html``: written next to report.json, well-formed, self-contained, with every stage on the timeline
and in the table, every text escaped, and no secret in it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from nautes_e2e.report import (
    Report,
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
HTML_VOID_ELEMENTS = {"meta"}
SVG_ELEMENTS = {"svg", "rect", "title"}


def make_report() -> Report:
    stages = (
        StageRecord(
            name="preflight",
            status="passed",
            start="2026-11-29T21:00:00.000Z",
            duration_s=2.0,
            facts={"gitlab_user": "root", "repo_ids": {"coderepo-sc-demo": 57}},
        ),
        StageRecord(
            name="register_cluster",
            status="failed",
            start="2026-11-29T21:00:02.000Z",
            duration_s=5.0,
            facts={"echo": PLANTED.reveal()},
            diagnosis=f"POST answered 500: <script>alert('x')</script> & token {PLANTED.reveal()}",
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
    assert all(href.startswith(("#stage-", "evidence/")) for href in hrefs)


def test_the_header_names_scenario_target_simulation_result_exit_code_start_and_duration(page: str) -> None:
    header = parse(page).find("body/dl")
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


def test_the_stage_table_has_every_stage_with_facts_diagnosis_and_evidence(page: str) -> None:
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
    assert [item.text for item in preflight.iter("li")] == [
        "gitlab_user = root",
        'repo_ids = {"coderepo-sc-demo":57}',
    ]
    register = rows["stage-register_cluster"]
    assert register.findtext(".//pre") == "POST answered 500: <script>alert('x')</script> & token ***"
    assert register.findtext(".//p") == "note: the API server answered without TLS"
    link = register.find(".//a")
    assert link is not None
    assert (link.get("href"), link.text) == (
        "evidence/register_cluster/error%20body.json",
        "evidence/register_cluster/error body.json",
    )
    assert rows["stage-initialise_product"].findtext(".//pre") == "blocked by register_cluster"


def test_text_is_escaped_and_no_secret_appears(page: str) -> None:
    assert "<script" not in page
    assert "&lt;script&gt;alert('x')&lt;/script&gt; &amp; token ***" in page
    assert "cluster &lt;components&gt;" in page
    assert PLANTED.reveal() not in page
    assert "pl&lt;nted&amp;secret-7d1e" not in page
    assert "echo = ***" in page


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
