"""The stack's pace: ``--pace``/``--time-scale`` and their environment variables, and what ``real`` models,
each proven with real clients at a small time-scale (plus the faults that break each modelled step)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from kubernetes import client
from nautes_refstack.faults import NO_FAULTS, Faults, parse_faults
from nautes_refstack.pace import INSTANT, PACE_ENV, TIME_SCALE_ENV, Pace, PaceError, pace_from
from nautes_refstack.runtime.argoevents.controller import ArgoEventsController
from nautes_refstack.runtime.multitenant import MultiTenant
from nautes_refstack.stack import ReferenceStack
from support.command import refused_start
from support.kube import RunningKube, unique_name
from support.loop import BackgroundLoop
from support.wait import wait_for

SCALE = 0.01  # Argo CD's 180 s refresh lasts 1.8 s, a sensor pod's 20 s start 0.2 s
ARGO = ("argoproj.io", "v1alpha1", "argo-events")


def test_the_default_pace_is_instant_and_options_win_over_the_environment() -> None:
    assert pace_from(None, None, {}) == Pace(real=True, scale=0.002)  # the main job's: real order, fast
    assert pace_from("instant", None, {}).real is False
    assert pace_from(None, None, {PACE_ENV: "real", TIME_SCALE_ENV: "0.01"}) == Pace(real=True, scale=0.01)
    assert pace_from("instant", "2", {PACE_ENV: "real"}) == Pace(real=False, scale=2.0)
    assert INSTANT.seconds(180) == 0
    assert Pace(real=True, scale=0.01).seconds(180) == pytest.approx(1.8)


@pytest.mark.parametrize(
    ("pace", "scale", "message"),
    [
        ("slow", None, "--pace 'slow' is not one of instant, real"),
        (None, "0", "--time-scale '0' is not a positive number"),
        (None, "nan", "--time-scale 'nan' is not a positive number"),
        (None, "fast", "--time-scale 'fast' is not a positive number"),
    ],
)
def test_a_bad_pace_or_time_scale_names_the_option_and_value(
    pace: str | None, scale: str | None, message: str
) -> None:
    with pytest.raises(PaceError, match=message.replace("(", r"\(")):
        pace_from(pace, scale, {})


@pytest.mark.parametrize(
    ("arguments", "environment"),
    [(["--pace", "fast"], {}), ([], {TIME_SCALE_ENV: "-1"})],
    ids=["option", "environment"],
)
def test_refstack_up_refuses_a_bad_pace_before_it_starts_anything(
    arguments: list[str], environment: dict[str, str], tmp_path: Path
) -> None:
    stderr = refused_start(tmp_path / "stack", arguments, environment)
    assert stderr.startswith("reference stack not started: --")


# --- (a) the tenant repository reaches the management cluster through Argo CD ----------------------------

CLUSTER_SPEC: dict[str, Any] = {
    "api_server": "https://127.0.0.1:6443",
    "cluster_kind": "kubernetes",
    "usage": "worker",
    "cluster_type": "physical",
    "worker_type": "pipeline",
    "host_cluster": "",
    "primary_domain": "",
    "kubeconfig": "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: "
    "https://127.0.0.1:6443\ncontexts:\n- name: c\n  context: {cluster: c, user: u}\ncurrent-context: c\n"
    "users:\n- name: u\n  user: {token: t}\n",
    "vcluster": {"https_node_port": ""},
    "components_list": {},
}


class StackInBackground(BackgroundLoop):
    """A whole reference stack on a background loop, for tests that talk to it over HTTP."""

    def __init__(self, directory: Path, pace: Pace, faults: Faults = NO_FAULTS) -> None:
        super().__init__("refstack-pace", timeout=120)
        self.stack = ReferenceStack(directory, faults, pace)

    def __enter__(self) -> StackInBackground:
        super().__enter__()
        self.run(self.stack.start())
        return self

    def __exit__(self, *exc: object) -> None:
        self.run(self.stack.stop())
        super().__exit__(None, None, None)

    def api(self, method: str, path: str, body: Any) -> requests.Response:
        assert self.stack.nautes is not None
        headers = {"Authorization": f"Bearer {self.stack.credentials.gitlab_token}"}
        return requests.request(method, self.stack.nautes.url + path, json=body, headers=headers, timeout=60)


def _environment_save(stack: StackInBackground, product: str, cluster: str) -> requests.Response:
    body = {"cluster": cluster, "env_type": "test"}
    return stack.api("POST", f"/api/v1/products/{product}/environments/env-{cluster}", body)


def _product_and_cluster(stack: StackInBackground, product: str, cluster: str) -> None:
    body = {"name": product, "git": {"gitlab": {"name": product, "path": product, "visibility": "private"}}}
    assert stack.api("POST", f"/api/v1/products/{product}", body).status_code == 200
    cluster_body = {**CLUSTER_SPEC, "name": cluster}
    assert stack.api("POST", f"/api/v1/clusters/{cluster}", cluster_body).status_code == 200


def _not_synced_body(cluster: str) -> dict[str, Any]:
    return {
        "code": 500,
        "reason": "",
        "message": "during global validation, it was found that Cluster "
        f"'{cluster}' does not exist or is unavailable. Please check Environment 'env-{cluster}' in "
        f"directory 'envs'err: clusters.nautes.resource.nautes.io \"{cluster}\" not found",
        "metadata": {},
    }


@pytest.fixture(scope="module")
def real_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackInBackground]:
    with StackInBackground(tmp_path_factory.mktemp("real"), Pace(real=True, scale=SCALE)) as stack:
        yield stack


def test_a_saved_cluster_is_unknown_to_validation_until_argo_cd_syncs_the_tenant_repo(
    real_stack: StackInBackground,
) -> None:
    """Contract §2.6.5 and §3.5 step 1: the Environment check asks the management cluster for the Cluster
    resource, which Argo CD creates at its next refresh of the tenant repo (``timeout.reconciliation``
    180 s, automated sync, no webhook): until then the save answers the plain 500 of references.py."""
    _product_and_cluster(real_stack, "pace-product", "pace-cluster")

    refused = _environment_save(real_stack, "pace-product", "pace-cluster")
    assert (refused.status_code, refused.json()) == (500, _not_synced_body("pace-cluster"))

    started = time.monotonic()
    wait_for(lambda: _environment_save(real_stack, "pace-product", "pace-cluster").status_code == 200, 5)
    assert time.monotonic() - started <= 180 * SCALE + 1


def test_fault_tenant_repo_never_syncs_keeps_the_cluster_unknown(tmp_path: Path) -> None:
    """Fault ``tenant-repo-never-syncs``: even the instant pace never sees the saved Cluster resource."""
    with StackInBackground(tmp_path, INSTANT, parse_faults(["tenant-repo-never-syncs"])) as stack:
        _product_and_cluster(stack, "stuck-product", "stuck-cluster")
        time.sleep(0.5)
        refused = _environment_save(stack, "stuck-product", "stuck-cluster")
        assert (refused.status_code, refused.json()) == (500, _not_synced_body("stuck-cluster"))


# --- (c) Argo Events readiness ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kube() -> Iterator[RunningKube]:
    with RunningKube() as running:
        namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "argo-events"}}
        running.call(running.store.create, namespace)
        yield running


def _sensor(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Sensor",
        "metadata": {"name": name, "namespace": "argo-events"},
        "spec": {"dependencies": [], "triggers": []},
    }


def _get(api: client.CustomObjectsApi, name: str) -> dict[str, Any]:
    sensor: dict[str, Any] = api.get_namespaced_custom_object(*ARGO, "sensors", name)  # type: ignore[assignment]
    return sensor


def _conditions(api: client.CustomObjectsApi, name: str) -> dict[str, str]:
    sensor = _get(api, name)
    return {c["type"]: c["status"] for c in (sensor.get("status") or {}).get("conditions") or []}


def _start_controller(kube: RunningKube, faults: Faults) -> Any:
    controller = ArgoEventsController(kube.store, "argo-events", Pace(real=True, scale=SCALE), faults)
    return kube.call(lambda: asyncio.create_task(controller.run()))


def is_ready(resource: dict[str, Any]) -> bool:
    """Argo Events' ``Status.IsReady``: there are conditions and every one is ``True``."""
    conditions = (resource.get("status") or {}).get("conditions") or []
    return bool(conditions) and all(condition.get("status") == "True" for condition in conditions)


def _available_replicas(apps: client.AppsV1Api, name: str) -> int | None:
    """``status.availableReplicas`` of the Deployment the controller made for Sensor ``name`` (found by
    its ``sensor-name`` label), or None while there is none."""
    found = apps.list_namespaced_deployment("argo-events", label_selector=f"sensor-name={name}").items
    if not found:
        return None
    return (found[0].status.available_replicas if found[0].status else None) or 0


def test_a_sensor_is_deployed_at_once_and_runs_only_after_its_pod_starts(kube: RunningKube) -> None:
    """Argo Events v1.7.1: the controller marks ``Deployed`` as soon as it has created the Sensor's
    Deployment (``controllers/sensor/resource.go`` ``Reconcile``), so the Sensor is ``IsReady`` at once;
    its pod starts later (20 s, scaled), and only then does the Deployment (labelled ``sensor-name``,
    ``controllers/sensor/controller.go``) have an available replica and the Sensor receive events."""
    faults = parse_faults([])
    faults.arm()
    task = _start_controller(kube, faults)
    api = client.CustomObjectsApi(kube.api_client())
    apps = client.AppsV1Api(kube.api_client())
    name = unique_name("sensor")
    try:
        api.create_namespaced_custom_object(*ARGO, "sensors", _sensor(name))
        early = wait_for(lambda: _conditions(api, name), 2)
        assert early == {"Deployed": "True", "DependenciesProvided": "True", "TriggersProvided": "True"}
        assert is_ready(_get(api, name))
        assert wait_for(lambda: _available_replicas(apps, name) is not None, 2)
        assert _available_replicas(apps, name) == 0
        wait_for(lambda: _available_replicas(apps, name) == 1, 20 * SCALE + 2)
        api.delete_namespaced_custom_object(*ARGO, "sensors", name)
        wait_for(lambda: _available_replicas(apps, name) is None, 2)  # garbage-collected with its owner
    finally:
        kube.call(task.cancel)


def test_fault_sensors_never_ready_keeps_the_sensor_pod_from_running(kube: RunningKube) -> None:
    """Fault ``sensors-never-ready``: the sensor pod never runs, its Deployment never has a replica."""
    faults = parse_faults(["sensors-never-ready"])
    faults.arm()
    task = _start_controller(kube, faults)
    api = client.CustomObjectsApi(kube.api_client())
    apps = client.AppsV1Api(kube.api_client())
    name = unique_name("stuck")
    try:
        api.create_namespaced_custom_object(*ARGO, "sensors", _sensor(name))
        wait_for(lambda: _available_replicas(apps, name) is not None, 2)
        time.sleep(20 * SCALE * 3)
        assert _available_replicas(apps, name) == 0
    finally:
        kube.call(task.cancel)


# --- (d) Secret ca -------------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", [None, "ca-secret-missing"])
def test_every_namespace_the_operator_creates_gets_secret_ca(kube: RunningKube, fault: str | None) -> None:
    """hnc.go ``createNamespace`` -> ``createSecretStoreCA``: Secret ``ca`` (``ca.crt``) in each namespace,
    in both paces; fault ``ca-secret-missing`` leaves it out."""
    faults = parse_faults([fault] if fault else [])
    faults.arm()
    product = unique_name("product")
    tenancy = MultiTenant(kube.store, "PEM", faults)
    kube.call(tenancy.create_product, product, "group", "")
    kube.call(tenancy.create_space, product, f"{product}-ns")
    core = client.CoreV1Api(kube.api_client())
    names = {s.metadata.name for s in core.list_namespaced_secret(f"{product}-ns").items if s.metadata}
    assert ("ca" in names) is (fault is None)
