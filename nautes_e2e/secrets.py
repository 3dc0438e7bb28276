"""The one type for a secret value, and the redactor every output of the harness goes through.

Tokens, passwords, private keys and kubeconfigs must never reach a report, a log line or an exception text.
Wrapping them in :class:`Secret` as soon as they are read makes ``str()``/``repr()``/f-strings print ``***``,
and registers the value so that :func:`redact` can scrub it from text that was produced elsewhere (an API
error body that echoes a token, a git error that prints a URL with credentials, a pod log).
"""

from __future__ import annotations

import json
import threading

MASK = "***"
# Values shorter than this are not scrubbed from free text: masking "a" or "1" would mangle every line.
_MIN_REDACTABLE_LENGTH = 6

_lock = threading.Lock()
_known_values: set[str] = set()


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
    """Remember ``value`` so that :func:`redact` scrubs it from any text, also where it appears escaped.

    A multi-line secret (a kubeconfig, a private key) inside a ``repr()`` or a JSON body has its newlines
    written as ``\\n``: pytest's ``--showlocals``, an API error echoing a request body or a logged dict
    would otherwise carry it past the redactor unmatched.
    """
    value = value.strip()
    if len(value) < _MIN_REDACTABLE_LENGTH:
        return
    forms = {value, json.dumps(value)[1:-1], repr(value)[1:-1]}
    with _lock:
        _known_values.update(forms)


def redact(text: str) -> str:
    """Replace every registered secret value in ``text`` with ``***`` (longest first, so overlaps vanish)."""
    with _lock:
        values = sorted(_known_values, key=len, reverse=True)
    for value in values:
        if value in text:
            text = text.replace(value, MASK)
    return text
