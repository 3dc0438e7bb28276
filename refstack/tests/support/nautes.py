"""Nautes documents as the emulated API server writes them (contract §3.1-3.2), for the runtime tests.

The runtime tests put them where the controllers and operators read them: resource files in the tenant
repository, and the Cluster CR as the API server registers it.
"""

from __future__ import annotations

from typing import Any

NAUTES_API = "nautes.resource.nautes.io/v1alpha1"

# The user's pipeline file (the quickstart's ``pipelines/main.yaml``, reduced to what the runtime side reads).
USER_PIPELINE_FILE = """\
apiVersion: tekton.dev/v1beta1
kind: PipelineRun
metadata:
  name: main-pipiline
spec:
  params:
  - name: REVISION
    value: placeholder
  pipelineRef:
    name: not-installed
"""


def nautes_resource(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    """A product resource file's content: the CR without status, ``creationTimestamp: null``."""
    return {
        "apiVersion": NAUTES_API,
        "kind": kind,
        "metadata": {"creationTimestamp": None, "name": name},
        "spec": spec,
    }


def _component(name: str, namespace: str, **additions: str) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "additions": additions or None}


def cluster_cr(name: str, api_server: str) -> dict[str, Any]:
    """A physical pipeline worker as the API server registers it, component defaults filled in."""
    document = nautes_resource(
        "Cluster",
        name,
        {
            "apiServer": api_server,
            "clusterKind": "kubernetes",
            "clusterType": "physical",
            "usage": "worker",
            "workerType": "pipeline",
            "primaryDomain": "127.0.0.1.nip.io",
            "componentsList": {
                "deployment": _component("argocd", "argocd", host=f"argocd.{name}.127.0.0.1.nip.io"),
                "eventListener": _component("argo-events", "argo-events"),
                "gateway": _component("traefik", "traefik", httpNodePort="30080", httpsNodePort="30443"),
                "multiTenant": _component("hnc", "hnc-system"),
                "oauthProxy": _component("oauth2-proxy", "oauth2-proxy"),
                "pipeline": _component("tekton", "tekton-pipelines", host=f"tekton.{name}.127.0.0.1.nip.io"),
                "secretManagement": _component("vault", "vault"),
                "secretSync": _component("external-secrets", "external-secrets"),
            },
        },
    )
    document["metadata"]["namespace"] = "nautes"
    document["status"] = {}
    return document
