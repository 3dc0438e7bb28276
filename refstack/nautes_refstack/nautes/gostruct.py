"""Go ``encoding/json`` semantics for the CRD types the API server writes (``api/kubernetes/v1alpha1``).

The server serialises each resource with ``json.Marshal`` before turning it into YAML, so what appears in
``default.project`` depends on Go details: ``omitempty`` drops empty strings, false, nil pointers and
empty slices/maps but never struct values; a nil slice without ``omitempty`` becomes ``null``; unknown
fields read back from a file are dropped. Describing each CRD type once and running values through
:func:`canonical` reproduces those files byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

Json: TypeAlias = "bool | float | int | str | list[Json] | dict[str, Json] | None"


@dataclass(frozen=True)
class GoField:
    json_name: str
    type: GoType
    omitempty: bool = False


@dataclass(frozen=True)
class GoString:
    pass


@dataclass(frozen=True)
class GoBool:
    pass


@dataclass(frozen=True)
class GoSlice:
    elem: GoType


@dataclass(frozen=True)
class GoMap:
    elem: GoType


@dataclass(frozen=True)
class GoStruct:
    fields: tuple[GoField, ...]


@dataclass(frozen=True)
class GoPtr:
    target: GoStruct


@dataclass(frozen=True)
class GoNullTime:
    """``metav1.Time`` left at its zero value: it marshals to ``null`` (``creationTimestamp: null``)."""


@dataclass(frozen=True)
class GoRaw:
    """``runtime.RawExtension`` and other free-form JSON, kept as it is."""


GoType: TypeAlias = "GoString | GoBool | GoSlice | GoMap | GoStruct | GoPtr | GoNullTime | GoRaw"

STRING = GoString()
BOOL = GoBool()


def field(json_name: str, go_type: GoType, omitempty: bool = False) -> GoField:
    return GoField(json_name, go_type, omitempty)


def struct(*fields: GoField) -> GoStruct:
    return GoStruct(fields)


def canonical(go_type: GoType, value: Json) -> Json:
    """``json.Marshal(json.Unmarshal(value))`` for ``go_type``: the JSON Go would write for ``value``."""
    if isinstance(go_type, GoString):
        return value if isinstance(value, str) else ""
    if isinstance(go_type, GoBool):
        return value is True
    if isinstance(go_type, GoNullTime):
        return None
    if isinstance(go_type, GoRaw):
        return value
    if isinstance(go_type, GoSlice):
        if not isinstance(value, list):
            return None
        return [canonical(go_type.elem, item) for item in value]
    if isinstance(go_type, GoMap):
        if not isinstance(value, dict):
            return None
        return {key: canonical(go_type.elem, value[key]) for key in sorted(value)}
    if isinstance(go_type, GoPtr):
        return canonical(go_type.target, value) if isinstance(value, dict) else None
    return _canonical_struct(go_type, value if isinstance(value, dict) else {})


def _canonical_struct(go_type: GoStruct, value: dict[str, Json]) -> dict[str, Json]:
    result: dict[str, Json] = {}
    for member in go_type.fields:
        encoded = canonical(member.type, value.get(member.json_name))
        if member.omitempty and _is_empty(member.type, encoded):
            continue
        result[member.json_name] = encoded
    return result


def _is_empty(go_type: GoType, encoded: Json) -> bool:
    """Go's ``omitempty``: struct values are never empty, pointers only when nil (even to ``{}``)."""
    if isinstance(go_type, GoStruct | GoNullTime):
        return False
    if isinstance(go_type, GoPtr | GoRaw):
        return encoded is None
    return encoded in ("", False, None) or encoded == [] or encoded == {}
