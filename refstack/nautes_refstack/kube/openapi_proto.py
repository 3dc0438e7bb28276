"""The OpenAPI v2 document in the protobuf form kubectl asks for.

client-go's ``OpenAPISchema()`` (k8s.io/client-go/discovery/discovery_client.go) requests ``/openapi/v2``
with ``Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf`` and decodes gnostic's
``openapi.v2.Document`` (github.com/google/gnostic-models openapiv2/OpenAPIv2.proto). The apiserver
produces it from the JSON document with gnostic's compiler (k8s.io/kube-openapi/pkg/handler/handler.go
``ToProtoBinary``), which keeps vendor extensions, defaults, enums and examples as ``Any`` messages
holding their YAML text (what ``yaml.Unmarshal`` reads back on the client). This module writes that wire
format by hand: proto3 scalars left at their zero value are omitted, fields are written in field-number
order, ``oneof`` members always.

Field numbers below are those of OpenAPIv2.proto; each ``_message`` table names the message it encodes.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import yaml

MEDIA_TYPE = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
Encoder = Callable[[Any], bytes]


def _varint(value: int) -> bytes:
    out = bytearray()
    value &= (1 << 64) - 1  # negative int64s are ten-byte two's complement varints
    while True:
        low, value = value & 0x7F, value >> 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def _length_delimited(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _string(number: int, value: Any) -> bytes:
    return _length_delimited(number, str(value).encode()) if value not in (None, "") else b""


def _strings(number: int, values: Any) -> bytes:
    return b"".join(_length_delimited(number, str(value).encode()) for value in values or ())


def _bool(number: int, value: Any) -> bytes:
    return _varint(number << 3) + b"\x01" if value else b""


def _int64(number: int, value: Any) -> bytes:
    return _varint(number << 3) + _varint(int(value)) if value else b""


def _double(number: int, value: Any) -> bytes:
    return _varint(number << 3 | 1) + struct.pack("<d", float(value)) if value else b""


def _nested(number: int, encode: Encoder, value: Any) -> bytes:
    return b"" if value is None else _length_delimited(number, encode(value))


def _repeated(number: int, encode: Encoder, values: Any) -> bytes:
    return b"".join(_length_delimited(number, encode(value)) for value in values or ())


def _any(value: Any) -> bytes:
    """``Any`` {value = 1 (google.protobuf.Any, unused), yaml = 2}."""
    return _length_delimited(2, yaml.safe_dump(value, default_flow_style=False).encode())


def _named(encode_value: Encoder) -> Encoder:
    """The ``Named*`` messages: {name = 1, value = 2}."""
    return lambda pair: _string(1, pair[0]) + _length_delimited(2, encode_value(pair[1]))


def _extensions(number: int, node: dict[str, Any]) -> bytes:
    pairs = [(key, value) for key, value in node.items() if key.startswith("x-")]
    return _repeated(number, _named(_any), pairs)


def _external_docs(docs: dict[str, Any]) -> bytes:
    """``ExternalDocs`` {description = 1, url = 2, vendor_extension = 3}."""
    return _string(1, docs.get("description")) + _string(2, docs.get("url")) + _extensions(3, docs)


def _additional_properties(value: Any) -> bytes:
    """``AdditionalPropertiesItem`` oneof {schema = 1, boolean = 2}."""
    if isinstance(value, bool):
        return _varint(2 << 3) + (b"\x01" if value else b"\x00")
    return _length_delimited(1, schema(value))


def schema(node: dict[str, Any]) -> bytes:
    """``Schema``."""
    properties = node.get("properties")
    items = node.get("items")
    kind = node.get("type")
    return b"".join(
        (
            _string(1, node.get("$ref")),
            _string(2, node.get("format")),
            _string(3, node.get("title")),
            _string(4, node.get("description")),
            _nested(5, _any, node.get("default")) if "default" in node else b"",
            _double(6, node.get("multipleOf")),
            _double(7, node.get("maximum")),
            _bool(8, node.get("exclusiveMaximum")),
            _double(9, node.get("minimum")),
            _bool(10, node.get("exclusiveMinimum")),
            _int64(11, node.get("maxLength")),
            _int64(12, node.get("minLength")),
            _string(13, node.get("pattern")),
            _int64(14, node.get("maxItems")),
            _int64(15, node.get("minItems")),
            _bool(16, node.get("uniqueItems")),
            _int64(17, node.get("maxProperties")),
            _int64(18, node.get("minProperties")),
            _strings(19, node.get("required")),
            _repeated(20, _any, node.get("enum")),
            _nested(21, _additional_properties, node.get("additionalProperties")),
            # TypeItem {repeated string value = 1}
            _nested(22, lambda k: _strings(1, [k] if isinstance(k, str) else k), kind),
            # ItemsItem {repeated Schema schema = 1}
            _nested(23, lambda i: _repeated(1, schema, i if isinstance(i, list) else [i]), items),
            _repeated(24, schema, node.get("allOf")),
            # Properties {repeated NamedSchema additional_properties = 1}
            _nested(25, lambda p: _repeated(1, _named(schema), p.items()), properties),
            _string(26, node.get("discriminator")),
            _bool(27, node.get("readOnly")),
            _nested(29, _external_docs, node.get("externalDocs")),
            _nested(30, _any, node.get("example")) if "example" in node else b"",
            _extensions(31, node),
        )
    )


def _query_or_path(parameter: dict[str, Any], path: bool) -> bytes:
    """``QueryParameterSubSchema`` or ``PathParameterSubSchema`` (the path one lacks allow_empty_value, so
    its later fields are numbered one lower)."""
    shift = 1 if path else 0
    head = (
        _bool(1, parameter.get("required"))
        + _string(2, parameter.get("in"))
        + _string(3, parameter.get("description"))
        + _string(4, parameter.get("name"))
    )
    if not path:
        head += _bool(5, parameter.get("allowEmptyValue"))
    return head + b"".join(
        (
            _string(6 - shift, parameter.get("type")),
            _string(7 - shift, parameter.get("format")),
            _bool(20 - shift, parameter.get("uniqueItems")),
            _repeated(21 - shift, _any, parameter.get("enum")),
            _extensions(23 - shift, parameter),
        )
    )


def _parameter(parameter: dict[str, Any]) -> bytes:
    """``Parameter`` oneof {body_parameter = 1, non_body_parameter = 2}."""
    where = parameter.get("in")
    if where == "body":
        body = b"".join(
            (
                _string(1, parameter.get("description")),
                _string(2, parameter.get("name")),
                _string(3, where),
                _bool(4, parameter.get("required")),
                _nested(5, schema, parameter.get("schema")),
                _extensions(6, parameter),
            )
        )
        return _length_delimited(1, body)
    # NonBodyParameter oneof {header = 1, form_data = 2, query = 3, path = 4}
    number = 4 if where == "path" else 3
    return _length_delimited(2, _length_delimited(number, _query_or_path(parameter, where == "path")))


def _parameters_item(parameter: dict[str, Any]) -> bytes:
    """``ParametersItem`` oneof {parameter = 1, json_reference = 2 {_ref = 1, description = 2}}."""
    if "$ref" in parameter:
        return _length_delimited(2, _string(1, parameter["$ref"]) + _string(2, parameter.get("description")))
    return _length_delimited(1, _parameter(parameter))


def _response(response: dict[str, Any]) -> bytes:
    """``Response`` {description = 1, schema = 2 (SchemaItem oneof {schema = 1}), vendor_extension = 5}."""
    return (
        _string(1, response.get("description"))
        + _nested(2, lambda s: _length_delimited(1, schema(s)), response.get("schema"))
        + _extensions(5, response)
    )


def _responses(responses: dict[str, Any]) -> bytes:
    """``Responses`` {response_code = 1 (NamedResponseValue; ResponseValue oneof {response = 1})}."""
    return _repeated(1, _named(lambda r: _length_delimited(1, _response(r))), responses.items())


def _operation(operation: dict[str, Any]) -> bytes:
    """``Operation``."""
    return b"".join(
        (
            _strings(1, operation.get("tags")),
            _string(2, operation.get("summary")),
            _string(3, operation.get("description")),
            _string(5, operation.get("operationId")),
            _strings(6, operation.get("produces")),
            _strings(7, operation.get("consumes")),
            _repeated(8, _parameters_item, operation.get("parameters")),
            _nested(9, _responses, operation.get("responses")),
            _strings(10, operation.get("schemes")),
            _bool(11, operation.get("deprecated")),
            _extensions(13, operation),
        )
    )


_PATH_OPERATIONS = (
    ("get", 2),
    ("put", 3),
    ("post", 4),
    ("delete", 5),
    ("options", 6),
    ("head", 7),
    ("patch", 8),
)


def _path_item(item: dict[str, Any]) -> bytes:
    """``PathItem`` {_ref = 1, get = 2 ... patch = 8, parameters = 9, vendor_extension = 10}."""
    operations = b"".join(_nested(number, _operation, item.get(verb)) for verb, number in _PATH_OPERATIONS)
    return (
        _string(1, item.get("$ref"))
        + operations
        + _repeated(9, _parameters_item, item.get("parameters"))
        + _extensions(10, item)
    )


def _security_definition(definition: dict[str, Any]) -> bytes:
    """``SecurityDefinitionsItem`` oneof {api_key_security = 2 {type, name, in, description}} (the only
    kind the apiserver publishes)."""
    api_key = b"".join(
        (
            _string(1, definition.get("type")),
            _string(2, definition.get("name")),
            _string(3, definition.get("in")),
            _string(4, definition.get("description")),
        )
    )
    return _length_delimited(2, api_key)


def _security_requirement(requirement: dict[str, Any]) -> bytes:
    """``SecurityRequirement`` {additional_properties = 1 (NamedStringArray; StringArray {value = 1})}."""
    return _repeated(1, _named(lambda scopes: _strings(1, scopes)), requirement.items())


def _info(info: dict[str, Any]) -> bytes:
    """``Info`` {title = 1, version = 2, description = 3}."""
    return (
        _string(1, info.get("title")) + _string(2, info.get("version")) + _string(3, info.get("description"))
    )


def document(doc: dict[str, Any]) -> bytes:
    """``Document``: the bytes served to a client accepting :data:`MEDIA_TYPE`."""
    return b"".join(
        (
            _string(1, doc.get("swagger")),
            _nested(2, _info, doc.get("info")),
            _strings(5, doc.get("schemes")),
            _strings(6, doc.get("consumes")),
            _strings(7, doc.get("produces")),
            # Paths {vendor_extension = 1, path = 2 (NamedPathItem)}
            _nested(8, lambda paths: _repeated(2, _named(_path_item), paths.items()), doc.get("paths")),
            # Definitions {additional_properties = 1 (NamedSchema)}
            _nested(9, lambda defs: _repeated(1, _named(schema), defs.items()), doc.get("definitions")),
            _repeated(12, _security_requirement, doc.get("security")),
            # SecurityDefinitions {additional_properties = 1 (NamedSecurityDefinitionsItem)}
            _nested(
                13,
                lambda defs: _repeated(1, _named(_security_definition), defs.items()),
                doc.get("securityDefinitions"),
            ),
            _extensions(16, doc),
        )
    )
