"""Strict ``$variable`` rendering, in the quickstart's own template syntax.

The quickstart's templates write ``$cluster-name``, ``demo-$suffix``, ``repo-$sc-repo-id``; the pipeline
file also holds Tekton expressions ``$(params.REVISION)`` that must reach the cluster untouched. Rules:

* ``$name`` with name ``[a-z][a-z0-9-]*[a-z0-9]`` (or one letter) must be declared and have a value;
* ``$$`` is a literal ``$``; ``$(`` is left alone; any other ``$`` is an error (write ``$$``);
* a multi-line value that stands alone on its line gets that line's indentation on every line, so a
  kubeconfig lands correctly under ``kubeconfig: |``; anywhere else a multi-line value is an error.

Errors name the file, the line and the variable, never a value (values may be kubeconfigs).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from functools import partial

#: A variable's name: lower-case letters, digits and inner dashes (``cluster-ip``, ``x``).
VARIABLE_NAME = re.compile(r"[a-z](?:[a-z0-9-]*[a-z0-9])?")
_TOKEN = re.compile(rf"\$(?:(?P<dollar>\$)|(?P<tekton>\()|(?P<name>{VARIABLE_NAME.pattern}))")
_STANDALONE = re.compile(rf"^(?P<indent>[ \t]*)\$(?P<name>{VARIABLE_NAME.pattern})[ \t]*$")


class ScenarioError(ValueError):
    """A scenario or template is wrong; the text names the file and the variable or field at fault."""


@dataclass(frozen=True)
class Reference:
    """One ``$name`` in a template."""

    name: str
    line: int


def references(text: str, *, source: str) -> Iterator[Reference]:
    """Every ``$name`` in ``text``; raises ScenarioError for a ``$`` that is none of the allowed forms."""
    position = 0
    while (dollar := text.find("$", position)) != -1:
        match = _TOKEN.match(text, dollar)
        line = text.count("\n", 0, dollar) + 1
        if match is None:
            raise ScenarioError(f"{source}:{line}: stray '$' (write $$ for a literal dollar sign)")
        if match.group("name"):
            yield Reference(match.group("name"), line)
        position = match.end()


def check(text: str, *, source: str, declared: Collection[str]) -> set[str]:
    """The variables ``text`` uses; raises ScenarioError for an undeclared one or a stray ``$``."""
    used = set()
    for reference in references(text, source=source):
        if reference.name not in declared:
            raise ScenarioError(f"{source}:{reference.line}: ${reference.name} is not a declared variable")
        used.add(reference.name)
    return used


def render(text: str, values: Mapping[str, str], *, source: str, declared: Collection[str]) -> str:
    """``text`` with every ``$variable`` replaced (rules in the module docstring)."""
    check(text, source=source, declared=declared)
    rendered = []
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        body = line.rstrip("\r\n")
        ending = line[len(body) :]
        standalone = _STANDALONE.match(body)
        if standalone is not None:
            value = _value(values, standalone.group("name"), source, number)
            indent = standalone.group("indent")
            lines = value.removesuffix("\n").split("\n")
            rendered.append("\n".join(indent + part if part else part for part in lines) + ending)
            continue
        rendered.append(
            _TOKEN.sub(partial(_replace, values=values, source=source, line=number), body) + ending
        )
    return "".join(rendered)


def _replace(match: re.Match[str], *, values: Mapping[str, str], source: str, line: int) -> str:
    if match.group("dollar"):
        return "$"
    if match.group("tekton"):
        return "$("
    name = match.group("name")
    value = _value(values, name, source, line)
    if "\n" in value:
        raise ScenarioError(f"{source}:{line}: ${name} has several lines; it must stand alone on its line")
    return value


def _value(values: Mapping[str, str], name: str, source: str, line: int) -> str:
    value = values.get(name)
    if value is None:
        raise ScenarioError(f"{source}:{line}: ${name} has no value")
    return value
