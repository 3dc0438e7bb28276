"""Strict YAML files: the one reader of the target file and of ``scenario.yaml``.

Both files are written by people and read before anything is sent, so both are read the same strict way:
an unknown key is more likely a typo than a future feature, a value is never coerced (``"1"`` is no ``1``,
``yes`` is no ``true``), and every problem is reported at once, one line each, as
``FILE: FIELD.PATH: problem``. A YAML syntax error names the file and the line. Error texts never hold a
value read from the file except where a rule quotes it on purpose (an IP address that is not one), and the
files hold names of secrets, never secrets.

A file's shape is a :class:`StrictModel` (pydantic), its keys the fields' names in camelCase
(``token_env`` is ``tokenEnv``); rules a type cannot say are validators raising ``ValueError``, or
:class:`FieldError` when the rule spans several fields and must blame one of them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Protocol, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, PlainValidator, ValidationError, ValidationInfo
from pydantic.alias_generators import to_camel
from pydantic_core import ErrorDetails

Model = TypeVar("Model", bound=BaseModel)
Context = TypeVar("Context")
ParsedT = TypeVar("ParsedT")

#: What pydantic's error types mean in a file a person wrote; other types keep pydantic's own text.
_PROBLEMS = {
    "missing": "is required",
    "extra_forbidden": "unknown key",
    "model_type": "must be a mapping",
    "dict_type": "must be a mapping",
    "list_type": "must be a list",
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "int_type": "must be an integer",
}


class StrictModel(BaseModel):
    """A mapping of a strict file: unknown keys refused, values not coerced, keys in camelCase, immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, alias_generator=to_camel)


class FieldError(ValueError):
    """A rule across fields (two keys that go together, a duplicate name) that blames one field.

    ``at`` is the path of that field below the model (or list) whose validator raises it: raised by the
    validator of ``clusters``, ``FieldError("duplicate cluster name a", 1, "name")`` blames
    ``clusters[1].name``.
    """

    def __init__(self, problem: str, *at: str | int) -> None:
        super().__init__(problem)
        self.at = at


class _Named(Protocol):
    @property
    def name(self) -> str: ...


NamedEntry = TypeVar("NamedEntry", bound=_Named)


def unique_names(what: str) -> Callable[[list[NamedEntry]], list[NamedEntry]]:
    """The validator of a list of named entries (clusters, instances): not empty, and each name once; a
    duplicate blames the later entry's ``name`` (``duplicate <what> name <name>``)."""

    def check(entries: list[NamedEntry]) -> list[NamedEntry]:
        if not entries:
            raise ValueError("must be a non-empty list")
        seen: set[str] = set()
        for index, entry in enumerate(entries):
            if entry.name in seen:
                raise FieldError(f"duplicate {what} name {entry.name}", index, "name")
            seen.add(entry.name)
        return entries

    return check


def text(value: object) -> str:
    """``value`` if it is a string with something in it: what :data:`Text` accepts, and where a validator
    that turns a file's text into another type (a path, a secret) starts."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be a non-empty string")
    return value


#: A string with something in it: the type of every free-text and name field.
Text = Annotated[str, PlainValidator(text)]


def context_of(info: ValidationInfo, kind: type[Context]) -> Context:
    """The context :func:`load_file` was given, for validators that need more than the value (a directory, an
    environment); a programming error, not a file error, when it is missing."""
    if not isinstance(info.context, kind):
        raise TypeError(f"this model is validated with a {kind.__name__} as context")
    return info.context


def load_file(
    path: Path, model: type[Model], error: Callable[[str], Exception], *, context: object = None
) -> Model:
    """Read the YAML file ``path`` into ``model``; any problem is raised as ``error(text)``, text naming the
    file and, for each problem, the field path (one line per problem)."""
    try:
        data = parse_yaml(path.read_text())
    except OSError as failure:
        raise error(f"{path}: cannot read the file ({failure.strerror})") from None
    except yaml.YAMLError as failure:
        raise error(f"{path}: {_yaml_problem(failure)}") from None
    try:
        return model.model_validate(data, context=context)
    except ValidationError as failure:
        problems = (f"{path}: {_field(detail)}: {_problem(detail)}" for detail in failure.errors())
        raise error("\n".join(problems)) from None


def parse_with_libyaml(
    parse: Callable[..., ParsedT], text: str, fast: type[yaml.CSafeLoader], exact: type[yaml.SafeLoader]
) -> ParsedT:
    """``parse(text, Loader=fast)``, a loader over libyaml (PyYAML's C extension, a tenth of the time); where
    libyaml refuses the text, ``parse(text, Loader=exact)``, the same resolution over PyYAML's own parser, so
    that the error raised is the one it always was (libyaml words some problems differently and cannot even
    encode a lone surrogate)."""
    try:
        return parse(text, Loader=fast)
    except (yaml.YAMLError, UnicodeEncodeError):
        return parse(text, Loader=exact)


def parse_yaml(text: str) -> Any:
    """``yaml.safe_load(text)`` through :func:`parse_with_libyaml`: every run reads the scenario, the target
    file and kubeconfigs."""
    return parse_with_libyaml(yaml.load, text, yaml.CSafeLoader, yaml.SafeLoader)


def _yaml_problem(failure: yaml.YAMLError) -> str:
    """The line and PyYAML's problem statement, without the snippet of the file PyYAML would quote."""
    mark = getattr(failure, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = getattr(failure, "problem", None)
    return f"not valid YAML{where}" + (f": {problem}" if problem else "")


def _field(detail: ErrorDetails) -> str:
    """``clusters[0].apiServer`` from pydantic's location, plus the path a :class:`FieldError` blames."""
    blamed = detail.get("ctx", {}).get("error")
    at = blamed.at if isinstance(blamed, FieldError) else ()
    text = ""
    for part in (*detail["loc"], *at):
        if part == "[key]":  # a mapping's key, already named by the part before it
            continue
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text or "(top level)"


def _problem(detail: ErrorDetails) -> str:
    if detail["type"] in ("value_error", "assertion_error"):
        return str(detail["ctx"]["error"])
    if detail["type"] == "literal_error":
        return f"must be {detail['ctx']['expected']}"
    return _PROBLEMS.get(detail["type"], detail["msg"])
