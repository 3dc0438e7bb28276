"""Pod logs as the kubelet serves them through the apiserver: nothing before a container starts, and
``follow`` streaming until the container has terminated."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from support.kube import RunningKube, unique_name


@pytest.fixture(scope="module")
def kube() -> Iterator[RunningKube]:
    with RunningKube() as running:
        yield running


def _log_url(kube: RunningKube, namespace: str, pod: str) -> str:
    return f"{kube.url}/api/v1/namespaces/{namespace}/pods/{pod}/log"


def _headers(kube: RunningKube) -> dict[str, str]:
    return {"Authorization": f"Bearer {kube.admin_token}"}


def _pod(kube: RunningKube, status: dict[str, Any] | None, *, node: str = "k3s-server-0") -> tuple[str, str]:
    namespace = unique_name("logs")
    kube.call(kube.store.create, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    spec = {"containers": [{"name": "main", "image": "busybox"}], **({"nodeName": node} if node else {})}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": namespace}, "spec": spec}
    stored = kube.call(kube.store.create, pod)
    if status is not None:
        stored["status"] = status
        kube.call(kube.store.update_status, stored)
    return namespace, "p"


def _set_state(kube: RunningKube, namespace: str, state: dict[str, Any]) -> None:
    pod = kube.call(kube.store.get, "v1", "Pod", namespace, "p")
    pod["status"] = {"phase": "Running", "containerStatuses": [{"name": "main", "state": state}]}
    kube.call(kube.store.update_status, pod)


def test_a_pod_on_no_node_has_an_empty_log(kube: RunningKube) -> None:
    namespace, pod = _pod(kube, None, node="")
    answer = requests.get(_log_url(kube, namespace, pod), headers=_headers(kube), timeout=5)
    assert (answer.status_code, answer.text) == (200, "")


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (None, 'container "main" in pod "p" is not available'),
        (
            {"containerStatuses": [{"name": "main", "state": {"waiting": {"reason": "PodInitializing"}}}]},
            'container "main" in pod "p" is waiting to start: PodInitializing',
        ),
        (
            {"containerStatuses": [{"name": "main", "state": {"waiting": {"reason": "ImagePullBackOff"}}}]},
            'container "main" in pod "p" is waiting to start: trying and failing to pull image',
        ),
    ],
)
def test_a_container_that_has_not_started_has_no_log(
    kube: RunningKube, status: dict[str, Any] | None, message: str
) -> None:
    namespace, pod = _pod(kube, status)
    answer = requests.get(_log_url(kube, namespace, pod), headers=_headers(kube), timeout=5)
    assert answer.status_code == 400
    assert answer.json()["message"] == message


def test_follow_streams_until_the_container_terminates(kube: RunningKube) -> None:
    namespace, pod = _pod(kube, None)
    _set_state(kube, namespace, {"running": {}})
    kube.call(kube.store.append_pod_log, namespace, pod, "main", "one\n")

    def write_more() -> None:
        time.sleep(0.5)
        kube.call(kube.store.append_pod_log, namespace, pod, "main", "two\n")
        time.sleep(0.5)
        _set_state(kube, namespace, {"terminated": {"exitCode": 0, "reason": "Completed"}})

    writer = threading.Thread(target=write_more)
    writer.start()
    started = time.monotonic()
    answer = requests.get(
        _log_url(kube, namespace, pod), headers=_headers(kube), params={"follow": "true"}, timeout=10
    )
    writer.join()
    assert answer.text == "one\ntwo\n"
    assert time.monotonic() - started >= 0.9  # it waited for the container, not for the timeout
