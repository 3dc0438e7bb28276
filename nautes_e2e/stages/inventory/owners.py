"""Whose an inventoried object is: this run's, another run's, or neither (there before any run).

Runs that share a world differ by their suffix; every name a scenario makes is a template around it
(``demo-<suffix>``, ``pr-demo-<suffix>``). An object is a run's when its label carries one of those names
as whole words (``product-12-pr-demo-s1-gitlab`` carries ``pr-demo-s1``; ``pr-demo-s10`` does not carry
``pr-demo-s1``), directly or through an id: Nautes names what it makes for a GitLab project or group
``repo-<id>`` / ``product-<id>``, and the snapshot knows the GitLab path behind each id. Suffixes where one is
the other plus whole words (``s1`` and ``s1-b``) cannot be told apart this way, as for the stack's faults
armed per run.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property

from nautes_e2e.stages.inventory.items import ID_TOKEN, Item

_BEFORE = r"(?<![a-z0-9])"
_AFTER = r"(?![a-z0-9])"
#: A suffix as a name part: lower case letters and digits, inner dashes.
_ANY_SUFFIX = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"


class Owner(enum.Enum):
    THIS_RUN = "this run"
    ANOTHER_RUN = "another run"
    NONE = "no run"


@dataclass(frozen=True)
class RunNames:
    """The names a scenario makes, as ``(before, after)`` the suffix, and this run's suffix."""

    templates: tuple[tuple[str, str], ...]
    suffix: str

    @classmethod
    def from_names(cls, names: Iterable[str], placeholder: str, suffix: str) -> RunNames:
        """The templates among ``names`` rendered with ``placeholder`` for the suffix (names without it are
        the same for every run and tell no run apart)."""
        templates = {
            (before, after)
            for name in names
            if name.count(placeholder) == 1
            for before, after in [name.split(placeholder)]
            if before or after
        }
        return cls(tuple(sorted(templates)), suffix)

    def owner(self, item: Item, paths: Mapping[str, str]) -> Owner:
        """Whose ``item`` is; ``paths`` maps the ids Nautes names objects by to GitLab paths."""
        texts = [item.label, *(paths[token] for token in ID_TOKEN.findall(item.label) if token in paths)]
        if any(self._this_run.search(text) for text in texts):
            return Owner.THIS_RUN
        if any(self._any_run.search(text) for text in texts):
            return Owner.ANOTHER_RUN
        return Owner.NONE

    @cached_property
    def _this_run(self) -> re.Pattern[str]:
        return _alternatives(self.templates, re.escape(self.suffix))

    @cached_property
    def _any_run(self) -> re.Pattern[str]:
        return _alternatives(self.templates, _ANY_SUFFIX)


def _alternatives(templates: Iterable[tuple[str, str]], suffix: str) -> re.Pattern[str]:
    parts = [f"{re.escape(before)}{suffix}{re.escape(after)}" for before, after in templates]
    return re.compile(f"{_BEFORE}(?:{'|'.join(parts)}){_AFTER}" if parts else r"(?!x)x")
