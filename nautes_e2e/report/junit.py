"""``junit.xml``: one testcase per stage, so CI systems show the quickstart stage by stage.

Facts become testcase properties; a failed stage carries its diagnosis in ``<failure>`` (``<error>`` when
the stage broke in setup or teardown), a skipped one its reason (``blocked by <stage>``) in ``<skipped>``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from nautes_e2e.report.model import Report, format_fact
from nautes_e2e.stages.model import StageRecord, iso_utc


def render_junit(report: Report) -> str:
    suite_name = report.scenario.name if report.scenario else "nautes-e2e"
    stages = report.stages
    suite = ET.Element(
        "testsuite",
        name=suite_name,
        tests=str(len(stages)),
        failures=str(sum(stage.status == "failed" for stage in stages)),
        errors=str(sum(stage.status == "error" for stage in stages)),
        skipped=str(sum(stage.status == "skipped" for stage in stages)),
        time=f"{sum(stage.duration_s for stage in stages):.3f}",
        timestamp=iso_utc(report.run.started),
    )
    properties = ET.SubElement(suite, "properties")
    _property(properties, "run_id", report.run.id)
    _property(properties, "result", report.run.verdict)
    _property(properties, "exit_code", str(int(report.run.exit_code)))
    if report.target is not None:
        _property(properties, "target", report.target.name)
        _property(properties, "simulated", str(report.target.simulated).lower())
    for stage in stages:
        suite.append(_testcase(stage, classname=suite_name))
    root = ET.Element("testsuites", name="nautes-e2e")
    root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _testcase(stage: StageRecord, classname: str) -> ET.Element:
    case = ET.Element("testcase", classname=classname, name=stage.name, time=f"{stage.duration_s:.3f}")
    if stage.facts:
        properties = ET.SubElement(case, "properties")
        for key, value in stage.facts.items():
            _property(properties, key, format_fact(value))
    if stage.status in ("failed", "error"):
        outcome = ET.SubElement(case, "failure" if stage.status == "failed" else "error")
        diagnosis = stage.diagnosis or stage.status
        outcome.set("message", diagnosis.splitlines()[0] if diagnosis.strip() else stage.status)
        outcome.text = "\n".join([diagnosis, *(f"evidence: {path}" for path in stage.evidence)])
    elif stage.status == "skipped":
        ET.SubElement(case, "skipped", message=stage.skip_reason or "skipped")
    if stage.notes:
        ET.SubElement(case, "system-out").text = "\n".join(stage.notes)
    return case


def _property(parent: ET.Element, name: str, value: str) -> None:
    ET.SubElement(parent, "property", name=name, value=value)
