"""The three PATCH flavours the apiserver accepts for JSON bodies.

* JSON merge patch (RFC 7386): objects merge recursively, ``null`` deletes a key, lists are replaced.
* Strategic merge patch: a merge patch that merges some lists by key (containers by ``name``) and honours
  ``$patch`` directives (:mod:`.strategic_merge`).
* JSON patch (RFC 6902): ``add``, ``remove``, ``replace``, ``move``, ``copy``, ``test``; a failing
  operation is a 422, as in the apiserver.
"""

from __future__ import annotations

from typing import Any

from nautes_refstack.kube.errors import bad_request, unprocessable
from nautes_refstack.kube.json_copy import deep_copy
from nautes_refstack.kube.strategic_merge import strategic_merge

MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: the result of applying ``patch`` to ``target`` (neither is modified)."""
    if not isinstance(patch, dict):
        return deep_copy(patch)
    result = deep_copy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise unprocessable(f'JSON pointer must be empty or start with a "/": {path!r}')
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _container(document: Any, parts: list[str], path: str) -> Any:
    """The object or list holding the last element of ``parts``."""
    node = document
    for part in parts[:-1]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise unprocessable(f"doc is missing path: {path!r}: missing value")
    return node


def _list_index(node: list[Any], part: str, path: str, *, inserting: bool) -> int:
    if inserting and part == "-":
        return len(node)
    limit = len(node) + 1 if inserting else len(node)
    if not part.isdigit() or int(part) >= limit:
        raise unprocessable(f"Unable to access invalid index: {part}: {path!r}")
    return int(part)


def _get(document: Any, path: str) -> Any:
    parts = _pointer(path)
    if not parts:
        return document
    node = _container(document, parts, path)
    if isinstance(node, dict) and parts[-1] in node:
        return node[parts[-1]]
    if isinstance(node, list):
        return node[_list_index(node, parts[-1], path, inserting=False)]
    raise unprocessable(f"doc is missing path: {path!r}: missing value")


def _remove(document: Any, path: str) -> Any:
    parts = _pointer(path)
    node = _container(document, parts, path)
    if isinstance(node, dict) and parts[-1] in node:
        return node.pop(parts[-1])
    if isinstance(node, list):
        return node.pop(_list_index(node, parts[-1], path, inserting=False))
    raise unprocessable(f"remove operation does not apply: doc is missing path: {path!r}")


def _add(document: Any, path: str, value: Any) -> Any:
    parts = _pointer(path)
    if not parts:
        return value
    node = _container(document, parts, path)
    if isinstance(node, dict):
        node[parts[-1]] = value
    elif isinstance(node, list):
        node.insert(_list_index(node, parts[-1], path, inserting=True), value)
    else:
        raise unprocessable(f"add operation does not apply: doc is missing path: {path!r}")
    return document


def _apply_operation(document: Any, operation: dict[str, Any]) -> Any:
    op, path = operation.get("op"), operation.get("path", "")
    if op == "add":
        return _add(document, path, deep_copy(operation.get("value")))
    if op == "remove":
        _remove(document, path)
        return document
    if op == "replace":
        _get(document, path)
        if _pointer(path):
            _remove(document, path)
        return _add(document, path, deep_copy(operation.get("value")))
    if op == "move":
        value = _remove(document, operation.get("from", ""))
        return _add(document, path, value)
    if op == "copy":
        return _add(document, path, deep_copy(_get(document, operation.get("from", ""))))
    if op == "test":
        if _get(document, path) != operation.get("value"):
            raise unprocessable(f"testing value {path} failed: test failed")
        return document
    raise bad_request(f"Unexpected kind: {op}")


def json_patch(target: Any, operations: Any) -> Any:
    """RFC 6902: the result of applying ``operations`` to ``target`` (which is not modified)."""
    if not isinstance(operations, list) or not all(isinstance(op, dict) for op in operations):
        raise bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    document = deep_copy(target)
    for operation in operations:
        document = _apply_operation(document, operation)
    return document


def apply_patch(target: dict[str, Any], patch: Any, patch_type: str) -> dict[str, Any]:
    """Apply a patch of one of :data:`PATCH_TYPES`; the result must still be an object."""
    if patch_type == JSON_PATCH:
        result = json_patch(target, patch)
    elif isinstance(patch, dict) and patch_type == STRATEGIC_MERGE_PATCH:
        result = strategic_merge(target, patch)  # lists merged by their merge keys (.strategic_merge)
    elif isinstance(patch, dict):
        result = merge_patch(target, patch)
    else:
        raise bad_request("json: cannot unmarshal array into Go value of type map[string]interface {}")
    if not isinstance(result, dict):
        raise bad_request("the patch did not produce an object")
    return result
