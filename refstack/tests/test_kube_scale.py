"""The scale subresource of a Deployment (``kubectl scale``), as autoscaling/v1 Scale."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from support.kube import RunningKube, unique_name

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web"},
    "spec": {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "w", "image": "n"}]},
        },
    },
}


@pytest.fixture(scope="module")
def kube() -> Iterator[RunningKube]:
    with RunningKube() as running:
        yield running


@pytest.fixture
def scale_url(kube: RunningKube) -> str:
    namespace = unique_name("scale")
    kube.call(kube.store.create, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    kube.call(kube.store.create, {**DEPLOYMENT, "metadata": {"name": "web", "namespace": namespace}})
    return f"{kube.url}/apis/apps/v1/namespaces/{namespace}/deployments/web/scale"


def _call(
    kube: RunningKube, method: str, url: str, body: Any = None, content_type: str = ""
) -> requests.Response:
    headers = {"Authorization": f"Bearer {kube.admin_token}"}
    if content_type:
        headers["Content-Type"] = content_type
    return requests.request(method, url, headers=headers, json=body, timeout=5)


def test_a_scale_reads_and_sets_the_replicas(kube: RunningKube, scale_url: str) -> None:
    scale = _call(kube, "GET", scale_url).json()
    assert (scale["apiVersion"], scale["kind"]) == ("autoscaling/v1", "Scale")
    assert scale["spec"] == {"replicas": 1}
    assert scale["status"] == {"replicas": 0, "selector": "app=web"}
    patched = _call(kube, "PATCH", scale_url, {"spec": {"replicas": 3}}, "application/merge-patch+json")
    assert patched.json()["spec"] == {"replicas": 3}
    deployment = _call(kube, "GET", scale_url.removesuffix("/scale")).json()
    assert deployment["spec"]["replicas"] == 3


def test_a_stale_or_negative_scale_is_refused(kube: RunningKube, scale_url: str) -> None:
    scale = _call(kube, "GET", scale_url).json()
    negative = {**scale, "spec": {"replicas": -1}}
    refused = _call(kube, "PUT", scale_url, negative, "application/json")
    assert refused.status_code == 422
    assert refused.json()["message"] == (
        'Scale.autoscaling "web" is invalid: spec.replicas: Invalid value: -1: '
        "must be greater than or equal to 0"
    )
    stale = {**scale, "metadata": {**scale["metadata"], "resourceVersion": "1"}, "spec": {"replicas": 2}}
    conflict = _call(kube, "PUT", scale_url, stale, "application/json")
    assert conflict.status_code == 409
