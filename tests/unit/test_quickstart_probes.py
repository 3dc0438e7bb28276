"""The quickstart's readiness probe for event handling: a push is acted on only once the event source and
every Sensor are ready in Argo Events' own terms (all of their ready conditions ``True``) *and* their pods
run (the Deployment the controller made for each has an available replica): ``Deployed`` alone only says
the Deployment exists."""

from __future__ import annotations

from typing import Any, cast

from nautes_e2e.suite import KubeClient, Observation
from suites.quickstart import probes

CONSUMER = "product-7-pr-demo"
SOURCE = f"{CONSUMER}-gitlab"
SENSOR = f"{CONSUMER}-0"


def conditions(*true: str, false: tuple[str, ...] = ()) -> dict[str, Any]:
    listed = [{"type": kind, "status": "True"} for kind in true]
    listed += [{"type": kind, "status": "False"} for kind in false]
    return {"conditions": listed}


def deployment(label: str, name: str, available: int) -> dict[str, Any]:
    return {"metadata": {"labels": {label: name}}, "status": {"availableReplicas": available}}


class FakeKube:
    """What the probe reads: the EventSource, the consumer's Sensors, and Deployments by name label."""

    def __init__(
        self,
        event_source: dict[str, Any] | None,
        sensors: list[dict[str, Any]],
        deployments: list[dict[str, Any]],
    ) -> None:
        self.event_source = event_source
        self.sensors = sensors
        self.deployments = deployments
        self.selectors: list[str | None] = []

    def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> dict[str, Any] | None:
        assert (api_version, kind, name, namespace) == (
            probes.ARGO_EVENTS,
            "EventSource",
            SOURCE,
            "argo-events",
        )
        return self.event_source

    def list(
        self, api_version: str, kind: str, namespace: str | None = None, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        assert namespace == "argo-events"
        self.selectors.append(label_selector)
        if kind == "Sensor":
            return self.sensors
        assert (api_version, kind) == ("apps/v1", "Deployment")
        assert label_selector is not None
        label, _, name = label_selector.partition("=")
        return [d for d in self.deployments if d["metadata"]["labels"].get(label) == name]


def sensor(name: str, status: dict[str, Any] | None) -> dict[str, Any]:
    return {"metadata": {"name": name}, **({"status": status} if status is not None else {})}


READY_SOURCE = {"metadata": {"name": SOURCE}, "status": conditions("SourcesProvided", "Deployed")}
READY_SENSOR = conditions("DependenciesProvided", "TriggersProvided", "Deployed")
RUNNING = [deployment("eventsource-name", SOURCE, 1), deployment("sensor-name", SENSOR, 1)]


def look(kube: FakeKube, sensors: int = 1) -> Observation:
    return probes.event_handling_ready(cast(KubeClient, kube), CONSUMER, sensors)


def test_ready_when_the_event_source_and_every_sensor_run() -> None:
    kube = FakeKube(READY_SOURCE, [sensor(SENSOR, READY_SENSOR)], RUNNING)

    observation = look(kube)

    assert observation.done, observation.state
    assert f"nautes.argoevents.consumer={CONSUMER}" in kube.selectors


def test_not_ready_without_an_event_source() -> None:
    observation = look(FakeKube(None, [], []))
    assert not observation.done
    assert "not created yet" in observation.state


def test_an_event_source_without_status_is_not_ready() -> None:
    observation = look(FakeKube({"metadata": {"name": SOURCE}}, [sensor(SENSOR, READY_SENSOR)], RUNNING))
    assert not observation.done
    assert "SourcesProvided, Deployed not True yet" in observation.state


def test_deployed_is_not_enough_while_the_pod_does_not_run() -> None:
    starting = [deployment("eventsource-name", SOURCE, 1), deployment("sensor-name", SENSOR, 0)]
    observation = look(FakeKube(READY_SOURCE, [sensor(SENSOR, READY_SENSOR)], starting))
    assert not observation.done
    assert f"Sensor {SENSOR}: deployed, its pod not running yet" in observation.state
    no_deployment = look(FakeKube(READY_SOURCE, [sensor(SENSOR, READY_SENSOR)], []))
    assert f"EventSource {SOURCE}: deployed, its pod not running yet" in no_deployment.state


def test_missing_or_unready_sensors_are_named() -> None:
    assert "0 of 1 Sensors created" in look(FakeKube(READY_SOURCE, [], RUNNING)).state
    unready = FakeKube(
        READY_SOURCE,
        [sensor(SENSOR, conditions("DependenciesProvided", "TriggersProvided", false=("Deployed",)))],
        RUNNING,
    )
    observation = look(unready)
    assert not observation.done
    assert f"Sensor {SENSOR}: Deployed not True yet" in observation.state


def test_every_trigger_needs_its_sensor() -> None:
    kube = FakeKube(READY_SOURCE, [sensor(SENSOR, READY_SENSOR)], RUNNING)
    assert not look(kube, sensors=2).done
