"""An in-memory Kubernetes API server for the reference stack (one per emulated cluster).

:class:`ObjectStore` is the in-process seam (controllers and the pipeline executor call it directly on the
stack's loop); :class:`KubeApiServer` serves it over HTTP to the kubernetes Python client and kubectl.
"""

from __future__ import annotations

from nautes_refstack.kube.errors import KubeError
from nautes_refstack.kube.kubeconfig import kubeconfig_yaml
from nautes_refstack.kube.patches import JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH
from nautes_refstack.kube.resource_type import ResourceType
from nautes_refstack.kube.server import KubeApiServer
from nautes_refstack.kube.store import ObjectStore
from nautes_refstack.kube.watch import WatchEvent, WatchStream

__all__ = [
    "JSON_PATCH",
    "MERGE_PATCH",
    "STRATEGIC_MERGE_PATCH",
    "KubeApiServer",
    "KubeError",
    "ObjectStore",
    "ResourceType",
    "WatchEvent",
    "WatchStream",
    "kubeconfig_yaml",
]
