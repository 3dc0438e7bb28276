"""Go-shaped wire types: what ``nautes`` v0.4.2 does between the YAML file and the request body.

The CLI unmarshals every document's ``spec`` into a Go struct with gopkg.in/yaml.v3 and sends
``json.Marshal`` of that struct (CLI ``cmd/commands/root.go``). That round trip, not the YAML, decides the
body: YAML keys the struct does not declare vanish (``pipelineRuntime``, ``codeRepoProvider``), absent
fields are sent as their Go zero value (``""``, ``false``, ``0``, ``null``), ``omitempty`` fields disappear
when empty, map keys come out sorted, and ``<``/``>``/``&`` are escaped. Each :class:`GoType` below decodes
a parsed YAML value the way yaml.v3 fills that Go type, into plain Python values that JSON-encode like Go.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

# yaml.v3 accepts YAML 1.1 booleans when the target is a Go bool (yaml.v3 README, "Compatibility").
_GO_YAML_TRUE = frozenset({"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y"})
_GO_YAML_FALSE = frozenset({"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "n", "N"})
# encoding/json escapes these so that a body can be embedded in HTML (Go `json.Marshal` documentation).
_GO_HTML_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


class WireError(ValueError):
    """A YAML value yaml.v3 would refuse for the Go field (the CLI fails with "error unmarshaling YAML")."""


def _yaml_tag(value: Any) -> str:
    if isinstance(value, dict):
        return "!!map"
    if isinstance(value, list):
        return "!!seq"
    if isinstance(value, bool):
        return "!!bool"
    if isinstance(value, int):
        return "!!int"
    return "!!str"


class GoType(ABC):
    """One Go type of the CLI's structs: how a YAML value becomes it, and when ``omitempty`` drops it."""

    go_name = "?"

    @abstractmethod
    def decode(self, value: Any, where: str) -> Any:
        """The Go value yaml.v3 stores for ``value`` (``None`` = absent or null), as JSON-ready Python."""

    def is_empty(self, value: Any) -> bool:
        """Go's ``omitempty`` rule for this type: false, 0, "", nil pointer, nil or empty slice/map."""
        return value is None or value in ("", 0, False) or (isinstance(value, list | dict) and not value)

    def _refuse(self, value: Any, where: str) -> WireError:
        return WireError(f"{where}: cannot unmarshal {_yaml_tag(value)} into {self.go_name}")


class GoString(GoType):
    go_name = "string"

    def decode(self, value: Any, where: str) -> Any:
        # yaml.v3 copies the scalar's text into a string field whatever its YAML type.
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str | int | float):
            return str(value)
        raise self._refuse(value, where)


class GoBool(GoType):
    go_name = "bool"

    def decode(self, value: Any, where: str) -> Any:
        if value is None:
            return False
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value in _GO_YAML_TRUE | _GO_YAML_FALSE:
            return value in _GO_YAML_TRUE
        raise self._refuse(value, where)


class GoInt(GoType):
    go_name = "int"

    def decode(self, value: Any, where: str) -> Any:
        if value is None:
            return 0
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):  # a plain scalar the loader left as text, e.g. 0x1F
            try:
                return int(value.replace("_", ""), 0)
            except ValueError:
                raise self._refuse(value, where) from None
        raise self._refuse(value, where)


@dataclass(frozen=True)
class Field:
    """One struct field: its yaml tag, its json tag, its type, and whether the json tag says omitempty."""

    yaml: str
    json: str
    type: GoType
    omitempty: bool = False


class GoStruct(GoType):
    """A struct value (not a pointer): a YAML null or absent key still yields every field's zero value."""

    def __init__(self, go_name: str, *fields: Field) -> None:
        self.go_name = go_name
        self.fields = fields

    def decode(self, value: Any, where: str) -> Any:
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise self._refuse(value, where)
        encoded: dict[str, Any] = {}
        for field in self.fields:
            decoded = field.type.decode(value.get(field.yaml), f"{where}.{field.yaml}")
            if not (field.omitempty and field.type.is_empty(decoded)):
                encoded[field.json] = decoded
        return encoded

    def is_empty(self, value: Any) -> bool:
        return False  # Go never omits a struct value, omitempty or not

    def json_key(self, yaml_key: str) -> str:
        for field in self.fields:
            if field.yaml == yaml_key:
                return field.json
        raise KeyError(f"{self.go_name} has no field with yaml tag {yaml_key!r}")


class GoPointer(GoType):
    """``*T``: YAML null or an absent key leaves it nil (JSON ``null``, dropped by omitempty)."""

    def __init__(self, target: GoType) -> None:
        self.target = target
        self.go_name = "*" + target.go_name

    def decode(self, value: Any, where: str) -> Any:
        return None if value is None else self.target.decode(value, where)

    def is_empty(self, value: Any) -> bool:
        return value is None


class GoSlice(GoType):
    """``[]T`` (and ``*[]T``, which marshals the same): nil unless the YAML gives a sequence."""

    def __init__(self, item: GoType) -> None:
        self.item = item
        self.go_name = "[]" + item.go_name

    def decode(self, value: Any, where: str) -> Any:
        if value is None:
            return None
        if not isinstance(value, list):
            raise self._refuse(value, where)
        return [self.item.decode(item, f"{where}[{index}]") for index, item in enumerate(value)]


class GoMap(GoType):
    """``map[string]T``: nil unless the YAML gives a mapping; keys sorted, as encoding/json writes them."""

    def __init__(self, value_type: GoType) -> None:
        self.value_type = value_type
        self.go_name = "map[string]" + value_type.go_name

    def decode(self, value: Any, where: str) -> Any:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self._refuse(value, where)
        entries = {GoString().decode(key, where): item for key, item in value.items()}
        return {key: self.value_type.decode(entries[key], f"{where}.{key}") for key in sorted(entries)}


def go_json(value: Any) -> bytes:
    """``json.Marshal`` of an already decoded value: compact, UTF-8, HTML characters escaped."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for char, escape in _GO_HTML_ESCAPES.items():
        text = text.replace(char, escape)
    return text.encode()


STRING = GoString()
BOOL = GoBool()
INT = GoInt()
