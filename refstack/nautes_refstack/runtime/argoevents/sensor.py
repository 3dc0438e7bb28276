"""Argo Events Sensors (v1.7): match an event against each Sensor's dependencies and fire its triggers.

Read from the store at every event, so an edited or deleted Sensor takes effect at once. Per dependency,
as ``sensors/listener.go`` does: the transform runs first, then the filters (every data filter and the
script must pass; a string data filter is an unanchored regexp over gjson's text of the path, so the header
array ``["Push Hook"]`` matches ``Push Hook``). A trigger whose ``conditions`` name the dependency fires
a Kubernetes ``create`` of its resource after copying event fields into it (``parameters``).
Features Nautes never writes (other filter kinds, other operations) are refused with a log line.
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nautes_refstack.kube import KubeError, ObjectStore
from nautes_refstack.runtime import lua
from nautes_refstack.runtime.jsonpath import as_gjson_string, assign, exists, lookup

log = logging.getLogger(__name__)

SENSOR_API_VERSION = "argoproj.io/v1alpha1"
_KNOWN_FILTERS = frozenset({"data", "script"})
_DEPENDENCY_NAME = re.compile(r"[\w.-]+")


class SensorError(RuntimeError):
    """A Sensor asks for something the emulation does not do, or a parameter cannot be resolved."""


@dataclass(frozen=True)
class Event:
    """An event as an event source publishes it: which source/event, and its data (headers, body, …)."""

    event_source: str
    event_name: str
    data: dict[str, Any]


def _passes_data_filter(data_filter: dict[str, Any], data: dict[str, Any]) -> bool:
    path = str(data_filter.get("path") or "")
    values = data_filter.get("value") or []
    if not exists(data, path) or not values:
        return False
    if data_filter.get("type") != "string":
        raise SensorError(f"data filter type {data_filter.get('type')!r} is not supported by the emulation")
    comparator = data_filter.get("comparator") or "="
    if comparator not in ("=", "!="):
        raise SensorError(f"string comparator {comparator!r} is not supported by Argo Events")
    text = as_gjson_string(lookup(data, path))
    return any((re.search(str(value), text) is not None) == (comparator == "=") for value in values)


def accepts(dependency: dict[str, Any], data: dict[str, Any]) -> bool:
    """Whether ``dependency``'s filters let the (already transformed) event ``data`` through."""
    filters = dependency.get("filters") or {}
    unknown = set(filters) - _KNOWN_FILTERS
    if unknown:
        raise SensorError(f"dependency filters {sorted(unknown)} are not supported by the emulation")
    if not all(_passes_data_filter(item, data) for item in filters.get("data") or []):
        return False
    script = filters.get("script")
    return not script or lua.evaluate_match_script(str(script), data)


def transform(dependency: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    script = (dependency.get("transform") or {}).get("script")
    return lua.apply_transform_script(str(script), data) if script else data


def render_resource(trigger: dict[str, Any], events: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The trigger's resource with every parameter resolved from the events of its dependencies."""
    k8s = trigger["template"]["k8s"]
    if (k8s.get("operation") or "create") != "create":
        raise SensorError(f"k8s trigger operation {k8s.get('operation')!r} is not supported by the emulation")
    resource = copy.deepcopy((k8s.get("source") or {}).get("resource"))
    if not isinstance(resource, dict):
        raise SensorError("the k8s trigger has no inline resource")
    for parameter in k8s.get("parameters") or []:
        source = parameter.get("src") or {}
        data = events.get(str(source.get("dependencyName")))
        key = str(source.get("dataKey") or "")
        if data is not None and key and exists(data, key):
            value = as_gjson_string(lookup(data, key))
        elif "value" in source:
            value = str(source["value"])
        else:
            raise SensorError(
                f"unable to resolve parameter {key!r} of dependency {source.get('dependencyName')!r}"
            )
        assign(resource, str(parameter["dest"]), value)
    return resource


class SensorRunner:
    """Evaluates every Sensor of one namespace for each event and creates what the triggers describe."""

    def __init__(
        self,
        store: ObjectStore,
        namespace: str,
        listening: Callable[[dict[str, Any]], bool] = lambda _: True,
    ) -> None:
        """``listening(sensor)``: whether the Sensor's pod is subscribed to the EventBus; one that is not
        misses the event (it is not kept for it)."""
        self._store = store
        self._namespace = namespace
        self._listening = listening

    def dispatch(self, event: Event) -> list[dict[str, Any]]:
        """Deliver ``event``; returns the objects the triggers created."""
        created: list[dict[str, Any]] = []
        for sensor in self._store.list(SENSOR_API_VERSION, "Sensor", namespace=self._namespace):
            name = sensor["metadata"]["name"]
            if not self._listening(sensor):
                log.warning("sensor %s/%s is not ready: the event is lost for it", self._namespace, name)
                continue
            try:
                created.extend(self._run(sensor, event))
            except (SensorError, lua.UnsupportedScript, lua.LuaRuntimeError, KubeError, KeyError) as error:
                log.warning("sensor %s/%s: %s", self._namespace, name, error)
        return created

    def _run(self, sensor: dict[str, Any], event: Event) -> list[dict[str, Any]]:
        spec = sensor.get("spec") or {}
        resolved: dict[str, dict[str, Any]] = {}
        for dependency in spec.get("dependencies") or []:
            if (dependency.get("eventSourceName"), dependency.get("eventName")) != (
                event.event_source,
                event.event_name,
            ):
                continue
            data = transform(dependency, event.data)
            if accepts(dependency, data):
                resolved[str(dependency["name"])] = data
        created = []
        for trigger in spec.get("triggers") or []:
            conditions = str(trigger["template"].get("conditions") or "")
            if conditions and not _DEPENDENCY_NAME.fullmatch(conditions):
                raise SensorError(f"trigger conditions {conditions!r}: only a dependency name is supported")
            wanted = {conditions} if conditions else {str(d["name"]) for d in spec.get("dependencies") or []}
            if not wanted <= resolved.keys():
                continue
            resource = render_resource(trigger, resolved)
            created.append(self._store.create(resource))
            log.info("sensor %s created %s", sensor["metadata"]["name"], created[-1]["metadata"]["name"])
        return created
