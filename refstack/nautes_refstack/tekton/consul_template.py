"""The subset of consul-template (Go ``text/template``) that Vault agent injection templates use.

Supported: text with ``{{ }}`` actions and the ``{{-``/``-}}`` whitespace trimming, ``with secret "path"``
... ``end``, ``range $k, $v := <pipeline>`` ... ``end`` (map keys sorted, as Go does), ``.Field.chains``
from the current value, ``$variables``, and Go's printing of maps (``map[k:v]``) and missing keys
(``<no value>``). Secrets are looked up in a mapping prepared by the caller (the agent fetches every
path found by :func:`secret_paths` first). Anything else raises :class:`TemplateError`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.DOTALL)
_SECRET = re.compile(r'^with\s+secret\s+"([^"]+)"$')
_RANGE = re.compile(r"^range\s+(\$\w+)\s*,\s*(\$\w+)\s*:=\s*(.+)$")
NO_VALUE = "<no value>"


class TemplateError(ValueError):
    """The template uses something outside the supported subset, or is malformed."""


@dataclass
class _Node:
    kind: str  # "text", "value", "with_secret", "range"
    argument: str = ""
    names: tuple[str, str] = ("", "")
    children: list[_Node] = field(default_factory=list)


def secret_paths(template: str) -> list[str]:
    """Every path a ``with secret "…"`` block of ``template`` reads."""
    return [
        match.group(1)
        for match in (_SECRET.match(m.group(2).strip()) for m in _ACTION.finditer(template))
        if match
    ]


def render(template: str, secrets: Mapping[str, Mapping[str, Any]]) -> str:
    """Render ``template``; ``secrets[path]`` is the Vault response's ``data`` for ``path`` (``.Data``)."""
    root = _parse(template)
    output: list[str] = []
    _render(root.children, None, {}, secrets, output)
    return "".join(output)


def _tokens(template: str) -> list[tuple[str, str]]:
    """``("text", …)`` and ``("action", …)`` tokens with trim markers applied to the neighbouring text."""
    tokens: list[tuple[str, str]] = []
    position = 0
    trim_next = False
    for match in _ACTION.finditer(template):
        text = template[position : match.start()]
        if trim_next:
            text = text.lstrip()
        if match.group(1):
            text = text.rstrip()
        tokens.append(("text", text))
        tokens.append(("action", match.group(2).strip()))
        trim_next = bool(match.group(3))
        position = match.end()
    tail = template[position:]
    tokens.append(("text", tail.lstrip() if trim_next else tail))
    return tokens


def _parse(template: str) -> _Node:
    root = _Node("root")
    stack = [root]
    for kind, value in _tokens(template):
        if kind == "text":
            if value:
                stack[-1].children.append(_Node("text", value))
            continue
        secret, loop = _SECRET.match(value), _RANGE.match(value)
        if value == "end":
            if len(stack) == 1:
                raise TemplateError("unexpected {{end}}")
            stack.pop()
        elif secret:
            node = _Node("with_secret", secret.group(1))
            stack[-1].children.append(node)
            stack.append(node)
        elif loop:
            node = _Node("range", loop.group(3).strip(), (loop.group(1), loop.group(2)))
            stack[-1].children.append(node)
            stack.append(node)
        elif value.startswith((".", "$")) and " " not in value:
            stack[-1].children.append(_Node("value", value))
        else:
            raise TemplateError(f"unsupported template action {{{{{value}}}}}")
    if len(stack) != 1:
        raise TemplateError("unexpected EOF: a block is missing its {{end}}")
    return root


def _render(
    nodes: list[_Node],
    dot: Any,
    variables: dict[str, Any],
    secrets: Mapping[str, Mapping[str, Any]],
    out: list[str],
) -> None:
    for node in nodes:
        if node.kind == "text":
            out.append(node.argument)
        elif node.kind == "value":
            out.append(_format(_evaluate(node.argument, dot, variables)))
        elif node.kind == "with_secret":
            secret = secrets.get(node.argument)
            if secret is None:
                raise TemplateError(f"no secret exists at {node.argument}")
            _render(node.children, {"Data": secret}, variables, secrets, out)
        else:
            collection = _evaluate(node.argument, dot, variables)
            if isinstance(collection, Mapping):
                for key in sorted(collection):
                    scope = {**variables, node.names[0]: key, node.names[1]: collection[key]}
                    _render(node.children, collection[key], scope, secrets, out)


def _evaluate(expression: str, dot: Any, variables: dict[str, Any]) -> Any:
    """``.A.b`` from the current value, ``$v.a`` from a variable; missing keys are :data:`NO_VALUE`."""
    if expression.startswith("$"):
        name, _, rest = expression.partition(".")
        if name not in variables:
            raise TemplateError(f'undefined variable "{name}"')
        value, fields = variables[name], [part for part in rest.split(".") if part]
    else:
        value, fields = dot, [part for part in expression.split(".") if part]
    for name in fields:
        if not isinstance(value, Mapping) or name not in value:
            return NO_VALUE
        value = value[name]
    return value


def _format(value: Any) -> str:
    """Go's ``fmt.Sprint`` for the JSON values a secret holds."""
    if isinstance(value, Mapping):
        return "map[" + " ".join(f"{key}:{_format(value[key])}" for key in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(_format(item) for item in value) + "]"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
