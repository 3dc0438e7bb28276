"""A scenario directory: ``scenario.yaml`` (variables, document groups, repos, notes) plus its templates.

``Scenario.load`` reads everything and checks it up front — every ``$variable`` declared, every document
group parseable the way ``nautes apply -f`` parses it and decodable into the CLI's structs — so that a typo
fails before the first request is sent, not halfway through a run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from nautes_e2e.clients.nautes import Document, DocumentError, WireError, document_request, parse_documents
from nautes_e2e.scenario.render import VARIABLE_NAME, ScenarioError, check, render

SCENARIO_FILE = "scenario.yaml"


@dataclass(frozen=True)
class Note:
    """Where the scenario follows v0.4.x instead of the nautes.io quickstart text, and on what authority."""

    topic: str
    quickstart: str
    behaviour: str
    source: str


@dataclass(frozen=True)
class VariableSpec:
    """A template variable; a default may itself use other variables (``demo-$suffix``)."""

    name: str
    description: str
    default: str | None


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    directory: Path
    variables: dict[str, VariableSpec]
    document_groups: dict[str, tuple[str, ...]]  # group -> template files, relative to the directory
    repos: dict[str, str]  # repo -> directory holding its files, relative to the directory
    notes: list[Note]

    @classmethod
    def load(cls, directory: Path) -> Scenario:
        """Read ``directory/scenario.yaml`` and validate every template (raises ScenarioError)."""
        spec_path = directory / SCENARIO_FILE
        spec = _Mapping(_read_yaml(spec_path), "")
        groups = spec.mapping("documents")
        repos = spec.mapping("repos")
        scenario = cls(
            name=spec.text("name"),
            description=spec.text("description"),
            directory=directory,
            variables=_variables(spec.mapping("variables")),
            document_groups={
                str(group): tuple(
                    _relative_file(directory, file, groups.field(group)) for file in groups.list(group)
                )
                for group in list(groups.data)
            },
            repos={
                str(repo): _relative_dir(directory, repos.text(repo), repos.field(repo))
                for repo in list(repos.data)
            },
            notes=[_note(entry, index) for index, entry in enumerate(spec.list("notes"))],
        )
        spec.finish()
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
        """Every template uses only declared variables, and every document group parses and decodes."""
        self.resolve({})  # default cycles and undeclared variables in defaults
        placeholders = {name: f"sample-{name}" for name in self.variables}
        for group in self.document_groups:
            for document in self.documents(group, placeholders):
                try:
                    document_request(document)
                except WireError as error:
                    raise ScenarioError(str(error)) from None
        for repo in self.repos:
            for relative, path in self._repo_paths(repo):
                text = _text_or_none(path.read_bytes())
                if text is not None:
                    check(text, source=f"{self.repos[repo]}/{relative}", declared=self.variables)

    def _read(self, file: str) -> str:
        return (self.directory / file).read_text()

    def _repo_paths(self, repo: str) -> list[tuple[str, Path]]:
        root = self.directory / self.repos[repo]
        return [
            (path.relative_to(root).as_posix(), path) for path in sorted(root.rglob("*")) if path.is_file()
        ]


class _Mapping:
    """A mapping of scenario.yaml read strictly: wrong types and unknown keys are errors naming the field."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            raise ScenarioError(f"{SCENARIO_FILE}: {where or 'the top level'} must be a mapping")
        self.data: dict[Any, Any] = data
        self.where = where
        self.read: set[str] = set()

    def field(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def value(self, key: str) -> Any:
        self.read.add(key)
        return self.data.get(key)

    def text(self, key: str) -> str:
        value = self.value(key)
        if not isinstance(value, str) or not value.strip():
            raise ScenarioError(f"{SCENARIO_FILE}: {self.field(key)} must be a non-empty string")
        return value

    def optional_text(self, key: str) -> str | None:
        return None if self.value(key) is None else self.text(key)

    def mapping(self, key: str) -> _Mapping:
        return _Mapping(self.value(key), self.field(key))

    def list(self, key: str) -> list[Any]:
        value = self.value(key)
        if not isinstance(value, list):
            raise ScenarioError(f"{SCENARIO_FILE}: {self.field(key)} must be a list")
        return value

    def finish(self) -> None:
        unknown = sorted(str(key) for key in self.data if key not in self.read)
        if unknown:
            raise ScenarioError(f"{SCENARIO_FILE}: unknown key {self.field(unknown[0])}")


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text())
    except OSError as error:
        raise ScenarioError(f"{path}: cannot read ({error.strerror})") from None
    except yaml.YAMLError:
        raise ScenarioError(f"{path}: not valid YAML") from None


def _variables(section: _Mapping) -> dict[str, VariableSpec]:
    variables = {}
    for name, entry in section.data.items():
        if not isinstance(name, str) or not VARIABLE_NAME.fullmatch(name):
            raise ScenarioError(f"{SCENARIO_FILE}: variables.{name}: names are [a-z][a-z0-9-]*[a-z0-9]")
        spec = _Mapping(entry, f"variables.{name}")
        variables[name] = VariableSpec(name, spec.text("description"), spec.optional_text("default"))
        spec.finish()
    return variables


def _note(entry: Any, index: int) -> Note:
    spec = _Mapping(entry, f"notes[{index}]")
    note = Note(spec.text("topic"), spec.text("quickstart"), spec.text("behaviour"), spec.text("source"))
    spec.finish()
    return note


def _relative_file(directory: Path, file: Any, where: str) -> str:
    relative = _relative(file, where)
    if not (directory / relative).is_file():
        raise ScenarioError(f"{SCENARIO_FILE}: {where}: {relative} does not exist")
    return relative


def _relative_dir(directory: Path, path: Any, where: str) -> str:
    relative = _relative(path, where)
    if not (directory / relative).is_dir():
        raise ScenarioError(f"{SCENARIO_FILE}: {where}: directory {relative} does not exist")
    return relative


def _relative(path: Any, where: str) -> str:
    pure = PurePosixPath(str(path))
    if not isinstance(path, str) or pure.is_absolute() or ".." in pure.parts:
        raise ScenarioError(f"{SCENARIO_FILE}: {where}: must be a path inside the scenario directory")
    return pure.as_posix()


def _text_or_none(content: bytes) -> str | None:
    try:
        return content.decode()
    except UnicodeDecodeError:
        return None
