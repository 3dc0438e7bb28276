"""Request messages as kratos sees them: proto schemas, ``protojson`` decoding and query/path binding.

The real server binds a Save request in three steps (generated ``*_http.pb.go``): the body into the
``body`` sub-message (the whole request for Product), then the query string, then the path variables;
the last two go through kratos' form codec, which matches keys by proto name or JSON name. The body goes
through ``protojson`` with ``DiscardUnknown``: unknown keys are skipped, ``null`` leaves a field unset,
both the JSON name and the proto name are accepted, and values of the wrong JSON type are rejected.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeAlias

from nautes_refstack.nautes.jsontokens import SCALAR, JsonSyntaxError, Token, TokenKind, TokenReader

JsonValue: TypeAlias = "bool | float | str | list[JsonValue] | dict[str, JsonValue] | None"


class FieldKind(enum.Enum):
    STRING = "string"
    BOOL = "bool"
    MESSAGE = "message"
    STRING_MAP = "map<string,string>"
    LIST_VALUE_MAP = "map<string,google.protobuf.ListValue>"


@dataclass(frozen=True)
class Rule:
    """A protoc-gen-validate rule on a field; ``describe`` is PGV's reason text."""

    kind: str  # "min_len", "in", "required", "min_items"
    values: tuple[str, ...] = ()
    amount: int = 0


def min_len(amount: int) -> Rule:
    return Rule("min_len", amount=amount)


def one_of(*values: str) -> Rule:
    return Rule("in", values=values)


REQUIRED = Rule("required")


def min_items(amount: int) -> Rule:
    return Rule("min_items", amount=amount)


@dataclass(frozen=True)
class Field:
    proto_name: str
    json_name: str
    go_name: str
    kind: FieldKind
    repeated: bool = False
    message: Schema | None = None
    rules: tuple[Rule, ...] = ()


@dataclass(frozen=True)
class Schema:
    """A proto message: ``name`` is the Go type name PGV prints, ``full_name`` the proto full name."""

    name: str
    full_name: str
    fields: tuple[Field, ...]

    def by_json_or_proto_name(self, name: str) -> Field | None:
        """protojson's lookup: the JSON name first, then the proto (text) name."""
        for candidate in self.fields:
            if candidate.json_name == name:
                return candidate
        return self.by_proto_or_json_name(name, json_first=False)

    def by_proto_or_json_name(self, name: str, json_first: bool = False) -> Field | None:
        """The form codec's lookup: the proto name first, then the JSON name."""
        order = ("json_name", "proto_name") if json_first else ("proto_name", "json_name")
        for attribute in order:
            for candidate in self.fields:
                if getattr(candidate, attribute) == name:
                    return candidate
        return None


def string(proto_name: str, *rules: Rule, json_name: str | None = None, go_name: str | None = None) -> Field:
    return Field(
        proto_name, json_name or proto_name, go_name or _go_name(proto_name), FieldKind.STRING, rules=rules
    )


def boolean(proto_name: str, json_name: str | None = None, go_name: str | None = None) -> Field:
    return Field(proto_name, json_name or proto_name, go_name or _go_name(proto_name), FieldKind.BOOL)


def strings(proto_name: str, json_name: str | None = None, go_name: str | None = None) -> Field:
    return Field(proto_name, json_name or proto_name, go_name or _go_name(proto_name), FieldKind.STRING, True)


def message(
    proto_name: str, schema: Schema, *rules: Rule, json_name: str | None = None, go_name: str | None = None
) -> Field:
    name = go_name or _go_name(proto_name)
    return Field(proto_name, json_name or proto_name, name, FieldKind.MESSAGE, message=schema, rules=rules)


def messages(
    proto_name: str, schema: Schema, *rules: Rule, json_name: str | None = None, go_name: str | None = None
) -> Field:
    name = go_name or _go_name(proto_name)
    return Field(proto_name, json_name or proto_name, name, FieldKind.MESSAGE, True, schema, rules)


def string_map(proto_name: str, json_name: str | None = None) -> Field:
    return Field(proto_name, json_name or proto_name, _go_name(proto_name), FieldKind.STRING_MAP)


def list_value_map(proto_name: str, json_name: str | None = None) -> Field:
    return Field(proto_name, json_name or proto_name, _go_name(proto_name), FieldKind.LIST_VALUE_MAP)


def _go_name(proto_name: str) -> str:
    """protoc-gen-go's CamelCase of a proto field name (``api_server`` -> ``ApiServer``)."""
    return "".join(part[:1].upper() + part[1:] for part in proto_name.split("_"))


Value: TypeAlias = (
    "str | bool | list[str] | list[Message] | dict[str, str] | dict[str, list[JsonValue]] | Message"
)


@dataclass
class Message:
    """A decoded proto message. Unset fields are absent; getters return proto3 zero values for them."""

    schema: Schema
    values: dict[str, Value] = field(default_factory=dict)

    def _field(self, name: str) -> Field:
        for candidate in self.schema.fields:
            if candidate.proto_name == name:
                return candidate
        raise KeyError(f"{self.schema.full_name} has no field {name}")

    def text(self, name: str) -> str:
        value = self.values.get(self._field(name).proto_name, "")
        return value if isinstance(value, str) else ""

    def flag(self, name: str) -> bool:
        return self.values.get(self._field(name).proto_name) is True

    def child(self, name: str) -> Message | None:
        value = self.values.get(self._field(name).proto_name)
        return value if isinstance(value, Message) else None

    def texts(self, name: str) -> list[str]:
        value = self.values.get(self._field(name).proto_name, [])
        return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []

    def children(self, name: str) -> list[Message]:
        value = self.values.get(self._field(name).proto_name, [])
        return [item for item in value if isinstance(item, Message)] if isinstance(value, list) else []

    def text_map(self, name: str) -> dict[str, str]:
        value = self.values.get(self._field(name).proto_name, {})
        if not isinstance(value, dict):
            return {}
        return {key: item for key, item in value.items() if isinstance(item, str)}

    def list_map(self, name: str) -> dict[str, list[JsonValue]]:
        value = self.values.get(self._field(name).proto_name, {})
        if not isinstance(value, dict):
            return {}
        return {key: item for key, item in value.items() if isinstance(item, list)}

    def is_set(self, name: str) -> bool:
        return self._field(name).proto_name in self.values

    def set(self, name: str, value: Value) -> None:
        self.values[self._field(name).proto_name] = value


class BindError(ValueError):
    """A query or path value that kratos' form codec rejects; ``str()`` is Go's error text."""


# --- body decoding (protojson.Unmarshal with DiscardUnknown) -----------------------------------------


def decode_message(data: bytes, schema: Schema) -> Message:
    """Decode one JSON document into ``schema``; raises :class:`JsonSyntaxError` with Go's error text."""
    reader = _PeekingReader(data)
    result = _read_message(reader, schema)
    token = reader.read()
    if token.kind is not TokenKind.EOF:
        raise reader.tokens.unexpected(token)
    return result


class _PeekingReader:
    def __init__(self, data: bytes) -> None:
        self.tokens = TokenReader(data)
        self._peeked: Token | None = None

    def read(self) -> Token:
        if self._peeked is not None:
            token, self._peeked = self._peeked, None
            return token
        return self.tokens.read()

    def peek(self) -> Token:
        if self._peeked is None:
            self._peeked = self.tokens.read()
        return self._peeked

    def skip_value(self) -> None:
        token = self.read()
        if token.kind in (TokenKind.OBJECT_OPEN, TokenKind.ARRAY_OPEN):
            depth = 1
            while depth:
                inner = self.read()
                if inner.kind in (TokenKind.OBJECT_OPEN, TokenKind.ARRAY_OPEN):
                    depth += 1
                elif inner.kind in (TokenKind.OBJECT_CLOSE, TokenKind.ARRAY_CLOSE):
                    depth -= 1
        elif not token.kind & SCALAR:
            raise self.tokens.unexpected(token)


def _read_message(reader: _PeekingReader, schema: Schema) -> Message:
    token = reader.read()
    if token.kind is not TokenKind.OBJECT_OPEN:
        raise reader.tokens.unexpected(token)
    result = Message(schema)
    seen: set[str] = set()
    while True:
        token = reader.read()
        if token.kind is TokenKind.OBJECT_CLOSE:
            return result
        if token.kind is not TokenKind.NAME:
            raise reader.tokens.unexpected(token)
        target = schema.by_json_or_proto_name(token.text)
        if target is None:
            reader.skip_value()
            continue
        if target.proto_name in seen:
            raise reader.tokens.error_at(token.pos, f"duplicate field {token.raw_string()}")
        seen.add(target.proto_name)
        if reader.peek().kind is TokenKind.NULL:
            reader.read()
            continue
        result.values[target.proto_name] = _read_field(reader, target)


def _read_field(reader: _PeekingReader, target: Field) -> Value:
    if target.kind is FieldKind.STRING_MAP or target.kind is FieldKind.LIST_VALUE_MAP:
        return _read_map(reader, target)
    if target.repeated:
        return _read_list(reader, target)
    if target.kind is FieldKind.MESSAGE and target.message is not None:
        return _read_message(reader, target.message)
    return _read_scalar(reader, target.kind)


def _read_scalar(reader: _PeekingReader, kind: FieldKind) -> str | bool:
    token = reader.read()
    if kind is FieldKind.BOOL and token.kind is TokenKind.BOOL:
        return token.flag
    if kind is FieldKind.STRING and token.kind is TokenKind.STRING:
        return token.text
    raise reader.tokens.error_at(token.pos, f"invalid value for {kind.value} type: {token.raw_string()}")


def _read_list(reader: _PeekingReader, target: Field) -> list[str] | list[Message]:
    token = reader.read()
    if token.kind is not TokenKind.ARRAY_OPEN:
        raise reader.tokens.unexpected(token)
    if target.message is not None:
        items: list[Message] = []
        while reader.peek().kind is not TokenKind.ARRAY_CLOSE:
            items.append(_read_message(reader, target.message))
        reader.read()
        return items
    texts: list[str] = []
    while reader.peek().kind is not TokenKind.ARRAY_CLOSE:
        value = _read_scalar(reader, target.kind)
        texts.append(value if isinstance(value, str) else "")
    reader.read()
    return texts


def _read_map(reader: _PeekingReader, target: Field) -> dict[str, str] | dict[str, list[JsonValue]]:
    token = reader.read()
    if token.kind is not TokenKind.OBJECT_OPEN:
        raise reader.tokens.unexpected(token)
    strings_by_key: dict[str, str] = {}
    lists_by_key: dict[str, list[JsonValue]] = {}
    while True:
        token = reader.read()
        if token.kind is TokenKind.OBJECT_CLOSE:
            return lists_by_key if target.kind is FieldKind.LIST_VALUE_MAP else strings_by_key
        if token.kind is not TokenKind.NAME:
            raise reader.tokens.unexpected(token)
        if token.text in strings_by_key or token.text in lists_by_key:
            raise reader.tokens.error_at(token.pos, f"duplicate map key {token.raw_string()}")
        if target.kind is FieldKind.LIST_VALUE_MAP:
            lists_by_key[token.text] = _read_list_value(reader)
        else:
            value = _read_scalar(reader, FieldKind.STRING)
            strings_by_key[token.text] = value if isinstance(value, str) else ""


def _read_list_value(reader: _PeekingReader) -> list[JsonValue]:
    """``google.protobuf.ListValue``: a JSON array of arbitrary values."""
    token = reader.read()
    if token.kind is not TokenKind.ARRAY_OPEN:
        raise reader.tokens.unexpected(token)
    items: list[JsonValue] = []
    while reader.peek().kind is not TokenKind.ARRAY_CLOSE:
        items.append(_read_any(reader))
    reader.read()
    return items


def _read_any(reader: _PeekingReader) -> JsonValue:
    """``google.protobuf.Value``: any JSON value."""
    token = reader.read()
    if token.kind is TokenKind.NULL:
        return None
    if token.kind is TokenKind.BOOL:
        return token.flag
    if token.kind is TokenKind.NUMBER:
        return float(token.raw)
    if token.kind is TokenKind.STRING:
        return token.text
    if token.kind is TokenKind.ARRAY_OPEN:
        items: list[JsonValue] = []
        while reader.peek().kind is not TokenKind.ARRAY_CLOSE:
            items.append(_read_any(reader))
        reader.read()
        return items
    if token.kind is TokenKind.OBJECT_OPEN:
        members: dict[str, JsonValue] = {}
        while (name := reader.read()).kind is not TokenKind.OBJECT_CLOSE:
            if name.text in members:
                raise reader.tokens.error_at(name.pos, f"duplicate map key {name.raw_string()}")
            members[name.text] = _read_any(reader)
        return members
    raise reader.tokens.unexpected(token)


# --- query and path binding (kratos encoding/form.DecodeValues) --------------------------------------

_GO_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_GO_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


def bind_values(target: Message, pairs: Iterable[tuple[str, list[str]]]) -> None:
    """Apply query parameters or path variables to a request message, as kratos' form codec does."""
    for key, values in pairs:
        _populate(target, key.split("."), values)


def _populate(target: Message, path: list[str], values: list[str]) -> None:
    current = target
    for index, name in enumerate(path):
        found = current.schema.by_proto_or_json_name(name)
        if found is None and len(name) > 2 and name.endswith("[]"):
            found = current.schema.by_proto_or_json_name(name[:-2])
        if found is None:
            return  # kratos ignores unexpected fields
        if index == len(path) - 1:
            _populate_leaf(current, found, values)
            return
        if found.message is None or found.repeated:
            raise BindError(f'invalid path: "{name}" is not a message')
        child = current.child(found.proto_name)
        if child is None:
            child = Message(found.message)
            current.values[found.proto_name] = child
        current = child


def _populate_leaf(target: Message, leaf: Field, values: list[str]) -> None:
    if leaf.repeated:
        parsed = [_parse_text(leaf, value, "list") for value in values]
        target.values[leaf.proto_name] = target.texts(leaf.proto_name) + parsed
        return
    if leaf.kind in (FieldKind.STRING_MAP, FieldKind.LIST_VALUE_MAP):
        return  # map entries in a query string are not used by any client of this server
    if len(values) > 1:
        raise BindError(f'too many values for field "{leaf.proto_name}": {", ".join(values)}')
    if values[0] == "":
        return
    if leaf.kind is FieldKind.BOOL:
        target.values[leaf.proto_name] = _parse_go_bool(leaf, values[0])
    else:
        target.values[leaf.proto_name] = _parse_text(leaf, values[0], "field")


def _parse_go_bool(leaf: Field, value: str) -> bool:
    """``strconv.ParseBool`` with kratos' error wording."""
    if value in _GO_TRUE:
        return True
    if value in _GO_FALSE:
        return False
    syntax = f'strconv.ParseBool: parsing "{value}": invalid syntax'
    raise BindError(f'parsing field "{leaf.proto_name}": {syntax}')


def _parse_text(leaf: Field, value: str, what: str) -> str:
    if leaf.kind is FieldKind.MESSAGE and leaf.message is not None:
        unsupported = f'unsupported message type: "{leaf.message.full_name}"'
        raise BindError(f'parsing {what} "{leaf.proto_name}": {unsupported}')
    return value


__all__ = ["BindError", "JsonSyntaxError", "Message", "Schema", "bind_values", "decode_message"]
