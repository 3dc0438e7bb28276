"""What GitLab records as events (its ``events`` and ``push_event_payloads`` tables): a project created, and
each ref a push moved, by whom. The events API lists them, so a user debugging a run sees which pushes
reached which project, when, and from whom.

A push is recorded as it lands with what is known then (the ref, the commits before and after, the other
branches' tips); what needs git (commit count, newest commit's title) is read when the events are listed,
so the push path starts no extra process.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from nautes_refstack.gitlab.model import RefChange, utc_now


@dataclass(frozen=True)
class PushRecord:
    change: RefChange
    #: Tips of the project's other branches when a new branch was pushed (its commits are those not on them).
    other_tips: tuple[str, ...] = ()


@dataclass(frozen=True)
class Event:
    id: int
    project_id: int
    author_id: int
    #: GitLab's ``action_name``: "created", "pushed new", "pushed to", "deleted".
    action_name: str
    push: PushRecord | None = None
    created_at: dt.datetime = field(default_factory=utc_now)


def push_action(change: RefChange) -> str:
    """``action_name`` of a push event (``Event#action_name``, gitlab ``app/models/event.rb``)."""
    if change.is_creation:
        return "pushed new"
    if change.is_deletion:
        return "deleted"
    return "pushed to"
