"""Every document of a scenario is a kind Nautes knows, and every key in it is one that Nautes reads.

``nautes apply`` is silent about two mistakes, and the API server is silent about a third, so a typo
applies nothing or something else than written — and on an existing target the run then stops halfway and
leaves a GitLab group and a product behind:

* the CLI skips a document whose ``kind`` it does not know, and one with no ``kind`` (contract §1.5 item 3,
  CLI ``cmd/commands/root.go``); it reads only ``apiVersion``, ``kind`` and ``spec``;
* the CLI unmarshals ``spec`` with yaml.v3 into its Go struct, which drops every key the struct does not
  declare (contract §1.4: the guide's ``pipelineRuntime`` and ``codeRepoProvider`` vanish this way);
* the API server decodes with protojson ``DiscardUnknown`` (contract §2.1) and its services ignore some
  fields the proto does have: :data:`IGNORED_BY_API` lists the fields the CLI sends that Nautes v0.4.2 never
  reads, each with where that is decided.

Note: the real CLI skips and drops without a word; the harness refuses instead, naming the file, the line
and the field, before the target starts and before any request is sent.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from nautes_e2e.clients.nautes import KINDS, manager_class
from nautes_e2e.clients.nautes.documents import compose_yaml, load_yaml
from nautes_e2e.clients.nautes.wire import GoMap, GoPointer, GoSlice, GoStruct, GoType
from nautes_e2e.scenario.render import ScenarioError

#: The keys ``nautes apply`` reads from a document (CLI ``cmd/commands/root.go``: kind, then spec).
DOCUMENT_KEYS = ("apiVersion", "kind", "spec")
_MERGE_TAG = "tag:yaml.org,2002:merge"

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class IgnoredField:
    """A spec field the CLI sends that the API server never reads: harmless only with the value Nautes
    uses anyway (``harmless(value, spec)``); ``why`` says what Nautes does instead, and where."""

    path: tuple[str, ...]
    harmless: Callable[[Any, Mapping[str, Any]], bool]
    why: str


def _unset(value: Any, spec: Mapping[str, Any]) -> bool:
    return value in (None, "", 0)


def _same_as_product_name(value: Any, spec: Mapping[str, Any]) -> bool:
    return value is None or str(value) == str(spec.get("productName"))


IGNORED_BY_API: dict[str, tuple[IgnoredField, ...]] = {
    "Product": (
        IgnoredField(
            ("git", "gitlab", "parentID"),
            _unset,
            "the API's Gitlab message has no parent_id, so the product's group is created at the top level "
            "(NAUTES api/api-server/product/v1/product.proto @v0.4.2)",
        ),
    ),
    "CodeRepo": tuple(
        IgnoredField(
            ("git", "gitlab", key),
            _unset,
            "the save request's Gitlab message has name, path, visibility and description only; GitLab "
            "decides the repository's URLs (NAUTES api/api-server/coderepo/v1/coderepo.proto @v0.4.2, "
            "SaveRequest.Body.git)",
        )
        for key in ("sshUrlToRepo", "httpUrlToRepo")
    ),
    "CodeRepoBinding": (
        IgnoredField(
            ("product",),
            _same_as_product_name,
            "the API server takes the product from the URL, i.e. from productName (NAUTES "
            "app/api-server/internal/service/coderepobinding.go @v0.4.2, SaveCodeRepoBinding)",
        ),
    ),
}


def check_documents(text: str, source: str) -> None:
    """Raise ScenarioError, naming ``source``, the line and the kind or field, for the first document of
    ``text`` (split the way ``nautes apply -f`` splits a file) that Nautes would skip or read only in part.

    ``text`` must already parse as the CLI parses it (``parse_documents``): this check adds the places."""
    for chunk, first_line in _chunks(text):
        node = compose_yaml(chunk)
        if not isinstance(node, yaml.MappingNode):
            continue  # empty: the CLI skips it, and so may the harness
        _check_document(node, load_yaml(chunk, source), first_line, source)


def _chunks(text: str) -> Iterator[tuple[str, int]]:
    """``text.split("---")`` (contract §1.5 item 1), each chunk with the file line it starts on (0-based)."""
    line = 0
    for chunk in text.split("---"):
        yield chunk, line
        line += chunk.count("\n")


def _check_document(node: yaml.MappingNode, parsed: dict[str, Any], first_line: int, source: str) -> None:
    """``node`` is the document as composed (for the lines), ``parsed`` as the CLI's YAML 1.2 reads it."""

    def where(at: yaml.Node) -> str:
        return f"{source}:{first_line + at.start_mark.line + 1}"

    keys = {str(key.value): (key, value) for key, value in node.value}
    kind_entry = keys.get("kind")
    if kind_entry is None:
        raise ScenarioError(
            f"{where(node)}: a document without kind: nautes apply would skip it silently, the harness "
            f"refuses it (kinds: {', '.join(KINDS)})"
        )
    kind = str(kind_entry[1].value) if isinstance(kind_entry[1], yaml.ScalarNode) else "?"
    if kind not in KINDS:
        raise ScenarioError(
            f"{where(kind_entry[1])}: unknown kind {kind!r}{_suggestion(kind, KINDS)}: nautes apply would "
            f"skip this document silently, the harness refuses it (kinds: {', '.join(KINDS)})"
        )
    for key, _ in keys.values():
        if str(key.value) not in DOCUMENT_KEYS:
            raise ScenarioError(
                f"{where(key)}: {kind} {key.value}: unknown key{_suggestion(str(key.value), DOCUMENT_KEYS)}; "
                f"nautes apply reads only {', '.join(DOCUMENT_KEYS)} and would drop it silently"
            )
    spec_entry = keys.get("spec")
    if spec_entry is None:
        return
    lines: dict[Path, yaml.Node] = {}
    for key_node, path in _walk(spec_entry[1], manager_class(kind).wire, (), lines):
        raise ScenarioError(
            f"{where(key_node)}: {kind} {_dotted(path)}: not a field of {kind} in nautes v0.4.2 (CLI "
            f"cmd/types/types.go){_suggestion(str(path[-1]), _field_names(manager_class(kind).wire, path))}"
            ", so nautes apply would drop it silently"
        )
    spec = parsed.get("spec") or {}
    for ignored in IGNORED_BY_API.get(kind, ()):
        value = _value_at(spec, ignored.path)
        if not ignored.harmless(value, spec):
            raise ScenarioError(
                f"{where(lines[ignored.path])}: {kind} {_dotted(ignored.path)}: the CLI sends it but Nautes "
                f"v0.4.2 drops it: {ignored.why}"
            )


def _walk(node: yaml.Node, go_type: GoType, path: Path, lines: dict[Path, yaml.Node]) -> Iterator[Any]:
    """Every key below ``node`` that ``go_type`` does not declare, as (key node, path); ``lines`` gets the
    key node of every declared field, by path."""
    while isinstance(go_type, GoPointer):
        go_type = go_type.target
    if isinstance(go_type, GoSlice) and isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _walk(item, go_type.item, (*path, index), lines)
    elif isinstance(go_type, GoStruct | GoMap) and isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.tag == _MERGE_TAG:  # `<<: *anchor` merges the anchor's keys (yaml.v3 does too)
                merged = value.value if isinstance(value, yaml.SequenceNode) else [value]
                for mapping in merged:
                    yield from _walk(mapping, go_type, path, lines)
                continue
            name = str(key.value)
            if isinstance(go_type, GoMap):  # free keys (additions, vars, ...): only values are checked
                yield from _walk(value, go_type.value_type, (*path, name), lines)
                continue
            field = next((f for f in go_type.fields if f.yaml == name), None)
            if field is None:
                yield key, (*path, name)
                continue
            lines[(*path, name)] = key
            yield from _walk(value, field.type, (*path, name), lines)


def _field_names(wire: GoType, path: Path) -> tuple[str, ...]:
    """The yaml keys the struct holding ``path[-1]`` declares (for "did you mean")."""
    go_type = wire
    for step in path[:-1]:
        while isinstance(go_type, GoPointer):
            go_type = go_type.target
        if isinstance(go_type, GoSlice):
            go_type = go_type.item
        elif isinstance(go_type, GoMap):
            go_type = go_type.value_type
        elif isinstance(go_type, GoStruct):
            go_type = next(f.type for f in go_type.fields if f.yaml == step)
    while isinstance(go_type, GoPointer):
        go_type = go_type.target
    return tuple(f.yaml for f in go_type.fields) if isinstance(go_type, GoStruct) else ()


def _value_at(spec: Any, path: tuple[str, ...]) -> Any:
    for step in path:
        if not isinstance(spec, dict):
            return None
        spec = spec.get(step)
    return spec


def _dotted(path: Path) -> str:
    text = "spec"
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else f".{step}"
    return text


def _suggestion(word: str, choices: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if not close:
        close = [choice for choice in choices if choice.lower() == word.lower()]
    return f" (did you mean {close[0]!r}?)" if close else ""
