"""Everything registered so far, in the shapes the redactor looks things up in.

An :class:`Index` is immutable: :func:`~nautes_e2e.secrets.register` builds a new one and swaps it in, so that
:func:`~nautes_e2e.secrets.redact` (called from any thread, on texts of megabytes) reads a consistent index
without taking a lock.
"""

from __future__ import annotations

from dataclasses import dataclass

from nautes_e2e.secrets.material import Material


@dataclass(frozen=True)
class Index:
    """``values``: what was registered. ``forms``: exact forms, longest first (so that one containing another
    is replaced whole). ``grams``, ``heads``, ``tails``: see :class:`~nautes_e2e.secrets.material.Material`.
    ``pieces``: to tell whether two fragments either side of a line break join up."""

    values: frozenset[str] = frozenset()
    forms: tuple[str, ...] = ()
    grams: frozenset[str] = frozenset()
    pieces: tuple[str, ...] = ()
    heads: frozenset[str] = frozenset()
    tails: frozenset[str] = frozenset()

    def plus(self, value: str, added: Material) -> Index:
        return Index(
            values=self.values | {value},
            forms=tuple(sorted(added.forms.union(self.forms), key=len, reverse=True)),
            grams=self.grams | added.grams,
            pieces=self.pieces + tuple(sorted(added.pieces.difference(self.pieces))),
            heads=self.heads | added.heads,
            tails=self.tails | added.tails,
        )

    def joined(self, text: str) -> bool:
        """Whether ``text`` (two fragments put back together) lies within one piece."""
        return any(text in piece for piece in self.pieces)
