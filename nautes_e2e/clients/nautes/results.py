"""What one successful save or delete request reports, for the stages' progress lines and evidence."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ApplyResult:
    """One successful request: what was sent where, the server's ``message``, and how long it took."""

    kind: str
    name: str
    method: str
    path: str
    message: str
    duration_s: float
