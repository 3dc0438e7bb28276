"""What the apiextensions-apiserver does to a custom resource with its CRD's ``openAPIV3Schema`` on a write.

Following k8s.io/apiextensions-apiserver v0.21 (pkg/apiserver/schema/pruning/algorithm.go,
pkg/apiserver/schema/defaulting/algorithm.go, pkg/apiserver/validation/validation.go with
kube-openapi's validate package):

* pruning: fields a structural schema does not declare are dropped, except below
  ``x-kubernetes-preserve-unknown-fields: true`` and in a CRD that keeps unknown fields
  (``spec.preserveUnknownFields``, v1beta1's default); ``apiVersion``, ``kind`` and ``metadata`` stay;
* defaulting: a declared ``default`` fills an absent field;
* validation: ``type``, ``required``, ``enum``, ``nullable``, ``minimum``/``maximum``, ``minLength``/
  ``maxLength``, ``pattern``, ``minItems``/``maxItems``; a failure is a 422 naming the field, as
  ``<field>: Invalid value: ...: <field> in body must be of type <type>: "<given type>"``.

The installed components' CRDs the stack lists keep unknown fields at their root (see :mod:`.crds`), so
this only bites on CRDs created through the API with real schemas.
"""

from __future__ import annotations

import json
import re
from typing import Any

from nautes_refstack.kube.errors import JsonObject
from nautes_refstack.kube.field_errors import Violation
from nautes_refstack.kube.json_copy import deep_copy

_ROOT_KEPT = ("apiVersion", "kind", "metadata")


def _declared(schema: JsonObject, key: str) -> JsonObject | None:
    properties = schema.get("properties") or {}
    if key in properties:
        return dict(properties[key])
    additional = schema.get("additionalProperties")
    return dict(additional) if isinstance(additional, dict) else None


def prune(value: Any, schema: JsonObject, *, root: bool = False) -> Any:
    """``value`` without the fields ``schema`` does not declare: new mappings and lists down to what is
    pruned, sharing the values kept whole with ``value`` (the store prunes its own copy, which no one else
    holds; copying what it keeps again was a third of the store's copying in a main job)."""
    if isinstance(value, dict) and schema.get("type", "object") == "object":
        keep_unknown = bool(schema.get("x-kubernetes-preserve-unknown-fields"))
        result = {}
        for key, item in value.items():
            declared = _declared(schema, key)
            if root and key in _ROOT_KEPT:
                result[key] = item
            elif declared is not None:
                result[key] = prune(item, declared)
            elif keep_unknown:
                result[key] = item
        return result
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [prune(item, schema["items"]) for item in value]
    return value


def with_defaults(value: Any, schema: JsonObject) -> Any:
    """``value`` with the ``default`` of every absent declared field filled in (in place; returned)."""
    if isinstance(value, dict):
        for key, declared in (schema.get("properties") or {}).items():
            if key not in value and "default" in declared:
                value[key] = deep_copy(declared["default"])
            if key in value:
                with_defaults(value[key], declared)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            with_defaults(item, schema["items"])
    return value


def _type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _type_problem(value: Any, expected: str, path: str) -> Violation | None:
    actual = _type_of(value)
    if actual == expected or (expected == "number" and actual == "integer"):
        return None
    # kube-openapi validate/type.go reports the type it found as the value (field.TypeInvalid)
    return (path, f'Invalid value: "{actual}"', f'{path} in body must be of type {expected}: "{actual}"')


def _bound_problems(value: Any, schema: JsonObject, path: str) -> list[Violation]:
    problems: list[Violation] = []
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            problems.append(
                (
                    path,
                    f"Invalid value: {value}",
                    f"{path} in body should be greater than or equal to {schema['minimum']}",
                )
            )
        if "maximum" in schema and value > schema["maximum"]:
            problems.append(
                (
                    path,
                    f"Invalid value: {value}",
                    f"{path} in body should be less than or equal to {schema['maximum']}",
                )
            )
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            problems.append(
                (
                    path,
                    f"Invalid value: {json.dumps(value)}",
                    f"{path} in body should be at least {schema['minLength']} chars long",
                )
            )
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            problems.append((path, "Too long", f"may not be longer than {schema['maxLength']}"))
        if "pattern" in schema and re.search(str(schema["pattern"]), value) is None:
            problems.append(
                (
                    path,
                    f"Invalid value: {json.dumps(value)}",
                    f"{path} in body should match '{schema['pattern']}'",
                )
            )
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            problems.append(
                (
                    path,
                    f"Invalid value: {len(value)}",
                    f"{path} in body should have at least {schema['minItems']} items",
                )
            )
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            problems.append((path, "Too many", f"must have at most {schema['maxItems']} items"))
    return problems


def _value_problem(value: Any, schema: JsonObject, path: str) -> Violation | None:
    """A null where none is allowed, a wrong type, or a value outside ``enum``."""
    if value is None:
        if schema.get("nullable") or not schema.get("type"):
            return None
        return (path, 'Invalid value: "null"', f'{path} in body must be of type {schema["type"]}: "null"')
    problem = _type_problem(value, str(schema["type"]), path) if schema.get("type") else None
    if problem is None and "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(json.dumps(option) for option in schema["enum"])
        return (path, f"Unsupported value: {json.dumps(value)}", f"supported values: {allowed}")
    return problem


def violations(value: Any, schema: JsonObject, path: str = "") -> list[Violation]:
    """What ``value`` breaks of ``schema``, each with its field path (``spec.size``)."""
    problem = _value_problem(value, schema, path)
    if problem is not None or value is None:
        return [problem] if problem is not None else []
    problems = _bound_problems(value, schema, path)
    if isinstance(value, dict):  # declared fields first, then required ones (go-openapi object_validator.go)
        for key, item in value.items():
            declared = _declared(schema, key)
            if declared is not None and (path or key not in _ROOT_KEPT):
                problems += violations(item, declared, f"{path}.{key}" if path else key)
        for key in schema.get("required") or []:
            if key not in value:
                problems.append((f"{path}.{key}" if path else key, "Required value", ""))
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            problems += violations(item, schema["items"], f"{path}[{index}]")
    return problems
