"""``GET pods/{name}/log`` as the kubelet answers it through the apiserver.

* A pod no node has taken yet has an empty log (k8s.io/kubernetes/pkg/registry/core/pod/strategy.go
  ``LogLocation`` gives no location, and the log REST streams nothing).
* A container that has not started has no log: 400 ``container "c" in pod "p" is waiting to start: <reason>``
  (k8s.io/kubernetes/pkg/kubelet/kubelet_pods.go ``validateContainerLogStatus``; kubectl prints it as
  ``Error from server (BadRequest): ...``), ``... is not available`` while the pod reports no status for it.
* ``follow=true`` streams the log as the container writes it and ends when the container has terminated
  (or the pod is gone); without it the answer is the log so far. ``tailLines`` keeps the last lines of what
  is already there.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from nautes_refstack.kube.errors import KubeError, bad_request
from nautes_refstack.kube.store import ObjectStore

JsonObject = dict[str, Any]
FOLLOW_POLL_S = 0.2


def container_name(pod: JsonObject, requested: str | None) -> str:
    """The container a log request means (the only one when none is named; the store checks the rest)."""
    if requested:
        return requested
    containers = (pod.get("spec") or {}).get("containers") or []
    return str(containers[0].get("name", "")) if len(containers) == 1 else ""


def _status(pod: JsonObject, container: str) -> JsonObject | None:
    status = pod.get("status") or {}
    for field in ("initContainerStatuses", "containerStatuses"):
        for entry in status.get(field) or []:
            if entry.get("name") == container:
                return dict(entry)
    return None


def _state(pod: JsonObject, container: str) -> JsonObject | None:
    status = _status(pod, container)
    return None if status is None else dict(status.get("state") or {})


def scheduled(pod: JsonObject) -> bool:
    """Bound to a node (``spec.nodeName``): the API server serves an unbound pod's log as empty, having no
    kubelet to ask (k8s.io/kubernetes/pkg/registry/core/pod/strategy.go ``LogLocation``). The emulated
    kubelet reports a pod's containers only once it is bound (``TaskPod.wait_until_bound``)."""
    return bool((pod.get("spec") or {}).get("nodeName"))


def check_started(pod: JsonObject, container: str) -> None:
    """Refuse, as the kubelet does, a log request for a container that has not started (one waiting to
    restart after a crash has the log of its last run: ``lastState.terminated``)."""
    status = _status(pod, container)
    name = pod["metadata"]["name"]
    if status is None:
        raise bad_request(f'container "{container}" in pod "{name}" is not available')
    state = status.get("state") or {}
    if "running" in state or "terminated" in state or "terminated" in (status.get("lastState") or {}):
        return
    reason = (state.get("waiting") or {}).get("reason")
    if reason == "ErrImagePull":
        raise bad_request(
            f'container "{container}" in pod "{name}" is waiting to start: image can\'t be pulled'
        )
    if reason == "ImagePullBackOff":
        raise bad_request(
            f'container "{container}" in pod "{name}" is waiting to start: trying and failing to pull image'
        )
    if reason:
        raise bad_request(f'container "{container}" in pod "{name}" is waiting to start: {reason}')
    raise bad_request(f'container "{container}" in pod "{name}" is waiting to start - no logs yet')


def tail(text: str, tail_lines: str | None) -> str:
    if tail_lines is None or not tail_lines.isdigit():
        return text
    return "".join(text.splitlines(keepends=True)[-int(tail_lines) :] if int(tail_lines) else [])


async def follow(
    store: ObjectStore, namespace: str, pod: str, container: str, sent: int
) -> AsyncIterator[str]:
    """What the container writes after the first ``sent`` characters, until it has terminated."""
    while True:
        try:
            current = store.get("v1", "Pod", namespace, pod)
            text = store.pod_log(namespace, pod, container)
        except KubeError:
            return  # the pod is gone
        if len(text) > sent:
            yield text[sent:]
            sent = len(text)
        if "terminated" in (_state(current, container) or {}):
            return
        await asyncio.sleep(FOLLOW_POLL_S)
