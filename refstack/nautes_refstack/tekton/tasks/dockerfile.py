"""Dockerfile parsing for the kaniko task: instructions, JSON/shell forms, flags and variable expansion.

Only what the reference stack can build is accepted (see :mod:`.image_build`); parsing itself follows the
Dockerfile reference: ``\\`` line continuations, ``#`` comment lines, case-insensitive keywords,
``--flag=value`` options on COPY/ADD, and ``$VAR`` / ``${VAR}`` / ``${VAR:-default}`` / ``${VAR:+alt}``
expansion from ENV and ARG values.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field

_VARIABLE = re.compile(
    r"\\\$|\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<op>[-+])(?P<word>[^}]*))?\}|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


class DockerfileError(ValueError):
    """The Dockerfile cannot be parsed or asks for something the reference stack cannot build."""


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str
    line_number: int
    flags: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The instruction as kaniko logs it (``COPY target/*.jar /home``)."""
        flags = " ".join(f"--{name}={value}" for name, value in self.flags.items())
        return " ".join(part for part in (self.keyword, flags, self.arguments) if part)

    def json_form(self) -> list[str] | None:
        """The exec (JSON array) form of the arguments, or None for the shell form."""
        stripped = self.arguments.strip()
        if not stripped.startswith("["):
            return None
        try:
            parsed = json.loads(stripped)
        except json.JSONDecodeError:
            return None
        if not isinstance(parsed, list) or not all(isinstance(item, str) for item in parsed):
            return None
        return parsed


def parse(text: str) -> list[Instruction]:
    """The instructions of a Dockerfile, continuation lines joined and comments dropped."""
    instructions: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if pending and line.lstrip().startswith("#"):
            continue
        if not pending:
            start = number
        if line.endswith("\\"):
            pending.append(line[:-1])
            continue
        pending.append(line)
        instructions.append(_instruction(" ".join(part.strip() for part in pending), start))
        pending = []
    if pending:
        instructions.append(_instruction(" ".join(part.strip() for part in pending), start))
    if not instructions:
        raise DockerfileError("file with no instructions")
    return instructions


def _instruction(line: str, line_number: int) -> Instruction:
    keyword, _, rest = line.strip().partition(" ")
    keyword = keyword.upper()
    flags: dict[str, str] = {}
    rest = rest.strip()
    while rest.startswith("--"):
        option, _, rest = rest.partition(" ")
        name, _, value = option[2:].partition("=")
        flags[name] = value
        rest = rest.strip()
    return Instruction(keyword, rest, line_number, flags)


def expand(text: str, variables: Mapping[str, str]) -> str:
    """Dockerfile variable expansion (unset variables expand to the empty string)."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "\\$":
            return "$"
        name = match.group("braced") or match.group("bare")
        value = variables.get(name)
        operator = match.group("op")
        if operator == "-":
            return value if value else match.group("word")
        if operator == "+":
            return match.group("word") if value else ""
        return value or ""

    return _VARIABLE.sub(replace, text)


def key_values(arguments: str, keyword: str) -> list[tuple[str, str]]:
    """``ENV``/``LABEL`` pairs: ``k=v k2="v 2"``, or the legacy ``ENV key value with spaces``."""
    try:
        words = shlex.split(arguments, posix=True)
    except ValueError as error:
        raise DockerfileError(f"{keyword}: {error}") from None
    if not words:
        raise DockerfileError(f"{keyword} requires at least one argument")
    if "=" not in words[0]:
        if len(words) < 2:
            raise DockerfileError(f"{keyword} names can not be blank")
        return [(words[0], arguments.strip().split(None, 1)[1])]
    pairs = []
    for word in words:
        key, separator, value = word.partition("=")
        if not separator or not key:
            raise DockerfileError(
                f"{keyword}: syntax error - can't find = in {word!r}. Must be of the form: name=value"
            )
        pairs.append((key, value))
    return pairs


def words(arguments: str, keyword: str) -> list[str]:
    """Arguments of COPY/ADD/EXPOSE/VOLUME: the JSON form, or whitespace-separated words."""
    stripped = arguments.strip()
    if stripped.startswith("["):
        try:
            parsed = json.loads(stripped)
        except json.JSONDecodeError as error:
            raise DockerfileError(f"{keyword}: invalid JSON arguments: {error}") from None
        if isinstance(parsed, list) and all(isinstance(item, str) for item in parsed):
            return parsed
    return stripped.split()
