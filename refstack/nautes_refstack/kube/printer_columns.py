"""The ``additionalPrinterColumns`` the installed components' CRDs declare, which ``kubectl get`` shows
(the server renders them: :mod:`.tables`).

* Tekton v0.37.5 ``config/300-crds/300-pipelinerun.yaml`` and ``300-taskrun.yaml``, every served version:
  Succeeded, Reason, StartTime, CompletionTime.
* Argo CD v2.4 ``manifests/crds/application-crd.yaml``: Sync Status, Health Status, and Revision for
  ``-o wide`` (priority 10).

A CRD that declares none (Tekton's Pipelines, Tasks and ClusterTasks, Argo Events' objects) gets the
apiserver's default Age column.
"""

from __future__ import annotations

from typing import Any

_SUCCEEDED = '.status.conditions[?(@.type=="Succeeded")]'
_TEKTON_RUN: list[dict[str, Any]] = [
    {"name": "Succeeded", "type": "string", "jsonPath": f"{_SUCCEEDED}.status"},
    {"name": "Reason", "type": "string", "jsonPath": f"{_SUCCEEDED}.reason"},
    {"name": "StartTime", "type": "date", "jsonPath": ".status.startTime"},
    {"name": "CompletionTime", "type": "date", "jsonPath": ".status.completionTime"},
]
_ARGO_CD_APPLICATION: list[dict[str, Any]] = [
    {"name": "Sync Status", "type": "string", "jsonPath": ".status.sync.status"},
    {"name": "Health Status", "type": "string", "jsonPath": ".status.health.status"},
    {"name": "Revision", "type": "string", "jsonPath": ".status.sync.revision", "priority": 10},
]
DECLARED = {
    ("tekton.dev", "pipelineruns"): _TEKTON_RUN,
    ("tekton.dev", "taskruns"): _TEKTON_RUN,
    ("argoproj.io", "applications"): _ARGO_CD_APPLICATION,
}


def declared(group: str, plural: str) -> list[dict[str, Any]]:
    """The columns the CRD of ``plural.group`` declares (a fresh copy; none when it declares none)."""
    return [dict(column) for column in DECLARED.get((group, plural), [])]
