"""Sending a request again that Nautes refused because another request used the same repository at the same
moment (:class:`~nautes_e2e.clients.nautes.errors.NautesConcurrentUse`).

Why: NAUTES v0.4.2 serialises nothing. Every request that reads or changes a product or the tenant
repository clones it into ``/tmp/product<unix seconds>/<repo>`` (``app/api-server/internal/data/git.go``
``Clone``), changes it and pushes (``internal/biz/resource.go`` ``PushToGit``); two runs sharing one
installation make such requests at the same moment, and one of them fails with a 500 although nothing is
wrong with it. In every case the client resends (see ``errors._CONCURRENT_USE``) the failed request pushed
nothing, so sending it again as it was is what a user would do, and safe: a save creates or updates.

How: a pause drawn at random between 1 and 3 s, so that the next send clones in another second and two runs
that collided do not collide again in step; at most :attr:`ResendPolicy.sends` sends, and none started once
:attr:`ResendPolicy.within_s` have passed since the first, so that a server refusing every time fails the
run instead of holding it. Only that refusal is resent: every other error is raised at once. Each resend is
a :class:`Collision`, kept by the client (``NautesClient.collisions``) for the stages to report.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import requests
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_random,
)

from nautes_e2e.clients.nautes.errors import NautesConcurrentUse

#: Why a collision happened, in the words a report uses.
CONCURRENT_USE = "another request used the same repository at the same moment"


@dataclass(frozen=True)
class ResendPolicy:
    """How often, and how long, a request Nautes refused for concurrent use is sent again."""

    #: Sends of one request at most (the first included). Requests collide only when they clone in the same
    #: second while the other's clone is still there; a request meeting another run's burst of saves can
    #: meet it several times in a row (up to 5 sends measured with two runs on the reference stack, whose
    #: saves take a fraction of a second, so that a burst keeps the directory taken most of the time).
    sends: int = 12
    #: No send starts once this long has passed since the first (requests included): a real cluster save
    #: takes seconds (it clones the cluster templates and the tenant repository), so this leaves room for
    #: all the sends of slow saves while ending a run whose server refuses everything.
    within_s: float = 180.0
    #: The pause before each resend, drawn at random in this range: at least 1 s, so that the next clone is
    #: made in another second than the one that collided (the clone directory is named after the second).
    pause_s: tuple[float, float] = (1.0, 3.0)
    #: How to pause (tests pass a recorder instead of waiting).
    sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True)
class Collision:
    """One send Nautes refused because another request used the same repository at the same moment, and
    that was sent again after ``pause_s``. ``send`` counts the sends of that request (1 = the first)."""

    kind: str
    name: str
    method: str
    path: str
    what: str  # what collided, quoted from Nautes' answer
    send: int
    pause_s: float

    def __str__(self) -> str:
        what = f"{self.kind} {self.name}" if self.name else self.kind
        return (
            f"Nautes refused {self.method} {self.path} ({what}, send {self.send}): "
            f"{CONCURRENT_USE} ({self.what}); resent after {self.pause_s:.1f} s"
        )


def send_resending(
    policy: ResendPolicy,
    send_once: Callable[[], requests.Response],
    record: Callable[[Collision], None],
    *,
    method: str,
    path: str,
) -> requests.Response:
    """``send_once()``, sent again under ``policy`` while it raises :class:`NautesConcurrentUse`; each
    resend is passed to ``record`` before its pause. When the last send is refused too, that refusal is
    raised with a note saying how often it was sent; any other error is raised at once."""

    def before_pause(state: RetryCallState) -> None:
        refused = state.outcome.exception() if state.outcome is not None else None
        assert isinstance(refused, NautesConcurrentUse)  # the only error this retries
        pause = state.next_action.sleep if state.next_action is not None else 0.0
        send = state.attempt_number
        record(Collision(refused.kind, refused.name, method, path, refused.collision, send, pause))

    retrying = Retrying(
        retry=retry_if_exception_type(NautesConcurrentUse),
        wait=wait_random(*policy.pause_s),
        stop=stop_after_attempt(policy.sends) | stop_after_delay(policy.within_s),
        before_sleep=before_pause,
        sleep=policy.sleep,
        reraise=True,
    )
    started = time.monotonic()
    try:
        return retrying(send_once)
    except NautesConcurrentUse as refused:
        sends = retrying.statistics.get("attempt_number", 1)
        refused.add_note(
            f"Nautes refused {method} {path} {sends} time(s) in {time.monotonic() - started:.0f} s: "
            f"{CONCURRENT_USE} ({refused.collision}) every time; NAUTES v0.4.2 serialises nothing, so runs "
            "sharing one installation collide; nothing was pushed"
        )
        raise
