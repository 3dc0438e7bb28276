"""The pauses of ``wait_for``: short after the stage's last request, doubling up to the interval — a state
that changes soon is seen soon, a slow one is not polled more often than asked — and, once the wait has
lasted, a tenth of the time waited (at most two seconds), the last look at the timeout."""

from __future__ import annotations

import pytest

from nautes_e2e.stages import Observation, StageFailure
from nautes_e2e.stages.waits import FIRST_PAUSE_DIVISOR, LATE_PAUSE_SHARE, LONGEST_PAUSE_S, wait_for


def test_the_pauses_double_from_an_eighth_of_the_interval_up_to_it(monkeypatch: pytest.MonkeyPatch) -> None:
    pauses: list[float] = []
    monkeypatch.setattr("time.sleep", pauses.append)  # what tenacity's default sleep ends in
    looks = [0]

    def probe() -> Observation:
        looks[0] += 1
        return Observation(done=looks[0] == 7, state=f"look {looks[0]}")

    wait_for("something", probe, timeout_s=60, interval_s=0.8, progress=lambda line: None)

    assert FIRST_PAUSE_DIVISOR == 8
    assert pauses == pytest.approx([0.1, 0.2, 0.4, 0.8, 0.8, 0.8])


def test_a_long_wait_pauses_a_tenth_of_the_time_waited_and_looks_last_at_its_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [0.0]
    pauses: list[float] = []

    def sleep(seconds: float) -> None:
        pauses.append(seconds)
        clock[0] += seconds

    monkeypatch.setattr("time.monotonic", lambda: clock[0])  # tenacity's clock
    monkeypatch.setattr("time.sleep", sleep)
    looks: list[float] = []

    def probe() -> Observation:
        looks.append(clock[0])
        return Observation(done=False, state="not yet")

    with pytest.raises(StageFailure, match="timed out after 30s"):
        wait_for("something", probe, timeout_s=30, interval_s=0.1, progress=lambda line: None)

    assert (LATE_PAUSE_SHARE, LONGEST_PAUSE_S) == (0.1, 2.0)
    assert pauses[:4] == pytest.approx([0.0125, 0.025, 0.05, 0.1])  # as ever at first
    for waited, pause in zip(looks[4:-2], pauses[4:-1], strict=True):  # the pause after each look
        assert pause == pytest.approx(min(max(0.1, waited / 10), 2.0))
    assert pauses[-2] == pytest.approx(2.0)  # never longer
    assert looks[-1] == pytest.approx(30.0)  # the last look at the timeout, not after it
    assert len(looks) == 50  # 300 at the interval
