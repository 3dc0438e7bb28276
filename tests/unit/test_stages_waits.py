"""Waits: a progress line per state change, an early end on a decided failure, a timeout naming the last
state; the same rules for event streams."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from nautes_e2e.stages import Observation, StageFailure
from nautes_e2e.stages.waits import follow, wait_for


def scripted_probe(states: list[Observation]) -> tuple[Callable[[], Observation], list[int]]:
    """A probe that answers ``states`` in turn (repeating the last), and counts its calls."""
    calls = [0]

    def probe() -> Observation:
        calls[0] += 1
        return states[min(calls[0], len(states)) - 1]

    return probe, calls


def running(state: str) -> Observation:
    return Observation(done=False, state=state)


def test_wait_for_prints_only_when_the_state_changes() -> None:
    lines: list[str] = []
    probe, calls = scripted_probe(
        [
            running("Pending"),
            running("Pending"),
            running("Running, 1/5"),
            running("Running, 1/5"),
            running("Running, 3/5"),
            Observation(done=True, state="Succeeded, 5/5"),
        ]
    )

    final = wait_for(
        "PipelineRun main-pipiline-n1a2b", probe, timeout_s=5, interval_s=0.001, progress=lines.append
    )

    assert final == Observation(done=True, state="Succeeded, 5/5")
    assert calls[0] == 6
    assert lines == [
        "waiting for PipelineRun main-pipiline-n1a2b: Pending",
        "waiting for PipelineRun main-pipiline-n1a2b: Running, 1/5",
        "waiting for PipelineRun main-pipiline-n1a2b: Running, 3/5",
        "waiting for PipelineRun main-pipiline-n1a2b: Succeeded, 5/5",
    ]


def test_wait_for_ends_at_once_on_a_decided_failure() -> None:
    lines: list[str] = []
    failed = Observation(done=False, state="Failed, 2/5", failed="task build-image failed: exit code 1")
    probe, calls = scripted_probe([running("Running, 1/5"), failed, running("never reached")])
    started = time.monotonic()

    with pytest.raises(StageFailure) as raised:
        wait_for(
            "PipelineRun main-pipiline-n1a2b", probe, timeout_s=30, interval_s=0.01, progress=lines.append
        )

    assert time.monotonic() - started < 5
    assert calls[0] == 2
    assert raised.value.diagnosis == "PipelineRun main-pipiline-n1a2b: task build-image failed: exit code 1"
    assert lines[-1] == "waiting for PipelineRun main-pipiline-n1a2b: Failed, 2/5"


def test_wait_for_times_out_with_the_last_state() -> None:
    probe, calls = scripted_probe(
        [running("namespace not created yet"), running("namespace Active, no account")]
    )
    started = time.monotonic()

    with pytest.raises(StageFailure) as raised:
        wait_for(
            "runtime namespace pr-demo", probe, timeout_s=0.3, interval_s=0.02, progress=lambda line: None
        )

    elapsed = time.monotonic() - started
    assert 0.3 <= elapsed < 3
    assert calls[0] > 2
    assert raised.value.diagnosis == (
        "timed out after 0.3s waiting for runtime namespace pr-demo; last state: namespace Active, no account"
    )


def test_a_probe_error_is_not_retried() -> None:
    calls = [0]

    def probe() -> Observation:
        calls[0] += 1
        raise ConnectionError("connection refused")

    with pytest.raises(ConnectionError):
        wait_for("the API", probe, timeout_s=5, interval_s=0.01, progress=lambda line: None)
    assert calls[0] == 1


def events_counted(events: list[str], consumed: list[str]) -> Iterator[str]:
    for event in events:
        consumed.append(event)
        yield event


def judge_phase(event: str) -> Observation:
    if event == "Succeeded":
        return Observation(done=True, state=event)
    if event == "Failed":
        return Observation(done=False, state=event, failed="the run failed")
    return running(event)


def test_follow_prints_state_changes_and_stops_reading_when_done() -> None:
    lines: list[str] = []
    consumed: list[str] = []
    events = events_counted(["Pending", "Pending", "Running", "Succeeded", "Deleted"], consumed)

    final = follow("PipelineRun x", events, judge_phase, progress=lines.append)

    assert final.state == "Succeeded"
    assert consumed == ["Pending", "Pending", "Running", "Succeeded"]
    assert lines == [
        "waiting for PipelineRun x: Pending",
        "waiting for PipelineRun x: Running",
        "waiting for PipelineRun x: Succeeded",
    ]


def test_follow_ends_at_once_on_a_decided_failure() -> None:
    consumed: list[str] = []
    events = events_counted(["Running", "Failed", "Succeeded"], consumed)

    with pytest.raises(StageFailure) as raised:
        follow("PipelineRun x", events, judge_phase, progress=lambda line: None)

    assert raised.value.diagnosis == "PipelineRun x: the run failed"
    assert consumed == ["Running", "Failed"]


def test_follow_fails_with_the_last_state_when_the_stream_ends_undecided() -> None:
    with pytest.raises(StageFailure) as raised:
        follow("PipelineRun x", iter(["Pending", "Running"]), judge_phase, progress=lambda line: None)

    assert (
        raised.value.diagnosis
        == "the event stream ended before PipelineRun x was decided; last state: Running"
    )


def test_follow_on_an_empty_stream_says_nothing_was_observed() -> None:
    with pytest.raises(StageFailure, match="last state: nothing observed"):
        follow("PipelineRun x", iter([]), judge_phase, progress=lambda line: None)
