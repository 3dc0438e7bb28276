"""The kubelet mounting the vault-agent TLS Secret volume of a TaskRun pod while that Secret is missing.

With ``vault.hashicorp.com/tls-secret: <name>`` the injector adds volume ``vault-tls-secrets`` (Secret
``<name>``, mounted at ``/vault/tls`` in the agent containers; vault-k8s ``agent-inject/agent/
container_volume.go``). Until the Secret exists the kubelet's ``MountVolume.SetUp`` fails
(``pkg/volume/secret/secret.go``: the secret manager answers NotFound for resource ``secret``), and the
operation executor records a Warning Event, reason ``FailedMount``, message built by ``GenerateError``
(``<prefix> for volume "<volume>" : <error>``) -- ``MountVolume.SetUp failed for volume
"vault-tls-secrets" : secret "ca" not found`` -- and retries with exponential backoff
(``pkg/util/goroutinemap/exponentialbackoff``: 500 ms doubling to at most 2m2s). The repeats fold into the
one Event (:mod:`nautes_refstack.kube.events`). A Secret that appears is only seen at the next retry, so
the pod may wait up to two more minutes. Meanwhile the pod is ``Pending``, every container, init or not,
waiting ``PodInitializing`` (``kubelet_pods.go`` ``convertToAPIContainerStatuses``: the default waiting
reason is ``PodInitializing`` when the pod has init containers, ``ContainerCreating`` otherwise):
``kubectl get pod`` shows ``Init:0/1``.

This is the ``real`` pace's kubelet. Under ``instant`` the first failure is recorded the same way and the
TaskRun then waits for the Secret with a watch (no retries, no backoff).
"""

from __future__ import annotations

from nautes_refstack.kube import KubeError, ObjectStore
from nautes_refstack.pace import Pace
from nautes_refstack.tekton.pods import TaskPod

TLS_VOLUME = "vault-tls-secrets"
FIRST_RETRY_SECONDS = 0.5
LAST_RETRY_SECONDS = 122.0
FAILED_MOUNT = "FailedMount"


def failed_mount_message(secret: str) -> str:
    """The kubelet's Event message for the vault-agent TLS volume of a missing Secret ``secret``."""
    return f'MountVolume.SetUp failed for volume "{TLS_VOLUME}" : secret "{secret}" not found'


async def mount_when_present(store: ObjectStore, pod: TaskPod, secret: str, pace: Pace) -> None:
    """Retry the mount like the kubelet until Secret ``secret`` exists, recording each failure."""
    delay = FIRST_RETRY_SECONDS
    while not _exists(store, pod.namespace, secret):
        pod.show_initializing()
        pod.warn(FAILED_MOUNT, failed_mount_message(secret))
        await pace.wait(delay)
        delay = min(delay * 2, LAST_RETRY_SECONDS)


def _exists(store: ObjectStore, namespace: str, name: str) -> bool:
    try:
        store.get("v1", "Secret", namespace, name)
    except KubeError:
        return False
    return True
