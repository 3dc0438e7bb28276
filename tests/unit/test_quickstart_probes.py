"""The quickstart's readiness probe for event handling: a push is acted on only once the event source and
every Sensor are ready in Argo Events' own terms (all of their ready conditions ``True``)."""

from __future__ import annotations

from typing import Any, cast

from nautes_e2e.suite import KubeClient, Observation
from suites.quickstart import probes

CONSUMER = "product-7-pr-demo"


def conditions(*true: str, false: tuple[str, ...] = ()) -> dict[str, Any]:
    listed = [{"type": kind, "status": "True"} for kind in true]
    listed += [{"type": kind, "status": "False"} for kind in false]
    return {"conditions": listed}


class FakeKube:
    """What the probe reads: ``get`` one object, ``list`` by label; answers from a dict of objects."""

    def __init__(self, event_source: dict[str, Any] | None, sensors: list[dict[str, Any]]) -> None:
        self.event_source = event_source
        self.sensors = sensors
        self.selectors: list[str | None] = []

    def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> dict[str, Any] | None:
        assert (api_version, kind, name, namespace) == (
            probes.ARGO_EVENTS,
            "EventSource",
            f"{CONSUMER}-gitlab",
            "argo-events",
        )
        return self.event_source

    def list(
        self, api_version: str, kind: str, namespace: str | None = None, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        assert (api_version, kind, namespace) == (probes.ARGO_EVENTS, "Sensor", "argo-events")
        self.selectors.append(label_selector)
        return self.sensors


def sensor(name: str, status: dict[str, Any] | None) -> dict[str, Any]:
    return {"metadata": {"name": name}, **({"status": status} if status is not None else {})}


READY_SOURCE = {"status": conditions("SourcesProvided", "Deployed")}
READY_SENSOR = conditions("DependenciesProvided", "TriggersProvided", "Deployed")


def look(kube: FakeKube, sensors: int = 1) -> Observation:
    return probes.event_handling_ready(cast(KubeClient, kube), CONSUMER, sensors)


def test_ready_when_the_event_source_and_every_sensor_are() -> None:
    kube = FakeKube(READY_SOURCE, [sensor(f"{CONSUMER}-0", READY_SENSOR)])

    observation = look(kube)

    assert observation.done
    assert kube.selectors == [f"nautes.argoevents.consumer={CONSUMER}"]


def test_not_ready_without_an_event_source() -> None:
    observation = look(FakeKube(None, []))
    assert not observation.done
    assert "not created yet" in observation.state


def test_an_event_source_without_status_is_not_ready() -> None:
    observation = look(FakeKube({"metadata": {}}, [sensor(f"{CONSUMER}-0", READY_SENSOR)]))
    assert not observation.done
    assert "SourcesProvided, Deployed not True yet" in observation.state


def test_missing_or_unready_sensors_are_named() -> None:
    assert "0 of 1 Sensors created" in look(FakeKube(READY_SOURCE, [])).state
    unready = FakeKube(
        READY_SOURCE,
        [
            sensor(
                f"{CONSUMER}-0", conditions("DependenciesProvided", "TriggersProvided", false=("Deployed",))
            )
        ],
    )
    observation = look(unready)
    assert not observation.done
    assert f"{CONSUMER}-0: Deployed not True yet" in observation.state


def test_every_trigger_needs_its_sensor() -> None:
    kube = FakeKube(READY_SOURCE, [sensor(f"{CONSUMER}-0", READY_SENSOR)])
    assert not look(kube, sensors=2).done
