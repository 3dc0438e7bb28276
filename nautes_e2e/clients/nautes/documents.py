"""Nautes resource documents, read from a file the way ``nautes apply -f`` reads it (contract §1.5).

The CLI splits the file with ``strings.Split(content, "---")`` — *any* ``---``, even inside a string — and
parses each chunk with yaml.v3 only for its ``kind``; empty chunks and unknown kinds are skipped silently.
Scalars are resolved as YAML 1.2 (yaml.v3) resolves them, not as PyYAML's YAML 1.1 does: ``on``/``yes``
stay text, and numbers other than canonical integers stay text, so that a string field receives exactly
the characters the file holds (yaml.v3 copies the scalar's text into a string field).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from nautes_e2e.clients.nautes.managers import KINDS, manager_class
from nautes_e2e.yamlfile import parse_with_libyaml


class DocumentError(ValueError):
    """A chunk the CLI could not parse ("failed to load resource file"); names the file and chunk."""


@dataclass(frozen=True)
class Document:
    """One Nautes resource: its kind, its YAML ``spec`` (camelCase keys), and where it came from."""

    kind: str
    spec: dict[str, Any]
    source: str  # "file.yaml#2": the second document of file.yaml

    @property
    def name(self) -> str:
        return str(self.spec.get("name") or "")


class _Yaml12Loader(yaml.SafeLoader):
    """SafeLoader resolving only what yaml.v3 and PyYAML agree on: null, true/false, canonical integers."""


class _LibyamlYaml12Loader(yaml.CSafeLoader):
    """The same resolution over libyaml's parser (PyYAML's C extension), some ten times faster than PyYAML's
    own: a run parses each scenario document several times, and the fault matrix starts some forty runs."""


def _resolve_as_yaml12(loader: type[yaml.SafeLoader | yaml.CSafeLoader]) -> None:
    loader.yaml_implicit_resolvers = {}
    loader.add_implicit_resolver(
        "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
    )
    loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|false)$"), list("tf"))
    loader.add_implicit_resolver(
        "tag:yaml.org,2002:int", re.compile(r"^(?:0|-?[1-9][0-9]*)$"), list("-0123456789")
    )
    loader.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"^<<$"), ["<"])


_resolve_as_yaml12(_Yaml12Loader)
_resolve_as_yaml12(_LibyamlYaml12Loader)


def load_yaml(text: str, where: str) -> Any:
    """Parse one YAML document like yaml.v3 would; errors name the place, never quote the content.

    libyaml parses; a text it refuses is parsed again by PyYAML's own parser, so that the error names the
    problem in the words it always did (:func:`~nautes_e2e.yamlfile.parse_with_libyaml`)."""
    try:
        return parse_with_libyaml(yaml.load, text, _LibyamlYaml12Loader, _Yaml12Loader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        position = f"line {mark.line + 1} column {mark.column + 1}: " if mark is not None else ""
        raise DocumentError(f"{where}: {position}{error.problem or 'invalid YAML'}") from None
    except yaml.YAMLError as error:
        raise DocumentError(f"{where}: invalid YAML ({type(error).__name__})") from None


def compose_yaml(text: str) -> yaml.Node | None:
    """The node tree of one YAML document (PyYAML's YAML 1.1 tags), with the line of every node, parsed by
    libyaml; by PyYAML's own parser where libyaml refuses the text, so that its error is the one raised."""
    return parse_with_libyaml(yaml.compose, text, yaml.CSafeLoader, yaml.SafeLoader)


def parse_documents(text: str, source: str) -> list[Document]:
    """The documents ``nautes apply -f <source>`` would send, in file order (the client orders by kind)."""
    documents: list[Document] = []
    for chunk_number, chunk in enumerate(text.split("---"), start=1):
        where = f"{source} (chunk {chunk_number} between '---' separators)"
        data = load_yaml(chunk, where)
        if data is None:
            continue
        if not isinstance(data, dict):
            raise DocumentError(f"{where}: a resource must be a mapping with kind and spec")
        kind = data.get("kind")
        if kind not in KINDS:  # apiVersion is ignored by the CLI, and so are kinds it does not know
            continue
        spec = data.get("spec")
        if spec is None:
            spec = {}
        if not isinstance(spec, dict):
            raise DocumentError(f"{where}: spec of {kind} must be a mapping")
        documents.append(Document(kind=str(kind), spec=spec, source=f"{source}#{len(documents) + 1}"))
    return documents


def document_request(document: Document) -> tuple[str, bytes]:
    """The path and body ``nautes apply`` sends for a document (DELETE sends the same path, no body)."""
    return manager_class(document.kind).request(document.spec, f"{document.source} spec")
