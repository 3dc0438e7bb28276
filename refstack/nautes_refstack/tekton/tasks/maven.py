"""ClusterTask ``maven`` (catalog 0.2-nautes), honestly reduced: no Maven repository is reachable here.

A Maven build needs Maven Central (the quickstart's POM inherits ``spring-boot-starter-parent``), which
the reference stack cannot reach. So the step checks what ``mvn`` itself would check before resolving
anything -- at least one goal or phase, the POM given with ``-f``/``--file`` (or ``pom.xml`` in
``CONTEXT_DIR``) exists and is a Maven POM with groupId, artifactId and version -- and says plainly, in
the step log and in the TaskRun's Succeeded message, that Maven itself did not run.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from pathlib import Path

from nautes_refstack.tekton.task_api import StepFailed, TaskContext, TaskOutcome

_POM_NAMESPACE = "{http://maven.apache.org/POM/4.0.0}"
_OPTIONS_WITH_VALUE = {
    "-f",
    "--file",
    "-s",
    "--settings",
    "-gs",
    "--global-settings",
    "-pl",
    "--projects",
    "-rf",
    "--resume-from",
    "-P",
    "--activate-profiles",
    "-T",
    "--threads",
    "-l",
    "--log-file",
    "-t",
    "--toolchains",
    "-gt",
    "--global-toolchains",
    "-D",
    "--define",
    "-b",
    "--builder",
}


async def run(ctx: TaskContext) -> TaskOutcome:
    goals = ctx.array_param("GOALS")
    settings = ctx.required_workspace("maven-settings") / "settings.xml"
    async with ctx.step("mvn-settings") as step:
        if settings.is_file():
            step.log(f"using existing {settings.name} from the maven-settings workspace")
        else:
            step.log("settings.xml not generated: Maven does not run in the reference stack")
    working_dir = ctx.required_workspace("source") / ctx.param("CONTEXT_DIR")
    async with ctx.step("mvn-goals") as step:
        pom_argument, phases = _parse_goals(goals)
        pom = _pom_path(working_dir, pom_argument)
        coordinates = _read_coordinates(pom, pom_argument or "pom.xml")
        shown_pom = pom_argument or "pom.xml"
        summary = f"verified {shown_pom} ({coordinates}) and goals [{' '.join(goals)}]"
        step.log(f"[INFO] POM {shown_pom}: {coordinates}; phases/goals: {' '.join(phases)}")
        step.log(f"maven not executed in the reference stack (no Maven repository is reachable); {summary}")
    return TaskOutcome(message=f"maven not executed in the reference stack; {summary}")


def _parse_goals(goals: list[str]) -> tuple[str | None, list[str]]:
    """The ``-f`` POM argument (if any) and the goals/phases among Maven's arguments."""
    pom: str | None = None
    phases: list[str] = []
    arguments = iter(goals)
    for argument in arguments:
        if argument in ("-f", "--file"):
            pom = next(arguments, None)
            if pom is None:
                raise StepFailed(1, "Unable to parse command line options: Missing argument for option: f")
        elif argument.startswith("--file="):
            pom = argument.removeprefix("--file=")
        elif argument in _OPTIONS_WITH_VALUE:
            next(arguments, None)
        elif not argument.startswith("-"):
            phases.append(argument)
    if not phases:
        raise StepFailed(
            1,
            "[ERROR] No goals have been specified for this build. "
            "You must specify a valid lifecycle phase or a goal in the format <plugin-prefix>:<goal> "
            "or <plugin-group-id>:<plugin-artifact-id>[:<plugin-version>]:<goal>.",
        )
    return pom, phases


def _pom_path(working_dir: Path, pom_argument: str | None) -> Path:
    if pom_argument is None:
        pom = working_dir / "pom.xml"
        if not pom.is_file():
            raise StepFailed(
                1,
                "[ERROR] The goal you specified requires a project to execute but there is no POM in this "
                "directory. Please verify you invoked Maven from the correct directory.",
            )
        return pom
    pom = working_dir / pom_argument
    if pom.is_dir():
        pom = pom / "pom.xml"
    if not pom.is_file():
        raise StepFailed(
            1, f"POM file {pom_argument} specified with the -f/--file command line argument does not exist"
        )
    return pom


def _read_coordinates(pom: Path, shown: str) -> str:
    """``groupId:artifactId:version`` (groupId and version may come from ``<parent>``), else a Maven error."""
    try:
        root = ElementTree.parse(pom).getroot()
    except ElementTree.ParseError as error:
        raise StepFailed(1, f"[ERROR] Non-parseable POM {shown}: {error}") from None
    namespace = _POM_NAMESPACE if root.tag.startswith(_POM_NAMESPACE) else ""
    if root.tag != f"{namespace}project":
        raise StepFailed(1, f"[ERROR] Non-parseable POM {shown}: Unrecognised tag: '{root.tag}'")

    def text(element: ElementTree.Element | None, name: str) -> str:
        child = element.find(f"{namespace}{name}") if element is not None else None
        return (child.text or "").strip() if child is not None else ""

    parent = root.find(f"{namespace}parent")
    coordinates = {
        "groupId": text(root, "groupId") or text(parent, "groupId"),
        "artifactId": text(root, "artifactId"),
        "version": text(root, "version") or text(parent, "version"),
    }
    missing = [name for name, value in coordinates.items() if not value]
    if missing:
        problems = "; ".join(f"'{name}' is missing." for name in missing)
        raise StepFailed(1, f"[ERROR] The project {shown} has 1 error: {problems}")
    return ":".join(coordinates.values())
