"""The two Lua scripts Nautes puts into a Sensor, written and evaluated without a Lua interpreter.

The runtime operator writes a revision filter (``string.match(event.body.ref, "<revision>")`` over a list
of patterns) and a transform that copies the push ref into ``event.default.ref`` (NAUTES
``internal/data/eventlistener/argoevent/sensor.go``). Argo Events runs them with gopher-lua. This module
owns both directions: it renders the exact script text for the Sensor object, and the emulated sensor
asks it to evaluate a script it finds there. A script this module did not write is refused rather than
guessed at, so an edited Sensor fails loudly instead of matching by accident.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nautes_refstack.runtime.jsonpath import lookup

_MATCH_BLOCK = """local patterns = {%s}

for _, pattern in ipairs(patterns) do
  if string.match(%s, pattern) then
    isMatch = true
  end
end
"""

TRANSFORM_SCRIPT = """event.default = {}
event.default.ref = ""

eventType = ""
for k, v in pairs(event.headers['X-Gitlab-Event']) do
    eventType = v
end
if eventType == "Push Hook" or eventType == "Tag Push Hook"
then
    event.default.ref = event.body.ref
end

return event
"""

_BLOCK_RE = re.compile(
    r"local patterns = \{(?P<patterns>[^}]*)\}\n\n"
    r"for _, pattern in ipairs\(patterns\) do\n"
    r"  if string\.match\((?P<key>[A-Za-z_][\w.]*), pattern\) then\n"
    r"    isMatch = true\n  end\nend\n"
)
_STRING_RE = re.compile(r'"([^"]*)"')


class UnsupportedScript(ValueError):
    """A Sensor carries Lua this emulation does not evaluate (it only knows what Nautes writes)."""


class LuaRuntimeError(RuntimeError):
    """The script would raise in gopher-lua (e.g. indexing a missing header); Argo Events drops the event."""


@dataclass(frozen=True)
class MatchRule:
    """``string.match(<key>, pattern)`` for any of ``patterns``; ``key``: a Lua path (``event.body.ref``)."""

    key: str
    patterns: tuple[str, ...]


def render_match_script(rules: Sequence[MatchRule]) -> str:
    """The filter script exactly as Nautes' ``buildMatchScript`` prints it."""
    parts = ["local isMatch = false"]
    for rule in rules:
        quoted = ",".join(f'"{pattern}"' for pattern in rule.patterns)
        parts.append(_MATCH_BLOCK % (quoted, rule.key))
    parts.append("return isMatch")
    return "\n".join(parts)


def parse_match_script(script: str) -> list[MatchRule]:
    """The rules of a script :func:`render_match_script` wrote; others are :class:`UnsupportedScript`."""
    rules = [
        MatchRule(key=m["key"], patterns=tuple(_STRING_RE.findall(m["patterns"])))
        for m in _BLOCK_RE.finditer(script)
    ]
    if render_match_script(rules) != script:
        raise UnsupportedScript("the sensor filter script is not one the Nautes runtime operator writes")
    return rules


def evaluate_match_script(script: str, event: Mapping[str, Any]) -> bool:
    """What gopher-lua returns for the filter: true when any pattern of any rule matches.

    ``string.match`` on a missing value raises in Lua, which Argo Events treats as "filter failed".
    """
    for rule in parse_match_script(script):
        subject = lookup(event, rule.key.removeprefix("event."))
        if not isinstance(subject, str):
            return False
        if any(lua_pattern_to_regex(pattern).search(subject) for pattern in rule.patterns):
            return True
    return False


def apply_transform_script(script: str, event: dict[str, Any]) -> dict[str, Any]:
    """Run Nautes' push-ref transform on an event's data; other scripts are :class:`UnsupportedScript`."""
    if script != TRANSFORM_SCRIPT:
        raise UnsupportedScript("the sensor transform script is not one the Nautes runtime operator writes")
    values = (event.get("headers") or {}).get("X-Gitlab-Event")
    if not isinstance(values, list):
        raise LuaRuntimeError("bad argument #1 to pairs (table expected, got nil)")
    event_type = values[-1] if values else ""
    default: dict[str, Any] = {"ref": ""}
    if event_type in ("Push Hook", "Tag Push Hook"):
        ref = (event.get("body") or {}).get("ref")
        default = {"ref": ref} if ref is not None else {}  # assigning nil removes the key
    return {**event, "default": default}


_CLASSES = {
    "a": "A-Za-z",
    "c": r"\x00-\x1f\x7f",
    "d": "0-9",
    "l": "a-z",
    "p": r"!-/:-@\[-`{-~",
    "s": r" \t\n\r\f\v",
    "u": "A-Z",
    "w": "A-Za-z0-9",
    "x": "A-Fa-f0-9",
}


def lua_pattern_to_regex(pattern: str) -> re.Pattern[str]:
    """Translate a Lua 5.1 pattern to an equivalent Python regex (search semantics, like ``string.match``).

    Covers character classes, sets, ``. * + - ?``, anchors and captures; ``%b``, ``%f`` and
    back-references have no regex equivalent here and raise :class:`UnsupportedScript`.
    """
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "^" and i == 0:
            out.append(r"\A")
        elif char == "$" and i == len(pattern) - 1:
            out.append(r"\Z")
        elif char == "%":
            i += 1
            out.append(_escape_class(pattern, i, in_set=False))
        elif char == "[":
            i, text = _translate_set(pattern, i)
            out.append(text)
        elif char == "-":
            out.append("*?")
        elif char in ".*+?()":
            out.append(char)
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def _escape_class(pattern: str, i: int, *, in_set: bool) -> str:
    if i >= len(pattern):
        raise UnsupportedScript("malformed Lua pattern (ends with '%')")
    letter = pattern[i]
    if letter.lower() in _CLASSES:
        body = _CLASSES[letter.lower()]
        if in_set:
            if letter.isupper():
                raise UnsupportedScript("negated %-classes inside a set are not supported")
            return body
        return f"[^{body}]" if letter.isupper() else f"[{body}]"
    if letter.isalnum():
        raise UnsupportedScript(f"Lua pattern item %{letter} is not supported")
    return re.escape(letter)


def _translate_set(pattern: str, start: int) -> tuple[int, str]:
    i = start + 1
    parts = ["["]
    if i < len(pattern) and pattern[i] == "^":
        parts.append("^")
        i += 1
    first = True
    while i < len(pattern) and (pattern[i] != "]" or first):
        first = False
        char = pattern[i]
        if char == "%":
            i += 1
            parts.append(_escape_class(pattern, i, in_set=True))
        elif char == "-" and parts[-1] not in ("[", "^") and i + 1 < len(pattern) and pattern[i + 1] != "]":
            parts.append("-")
        else:
            parts.append(re.escape(char))
        i += 1
    if i >= len(pattern):
        raise UnsupportedScript("malformed Lua pattern (missing ']')")
    parts.append("]")
    return i, "".join(parts)
