"""The quickstart scenario against the guide it follows (``scenarios/quickstart/guide/run-a-pipeline.md``).

Every note quotes the guide verbatim between 「 and 」 (whitespace aside), so a misquote fails here; every
place where a template differs from the guide's own template is covered by a note that says what the guide's
value does on v0.4.x; and the pipeline runtime keeps the guide's ``additionalResources``.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from nautes_e2e.clients import document_request
from nautes_e2e.scenario import Scenario
from nautes_e2e.scenario.scenario import SCENARIO_FILE, Note

QUICKSTART = Path(__file__).resolve().parents[2] / "scenarios" / "quickstart"
GUIDE = Path("guide") / "run-a-pipeline.md"  # relative to the scenario directory
QUOTE = re.compile(r"「(.*?)」", re.DOTALL)
NAUTES_API_VERSION = "nautes.resource.nautes.io/"
# What a note that covers a difference must say about the guide's own value on v0.4.x
GUIDE_OUTCOME = ("Guide as written:", "accepted as written")
VALUES = {
    "api-server": "https://8.217.50.114:6443",
    "cluster-ip": "8.217.50.114",
    "kubeconfig": "apiVersion: v1\nkind: Config\n",
    "sc-repo-id": "57",
    "sc-repo-url": "ssh://git@gitlab.example:2222/demo-quickstart/coderepo-sc-demo-quickstart.git",
    "deploy-repo-url": "ssh://git@gitlab.example:2222/demo-quickstart/coderepo-deploy-demo-quickstart.git",
    "registry-url": "registry.example:5000",
}


def normalised(text: str) -> str:
    """``text`` with every run of whitespace (line breaks and indentation included) as one space."""
    return " ".join(text.split())


def misquotes(notes: Sequence[Note], guide: str, where: str, guide_name: str) -> list[str]:
    """One message per note field that does not quote ``guide``: no 「…」 at all, no gloss around the
    quotes, or a quote that does not occur in the guide. ``where`` names the scenario file."""
    text = normalised(guide)
    problems = []
    for index, note in enumerate(notes):
        field = f"{where}: notes[{index}].quickstart ({note.topic})"
        quotes = QUOTE.findall(note.quickstart)
        if not quotes:
            problems.append(f"{field}: quotes nothing from {guide_name} (no 「…」)")
            continue
        if not normalised(QUOTE.sub("", note.quickstart)).strip(" ,;:()"):
            problems.append(f"{field}: has no English gloss around its quotes")
        for quote in quotes:
            if not normalised(quote) or normalised(quote) not in text:
                problems.append(f"{field}: 「{quote}」 does not occur in {guide_name}")
    return problems


def nautes_documents(text: str) -> Iterator[dict[str, Any]]:
    for document in yaml.safe_load_all(text):
        if isinstance(document, dict) and str(document.get("apiVersion", "")).startswith(NAUTES_API_VERSION):
            yield document


def guide_templates(guide: str) -> list[dict[str, Any]]:
    """The Nautes documents of the guide's templates: its YAML blocks that still hold ``$variables``
    (the examples after them are the same documents with the variables replaced)."""
    blocks = re.findall(r"```yaml\n(.*?)```", guide, re.DOTALL)
    templates = [block for block in blocks if "$" in block and NAUTES_API_VERSION in block]
    return [document for block in templates for document in nautes_documents(block)]


def identity(document: dict[str, Any]) -> tuple[str, ...]:
    """Which guide template a scenario document stands for: kind and name, and for a Cluster its kind of
    cluster (the guide's three cluster templates share the name ``$cluster-name``)."""
    spec = document["spec"]
    if document["kind"] == "Cluster":
        return ("Cluster", spec["name"], spec["clusterType"], spec["usage"])
    return (document["kind"], spec["name"])


def scenario_templates(scenario: Scenario) -> dict[tuple[str, ...], dict[str, Any]]:
    """The scenario's Nautes documents as written (variables not substituted), by identity."""
    documents = {}
    for files in scenario.document_groups.values():
        for file in files:
            for document in nautes_documents((scenario.directory / file).read_text()):
                documents[identity(document)] = document
    return documents


def differences(
    ours: dict[tuple[str, ...], dict[str, Any]], guides: Sequence[dict[str, Any]]
) -> list[tuple[tuple[str, ...], str]]:
    """(document, spec key) wherever a scenario template differs from the guide's template of it."""
    found: list[tuple[tuple[str, ...], str]] = []
    for guide in guides:
        key = identity(guide)
        if key not in ours:
            continue
        mine, theirs = ours[key]["spec"], guide["spec"]
        found.extend(
            (key, field) for field in sorted(set(mine) | set(theirs)) if mine.get(field) != theirs.get(field)
        )
    return found


def uncovered(found: Sequence[tuple[tuple[str, ...], str]], notes: Sequence[Note], where: str) -> list[str]:
    """One message per difference no note covers: a covering note quotes a guide line with the field's
    name and says what the guide's own value does (``GUIDE_OUTCOME``)."""
    problems = []
    for document, field in found:
        covering = [
            note
            for note in notes
            if any(re.search(rf"\b{re.escape(field)}\b", quote) for quote in QUOTE.findall(note.quickstart))
        ]
        label = f"{'/'.join(document)} spec.{field}"
        if not covering:
            problems.append(f"{where}: {label} differs from the guide and no note quotes the guide's {field}")
        elif not any(marker in note.behaviour for note in covering for marker in GUIDE_OUTCOME):
            topics = [note.topic for note in covering]
            problems.append(
                f"{where}: {label} differs from the guide; notes {topics} do not say what the guide's value "
                f"does (one of {list(GUIDE_OUTCOME)})"
            )
    return problems


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return Scenario.load(QUICKSTART)


@pytest.fixture(scope="module")
def guide() -> str:
    return (QUICKSTART / GUIDE).read_text()


def test_the_guide_is_the_v04_quickstart(guide: str) -> None:
    assert guide.startswith("---\nfooterLink: /guide/user-guide/run-a-pipeline\ntitle: 执行一条流水线\n---\n")
    assert "https://github.com/nautes-labs/cli/releases/tag/v0.4.0" in guide
    assert "componentsList:" in guide
    assert "tektonHost" not in guide  # the v0.3 cluster fields


def test_every_note_quotes_the_guide(scenario: Scenario, guide: str) -> None:
    where = str(QUICKSTART / SCENARIO_FILE)
    problems = misquotes(scenario.notes, guide, where, str(GUIDE))
    assert not problems, "\n".join(problems)
    assert len(scenario.notes) >= 15


def test_a_misquote_or_a_missing_quote_is_named(scenario: Scenario, guide: str) -> None:
    notes = list(scenario.notes)
    cli = next(index for index, note in enumerate(notes) if note.topic == "CLI version")
    notes[cli] = notes[cli].model_copy(
        update={"quickstart": notes[cli].quickstart.replace("tag/v0.4.0", "tag/v0.3.8")}
    )
    notes[0] = notes[0].model_copy(update={"quickstart": "the Cluster spec has tektonHost and argocdHost"})
    notes[1] = notes[1].model_copy(update={"quickstart": "「componentsList:」"})
    assert misquotes(notes, guide, "s.yaml", "g.md") == [
        "s.yaml: notes[0].quickstart (cluster components): quotes nothing from g.md (no 「…」)",
        "s.yaml: notes[1].quickstart (reserved namespaces): has no English gloss around its quotes",
        f"s.yaml: notes[{cli}].quickstart (CLI version): 「下载 [命令行工具]"
        "(https://github.com/nautes-labs/cli/releases/tag/v0.3.8)」 does not occur in g.md",
    ]


def test_quotes_match_across_line_breaks_and_indentation() -> None:
    note = Note(
        topic="t", quickstart="「additionalResources: git: codeRepo: x」 (gloss)", behaviour="b", source="s"
    )
    guide = "  additionalResources:\n    git:\n      codeRepo: x  \n"
    assert misquotes([note], guide, "s.yaml", "g.md") == []
    assert misquotes([note], guide.replace("codeRepo", "coderepo"), "s.yaml", "g.md") != []


def test_the_guide_templates_are_all_found(guide: str) -> None:
    kinds = [identity(document) for document in guide_templates(guide)]
    assert kinds == [
        ("Cluster", "$cluster-name", "physical", "worker"),
        ("Cluster", "$cluster-name", "physical", "host"),
        ("Cluster", "$cluster-name", "virtual", "worker"),
        ("Product", "demo-$suffix"),
        ("Project", "project-demo-$suffix"),
        ("CodeRepo", "coderepo-sc-demo-$suffix"),
        ("CodeRepo", "coderepo-deploy-demo-$suffix"),
        ("CodeRepo", "coderepo-pipeline-demo-$suffix"),
        ("Environment", "env-dev-demo-$suffix"),
        ("CodeRepoBinding", "coderepobinding-deploy-pipeline-demo-$suffix"),
        ("ProjectPipelineRuntime", "pr-demo-$suffix"),
    ]


def test_templates_differ_from_the_guide_only_where_a_note_says_what_the_guide_does(
    scenario: Scenario, guide: str
) -> None:
    ours = scenario_templates(scenario)
    guides = guide_templates(guide)
    # the physical worker path: every one of its guide documents is in the scenario
    assert {identity(d) for d in guides} - set(ours) == {
        ("Cluster", "$cluster-name", "physical", "host"),
        ("Cluster", "$cluster-name", "virtual", "worker"),
    }
    found = differences(ours, guides)
    # the CodeRepos leave out the two keys the CLI drops (the harness refuses fields Nautes drops)
    dropped = [
        (("CodeRepo", f"coderepo-{repo}-demo-$suffix"), field)
        for repo in ("sc", "deploy", "pipeline")
        for field in ("codeRepoProvider", "pipelineRuntime")
    ]
    assert found == [
        (("Cluster", "$cluster-name", "physical", "worker"), "componentsList"),
        (("Cluster", "$cluster-name", "physical", "worker"), "reservedNamespacesAllowedProducts"),
        *dropped,
        (("ProjectPipelineRuntime", "pr-demo-$suffix"), "pipelineSource"),
    ]
    problems = uncovered(found, scenario.notes, str(QUICKSTART / SCENARIO_FILE))
    assert not problems, "\n".join(problems)


def test_an_uncovered_difference_is_named(scenario: Scenario, guide: str) -> None:
    ours = scenario_templates(scenario)
    runtime = ours[("ProjectPipelineRuntime", "pr-demo-$suffix")]
    runtime["spec"]["isolation"] = "shared"
    found = differences(ours, guide_templates(guide))
    assert (("ProjectPipelineRuntime", "pr-demo-$suffix"), "isolation") in found
    notes = [note for note in scenario.notes if note.topic != "pipeline source"]
    assert uncovered(found, notes, "s.yaml") == [
        "s.yaml: ProjectPipelineRuntime/pr-demo-$suffix spec.isolation differs from the guide and no note "
        "quotes the guide's isolation",
        "s.yaml: ProjectPipelineRuntime/pr-demo-$suffix spec.pipelineSource differs from the guide and no "
        "note quotes the guide's pipelineSource",
    ]
    silent = [
        note.model_copy(update={"behaviour": note.behaviour.replace("Guide as written:", "Literally:")})
        for note in scenario.notes
    ]
    assert uncovered(found[-1:], silent, "s.yaml") == [
        "s.yaml: ProjectPipelineRuntime/pr-demo-$suffix spec.pipelineSource differs from the guide; notes "
        "['pipeline source'] do not say what the guide's value does (one of ['Guide as written:', "
        "'accepted as written'])"
    ]


def test_rendered_pipeline_runtime_keeps_the_guides_additional_resources(
    scenario: Scenario, guide: str
) -> None:
    (guide_runtime,) = [d for d in guide_templates(guide) if d["kind"] == "ProjectPipelineRuntime"]
    expected = json.loads(
        json.dumps(guide_runtime["spec"]["additionalResources"]).replace("$suffix", "quickstart")
    )
    assert expected == {
        "git": {"codeRepo": "coderepo-sc-demo-quickstart", "revision": "main", "path": "test"}
    }
    documents = scenario.documents("pipeline", VALUES)
    (runtime,) = [d for d in documents if d.kind == "ProjectPipelineRuntime"]
    assert runtime.spec["additionalResources"] == expected
    _, body = document_request(runtime)
    assert json.loads(body)["additional_resources"] == {
        "git": {"coderepo": "coderepo-sc-demo-quickstart", "url": "", "revision": "main", "path": "test"}
    }
    # the repository is one of the project's, and the harness pushes the sourcecode directory to it
    # (the pipelineSource repository), where the path exists for Argo CD to sync
    repos = {d.name: d.spec for d in scenario.documents("product", VALUES) if d.kind == "CodeRepo"}
    git = runtime.spec["additionalResources"]["git"]
    assert repos[git["codeRepo"]]["project"] == runtime.spec["project"]
    assert git["codeRepo"] == runtime.spec["pipelineSource"]
    pushed = scenario.repo_files("sourcecode", VALUES)
    assert any(name.startswith(f"{git['path']}/") for name in pushed)


def test_a_pipeline_runtime_without_additional_resources_is_noticed(tmp_path: Path, guide: str) -> None:
    copy = tmp_path / "quickstart"
    shutil.copytree(QUICKSTART, copy)
    pipeline = copy / "pipeline.yaml"
    text = pipeline.read_text()
    start = text.index("  additionalResources:")
    end = text.index("  eventSources:")
    pipeline.write_text(text[:start] + text[end:])
    documents = Scenario.load(copy).documents("pipeline", VALUES)
    (runtime,) = [d for d in documents if d.kind == "ProjectPipelineRuntime"]
    assert "additionalResources" not in runtime.spec
    found = differences(scenario_templates(Scenario.load(copy)), guide_templates(guide))
    assert (("ProjectPipelineRuntime", "pr-demo-$suffix"), "additionalResources") in found
