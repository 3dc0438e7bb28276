"""The pauses of ``wait_for``: short after the stage's last request, doubling up to the interval, never
above it — a state that changes soon is seen soon, a slow one is not polled more often than asked."""

from __future__ import annotations

import pytest

from nautes_e2e.stages import Observation
from nautes_e2e.stages.waits import FIRST_PAUSE_DIVISOR, wait_for


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
