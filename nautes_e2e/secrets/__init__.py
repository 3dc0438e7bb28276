"""The one type for a secret value, and the redactor every output of the harness goes through.

Tokens, passwords, private keys and kubeconfigs must never reach a report, a log line or an exception text.
Wrapping them in :class:`Secret` as soon as they are read makes ``str()``/``repr()``/f-strings print ``***``,
and registers the value so that :func:`redact` can scrub it from text that was produced elsewhere (an API
error body that echoes a token, a git error that prints a URL with credentials, a pod log, a failing
assert that pytest prints with ``-l -vv``).

:func:`redact` masks a registered value whole in any of the forms it is printed in (escaped, base64:
:mod:`~nautes_e2e.secrets.material`), and masks the fragments pytest leaves of it when it cuts or splits a
value (:mod:`~nautes_e2e.secrets.fragments`).
"""

from __future__ import annotations

import threading

from nautes_e2e.secrets import fragments
from nautes_e2e.secrets.index import Index
from nautes_e2e.secrets.material import FRAGMENT, material

MASK = "***"
# Values shorter than this are not scrubbed from free text: masking "a" or "1" would mangle every line.
_MIN_REDACTABLE_LENGTH = FRAGMENT

_lock = threading.Lock()
_index = Index()


class Secret:
    """A secret value that prints as ``***``. Use :meth:`reveal` at the single place the value is sent."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        register(value)

    def reveal(self) -> str:
        return self._value

    def __str__(self) -> str:
        return MASK

    def __repr__(self) -> str:
        return f"Secret({MASK})"

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def register(value: str) -> None:
    """Remember ``value`` so that :func:`redact` scrubs it, and its fragments, from any text."""
    global _index
    value = value.strip()
    if len(value) < _MIN_REDACTABLE_LENGTH or value in _index.values:
        return
    added = material(value)
    with _lock:
        _index = _index.plus(value, added)


def redact(text: str) -> str:
    """``text`` with every registered secret, and every fragment of one, replaced with ``***``."""
    index = _index
    for form in index.forms:
        if form in text:
            text = text.replace(form, MASK)
    return fragments.mask(text, index, MASK) if index.grams else text
