"""What a runtime cluster's control plane and node do around the objects, beyond the API server: the
scheduler, the kubelet's reports and Tekton's events (:mod:`.run_events`), the endpoints and endpointslice
controllers (:mod:`.endpoints`), and the root-CA publisher (:mod:`.root_ca`). Started with the cluster's
controllers, stopped before its API server."""

from __future__ import annotations

from nautes_refstack.kube.endpoints import EndpointsController
from nautes_refstack.kube.root_ca import RootCaPublisher
from nautes_refstack.kube.run_events import RunEvents
from nautes_refstack.kube.store import ObjectStore


class ControlPlane:
    """The parts, started in order and stopped in reverse; with no CA (a plain-HTTP API server, which no
    real cluster has) nothing publishes one."""

    def __init__(self, store: ObjectStore, ca_pem: str | None) -> None:
        parts: list[RunEvents | EndpointsController | RootCaPublisher] = [
            RunEvents(store),
            EndpointsController(store),
        ]
        if ca_pem is not None:
            parts.append(RootCaPublisher(store, ca_pem))
        self._parts = tuple(parts)

    async def start(self) -> None:
        for part in self._parts:
            await part.start()

    async def stop(self) -> None:
        for part in reversed(self._parts):
            await part.stop()
