"""Waiting for the world to reach a state, and saying what it is waiting for while it waits.

Two shapes: :func:`wait_for` polls a probe (tenacity does the retrying), :func:`follow` judges an event
stream (a Kubernetes watch). Stages reach them through ``stage.wait_for``/``stage.follow``
(:class:`~nautes_e2e.stages.StageContext`), which supply the stage's timeout and progress line. Both print a
progress line each time the observed state changes, end at once when the outcome is decided (a failed
PipelineRun fails the stage now, not at the timeout), and turn a timeout into a :class:`StageFailure` that
names the last state seen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_result, stop_after_delay, wait_exponential

from nautes_e2e.stages.model import ProgressSink, StageFailure

T = TypeVar("T")

#: The first pause of :func:`wait_for` is ``interval_s`` divided by this; each next one doubles, up to
#: ``interval_s``: what changes soon after the stage's last request is seen soon, what takes long is
#: still looked at no more often than ``interval_s`` (four looks in the first ``interval_s`` at most).
FIRST_PAUSE_DIVISOR = 8
#: Once a wait has lasted ``interval_s / LATE_PAUSE_SHARE``, each pause is this share of the time waited so
#: far: a state reached after 5 s is seen at most 0.5 s late. A wait that ends within a second (every wait
#: of a healthy run on the reference stack) looks as often as ever; one that lasts until an 8 s timeout (a
#: fault) looks 34 times instead of 78 at a 0.1 s interval, 27 instead of 42 at 0.2 s, each look requests.
LATE_PAUSE_SHARE = 0.1
#: The longest pause (unless ``interval_s`` is longer): a wait of minutes still looks every few seconds.
LONGEST_PAUSE_S = 2.0


@dataclass(frozen=True)
class Observation:
    """One look at the thing waited for. ``done``: the wait is over; ``failed``: the outcome is decided and
    it is a failure (the text is the diagnosis); ``state``: what the progress line and a timeout show."""

    done: bool
    state: str
    failed: str | None = None

    @property
    def decided(self) -> bool:
        return self.done or self.failed is not None


class _StateLine:
    """Prints ``waiting for <what>: <state>`` when the state differs from the previous one."""

    def __init__(self, describe: str, progress: ProgressSink) -> None:
        self.describe = describe
        self.progress = progress
        self.last: Observation | None = None

    def saw(self, observation: Observation) -> Observation:
        if self.last is None or observation.state != self.last.state:
            self.progress(f"waiting for {self.describe}: {observation.state}")
        self.last = observation
        return observation

    def outcome(self, observation: Observation) -> Observation:
        """Return a successful observation; raise the decided failure."""
        if observation.failed is not None:
            raise StageFailure(f"{self.describe}: {observation.failed}")
        return observation

    def gave_up(self, why: str) -> StageFailure:
        last_state = self.last.state if self.last is not None else "nothing observed"
        return StageFailure(f"{why}; last state: {last_state}")


def wait_for(
    describe: str,
    probe: Callable[[], Observation],
    *,
    timeout_s: float,
    interval_s: float,
    progress: ProgressSink,
) -> Observation:
    """Call ``probe`` until it is done or failed, at most ``timeout_s``: at once, then after pauses that
    grow from ``interval_s / FIRST_PAUSE_DIVISOR`` to ``interval_s`` (doubling) and stay there until a tenth
    of the time waited is longer (:data:`LATE_PAUSE_SHARE`, at most :data:`LONGEST_PAUSE_S`); the last look
    is at the timeout, never after it.

    Returns the final observation. Raises :class:`StageFailure` on a decided failure (at once) or at the
    timeout (with the last state). Exceptions from ``probe`` propagate: a probe that expects transient
    errors catches them and reports them as a state.
    """
    line = _StateLine(describe, progress)
    retrying = Retrying(
        stop=stop_after_delay(timeout_s),
        wait=_pauses(interval_s, timeout_s),
        retry=retry_if_result(lambda observation: not observation.decided),
        retry_error_callback=_last_result,
    )
    final: Observation = retrying(lambda: line.saw(probe()))
    if not final.decided:
        raise line.gave_up(f"timed out after {timeout_s:g}s waiting for {describe}")
    return line.outcome(final)


def _pauses(interval_s: float, timeout_s: float) -> Callable[[RetryCallState], float]:
    """How long :func:`wait_for` pauses after a look (see there)."""
    early = wait_exponential(multiplier=interval_s / FIRST_PAUSE_DIVISOR, max=interval_s)
    longest = max(interval_s, LONGEST_PAUSE_S)

    def pause(state: RetryCallState) -> float:
        waited = state.seconds_since_start or 0.0
        grown = max(early(state), LATE_PAUSE_SHARE * waited)
        return max(0.0, min(grown, longest, timeout_s - waited))

    return pause


def follow(
    describe: str,
    events: Iterable[T],
    judge: Callable[[T], Observation],
    *,
    progress: ProgressSink,
) -> Observation:
    """Judge each event of ``events`` until one is done or failed; same printing and decisions as
    :func:`wait_for`. The stream's own timeout (a watch's ``timeout_s``) bounds the wait: a stream that
    ends undecided raises :class:`StageFailure` with the last state."""
    line = _StateLine(describe, progress)
    for event in events:
        observation = line.saw(judge(event))
        if observation.decided:
            return line.outcome(observation)
    raise line.gave_up(f"the event stream ended before {describe} was decided")


def _last_result(retry_state: RetryCallState) -> Observation:
    """At the timeout tenacity hands over the last attempt; its (undecided) observation is the answer."""
    assert retry_state.outcome is not None  # tenacity calls this only after an attempt
    result: Observation = retry_state.outcome.result()
    return result
