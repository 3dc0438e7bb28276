"""A scenario directory: ``scenario.yaml`` (variables, document groups, repos, notes) plus its templates.

``Scenario.load`` reads everything and checks it up front — every ``$variable`` declared, every document
group parseable the way ``nautes apply -f`` parses it and decodable into the CLI's structs, every document of
a known kind and every field one Nautes reads (:mod:`.fields`) — so that a typo fails before the target
starts and before the first request is sent, not halfway through a run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Annotated

from pydantic import PlainValidator, ValidationInfo

from nautes_e2e.clients.nautes import Document, DocumentError, WireError, document_request, parse_documents
from nautes_e2e.scenario.fields import check_documents
from nautes_e2e.scenario.render import VARIABLE_NAME, ScenarioError, check, render
from nautes_e2e.yamlfile import StrictModel, Text, context_of, load_file

SCENARIO_FILE = "scenario.yaml"


class Note(StrictModel):
    """Where the scenario follows v0.4.x instead of the nautes.io quickstart text, and on what authority.

    Also the report's type for it: ``report.json`` lists the notes as ``scenario.yaml`` gives them.
    """

    topic: Text
    quickstart: Text
    behaviour: Text
    source: Text


class VariableSpec(StrictModel):
    """A template variable, named by its key; a default may itself use other variables (``demo-$suffix``)."""

    description: Text
    default: Text | None = None


def _variable_name(name: object) -> str:
    if not isinstance(name, str) or not VARIABLE_NAME.fullmatch(name):
        raise ValueError(f"names must match {VARIABLE_NAME.pattern}")
    return name


def _relative(path: object) -> str:
    pure = PurePosixPath(path) if isinstance(path, str) else None
    if pure is None or pure.is_absolute() or ".." in pure.parts:
        raise ValueError("must be a path inside the scenario directory")
    return pure.as_posix()


def _template_file(path: object, info: ValidationInfo) -> str:
    relative = _relative(path)
    if not (context_of(info, Path) / relative).is_file():
        raise ValueError(f"{relative} does not exist")
    return relative


def _repo_directory(path: object, info: ValidationInfo) -> str:
    relative = _relative(path)
    if not (context_of(info, Path) / relative).is_dir():
        raise ValueError(f"directory {relative} does not exist")
    return relative


class _ScenarioFile(StrictModel):
    """``scenario.yaml`` as written; paths are relative to its directory, given as the validation context."""

    name: Text
    description: Text
    variables: dict[Annotated[str, PlainValidator(_variable_name)], VariableSpec]
    documents: dict[Text, list[Annotated[str, PlainValidator(_template_file)]]]
    repos: dict[Text, Annotated[str, PlainValidator(_repo_directory)]]
    notes: list[Note]


@dataclass(frozen=True)
class Scenario:
    """A loaded scenario: what ``scenario.yaml`` declares, every template checked against it."""

    name: str
    description: str
    directory: Path
    variables: dict[str, VariableSpec]
    document_groups: dict[str, tuple[str, ...]]  # group -> template files, relative to the directory
    repos: dict[str, str]  # repo -> directory holding its files, relative to the directory
    notes: tuple[Note, ...]

    @classmethod
    def load(cls, directory: Path) -> Scenario:
        """Read ``directory/scenario.yaml`` and validate every template (raises ScenarioError)."""
        spec = load_file(directory / SCENARIO_FILE, _ScenarioFile, ScenarioError, context=directory)
        scenario = cls(
            name=spec.name,
            description=spec.description,
            directory=directory,
            variables=spec.variables,
            document_groups={group: tuple(files) for group, files in spec.documents.items()},
            repos=spec.repos,
            notes=tuple(spec.notes),
        )
        scenario._validate()
        return scenario

    def documents(self, group: str, values: Mapping[str, str]) -> list[Document]:
        """The group's documents rendered with ``values`` (defaults fill the rest), in file order."""
        if group not in self.document_groups:
            raise ScenarioError(
                f"{SCENARIO_FILE}: no document group {group!r}; groups: {sorted(self.document_groups)}"
            )
        resolved = self.resolve(values)
        documents: list[Document] = []
        for file in self.document_groups[group]:
            text = render(self._read(file), resolved, source=file, declared=self.variables)
            try:
                documents.extend(parse_documents(text, file))
            except DocumentError as error:
                raise ScenarioError(str(error)) from None
        return documents

    def repo_files(self, repo: str, values: Mapping[str, str]) -> dict[str, bytes]:
        """Every file of the repo's directory (POSIX relative path -> bytes), text files rendered."""
        if repo not in self.repos:
            raise ScenarioError(f"{SCENARIO_FILE}: no repo {repo!r}; repos: {sorted(self.repos)}")
        resolved = self.resolve(values)
        files: dict[str, bytes] = {}
        for relative, path in self._repo_paths(repo):
            content = path.read_bytes()
            text = _text_or_none(content)
            if text is not None:
                source = f"{self.repos[repo]}/{relative}"
                content = render(text, resolved, source=source, declared=self.variables).encode()
            files[relative] = content
        return files

    def resolve(self, values: Mapping[str, str]) -> dict[str, str]:
        """``values`` plus every default not overridden, defaults rendered with the final values."""
        unknown = sorted(set(values) - set(self.variables))
        if unknown:
            raise ScenarioError(f"{SCENARIO_FILE}: values given for undeclared variables {unknown}")
        resolved = dict(values)
        for name in self.variables:
            self._resolve_default(name, resolved, ())
        return resolved

    def _resolve_default(self, name: str, resolved: dict[str, str], chain: tuple[str, ...]) -> None:
        default = self.variables[name].default
        if name in resolved or default is None:
            return
        if name in chain:
            raise ScenarioError(
                f"{SCENARIO_FILE}: variables.{name}.default: cycle {' -> '.join((*chain, name))}"
            )
        source = f"{SCENARIO_FILE} (default of {name})"
        for used in check(default, source=source, declared=self.variables):
            self._resolve_default(used, resolved, (*chain, name))
        resolved[name] = render(default, resolved, source=source, declared=self.variables)

    def _validate(self) -> None:
        """Every template uses only declared variables; every document group parses and decodes, is of a
        kind Nautes knows and holds only fields Nautes reads (:mod:`.fields`). Errors name the template by
        its path and line: they are the user's to fix before anything runs."""
        self.resolve({})  # default cycles and undeclared variables in defaults
        # One line each, so that a line of the rendered text is the same line of the template.
        placeholders = {name: f"sample-{name}" for name in self.variables}
        for files in self.document_groups.values():
            for file in files:
                source = str(self.directory / file)
                text = render(self._read(file), placeholders, source=source, declared=self.variables)
                try:
                    documents = parse_documents(text, source)
                except DocumentError as error:
                    raise ScenarioError(str(error)) from None
                check_documents(text, source)
                for document in documents:
                    try:
                        document_request(document)
                    except WireError as error:
                        raise ScenarioError(str(error)) from None
        for repo in self.repos:
            for _, path in self._repo_paths(repo):
                content = _text_or_none(path.read_bytes())
                if content is not None:
                    check(content, source=str(path), declared=self.variables)

    def _read(self, file: str) -> str:
        return (self.directory / file).read_text()

    def _repo_paths(self, repo: str) -> list[tuple[str, Path]]:
        root = self.directory / self.repos[repo]
        return [
            (path.relative_to(root).as_posix(), path) for path in sorted(root.rglob("*")) if path.is_file()
        ]


def _text_or_none(content: bytes) -> str | None:
    try:
        return content.decode()
    except UnicodeDecodeError:
        return None
