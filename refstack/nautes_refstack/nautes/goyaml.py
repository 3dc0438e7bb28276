"""YAML text as ``sigs.k8s.io/yaml`` (gopkg.in/yaml.v2 underneath) writes it.

The files the API server pushes are produced by ``yaml.JSONToYAML``/``yaml.Marshal``: mapping keys sorted
with yaml.v2's "natural" order (digit runs compare as numbers), two-space indentation with sequences not
indented under their key, strings that would read back as another type (``"30080"``, ``""``, ``"true"``)
in double quotes, other unsafe strings in single quotes, multi-line strings as literal blocks. PyYAML's
emitter makes the same layout decisions except for the quote character, which :class:`_GoDumper` fixes.

Files are read back with PyYAML's safe loader, libyaml's when PyYAML has it (:func:`load`): the same
documents as the pure-Python parser, several times faster, and the API server reads a repository's files on
every request.
"""

from __future__ import annotations

import functools
from typing import Any

import yaml
from yaml.events import ScalarEvent

from nautes_refstack.nautes.gostruct import Json
from nautes_refstack.yaml_loading import SAFE_LOADER


def load(text: str | bytes) -> Any:
    """``yaml.safe_load``, with :data:`SAFE_LOADER`; raises :class:`yaml.YAMLError` as it does."""
    return yaml.load(text, Loader=SAFE_LOADER)


class _GoDumper(yaml.SafeDumper):
    def choose_scalar_style(self) -> str:
        """Keep PyYAML's choice, but quote strings that would read back as another type with ``"``."""
        style: str = super().choose_scalar_style()
        event = self.event
        resolves_to_string = isinstance(event, ScalarEvent) and bool(getattr(event, "implicit", (True,))[0])
        if style == "'" and not resolves_to_string:
            return '"'
        return style


def _represent_mapping(dumper: yaml.SafeDumper, data: dict[Any, Any]) -> yaml.MappingNode:
    keys = sorted((str(key) for key in data), key=functools.cmp_to_key(_compare_keys))
    items = [(key, data[key]) for key in keys]
    return dumper.represent_mapping("tag:yaml.org,2002:map", items, flow_style=False)


def _represent_text(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_GoDumper.add_representer(dict, _represent_mapping)
_GoDumper.add_representer(str, _represent_text)


def dump(document: Json) -> str:
    """Render one JSON-like value as sigs.k8s.io/yaml would."""
    return yaml.dump(
        document,
        Dumper=_GoDumper,
        default_flow_style=False,
        allow_unicode=True,
        width=1 << 30,
        sort_keys=False,
    )


def _compare_keys(left: str, right: str) -> int:
    """yaml.v2 ``keyList.Less`` for string keys, as a three-way comparison."""
    if left == right:
        return 0
    return -1 if _key_less(left, right) else 1


def _key_less(a: str, b: str) -> bool:
    for index, (char_a, char_b) in enumerate(zip(a, b, strict=False)):
        if char_a == char_b:
            continue
        letter_a, letter_b = char_a.isalpha(), char_b.isalpha()
        if letter_a and letter_b:
            return char_a < char_b
        if letter_a or letter_b:
            return letter_b
        number_a, end_a = _digit_run(a, index)
        number_b, end_b = _digit_run(b, index)
        if (char_a == "0" or char_b == "0") and _nonzero_digit_before(a, index):
            number_a, number_b = number_a + 10 ** (end_a - index), number_b + 10 ** (end_b - index)
        if number_a != number_b:
            return number_a < number_b
        if end_a != end_b:
            return end_a < end_b
        return char_a < char_b
    return len(a) < len(b)


def _digit_run(text: str, start: int) -> tuple[int, int]:
    end = start
    while end < len(text) and text[end].isdigit():
        end += 1
    return (int(text[start:end]) if end > start else 0), end


def _nonzero_digit_before(text: str, index: int) -> bool:
    """yaml.v2 treats a digit run continuing a non-zero number as part of that number."""
    position = index - 1
    while position >= 0 and text[position].isdigit():
        if text[position] != "0":
            return True
        position -= 1
    return False
