"""Cluster: a CR in the tenant repository, the kubeconfig in Vault (service/cluster.go, biz/cluster.go).

The real server also clones ``nautes-labs/cluster-templates`` from GitHub and renders the runtime's
component apps (``runtimes/<c>-runtime/...``, ``tenant/production/*-appset.yaml``) and Dex callbacks;
that rendering is not emulated, only the files the rest of Nautes reads back: the Cluster CR at
``nautes/overlays/production/clusters/<c>.yaml`` and that directory's ``kustomization.yaml``. The steps
around it (caller lookup for the template clone, tenant repository lookup and clone) still run, so their
failures surface with the real texts.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from nautes_refstack.nautes import components, errors, goyaml
from nautes_refstack.nautes.crd_types import API_VERSION, CLUSTER
from nautes_refstack.nautes.gitlab_api import GitLabCallError
from nautes_refstack.nautes.gostruct import canonical
from nautes_refstack.nautes.kubeconfig import normalise_kubeconfig
from nautes_refstack.nautes.messages import CLUSTER_BODY
from nautes_refstack.nautes.protojson import JsonValue, Message
from nautes_refstack.nautes.scope import RequestScope
from nautes_refstack.nautes.selector import FieldRule, matches
from nautes_refstack.nautes.tenant import CLUSTERS_DIR
from nautes_refstack.nautes.workcopy import WorkingCopy

TENANT_NAMESPACE = "nautes"
RULES = {
    "cluster_name": FieldRule("Name", "in"),
    "cluster_type": FieldRule("Spec.ClusterType", "eq"),
    "usage": FieldRule("Spec.Usage", "eq"),
    "worker_type": FieldRule("Spec.WorkerType", "eq"),
}


# --- reading the tenant repository ------------------------------------------------------------------


async def _tenant_checkout(scope: RequestScope, wrap: str = "") -> WorkingCopy:
    """``GetTenantRepository`` + clone, with the wrapping some callers put around their failures."""
    try:
        repository = await scope.gitlab.project(scope.tenant_repo)
        return await scope.clone(repository["http_url_to_repo"])
    except errors.NautesError as failure:
        if wrap:
            raise errors.wrapped(wrap, failure) from None
        raise


def _cluster_files(copy: WorkingCopy) -> list[Path]:
    directory = copy.path(CLUSTERS_DIR)
    return sorted(path for path in directory.iterdir() if path.is_file()) if directory.is_dir() else []


def _read_cluster(copy: WorkingCopy, name: str) -> dict[str, Any]:
    path = copy.path(f"{CLUSTERS_DIR}/{name}.yaml")
    if not path.is_file():
        raise errors.plain(f"the cluster resource {name} is not found")
    document = goyaml.load(path.read_text())
    return document if isinstance(document, dict) else {}


def _reply(cluster: dict[str, Any]) -> dict[str, Any]:
    """``convertClustertoReply``: no kubeconfig, no vcluster, no status; ``event_listener`` always null."""
    spec = cluster.get("spec") or {}
    listed = spec.get("componentsList") or {}
    components_reply: dict[str, Any] = {
        api_name: None if api_name == "event_listener" else _component_reply(listed.get(category))
        for api_name, category in components.API_CATEGORIES
    }
    return {
        "name": (cluster.get("metadata") or {}).get("name", ""),
        "cluster_kind": spec.get("clusterKind", ""),
        "cluster_type": spec.get("clusterType", ""),
        "usage": spec.get("usage", ""),
        "host_cluster": spec.get("hostCluster", ""),
        "primary_domain": spec.get("primaryDomain", ""),
        "worker_type": spec.get("workerType", ""),
        "api_server": spec.get("apiServer", ""),
        "components_list": components_reply,
        "reserved_namespaces_allowed_products": dict(spec.get("reservedNamespacesAllowedProducts") or {}),
        "product_allowed_cluster_resources": dict(spec.get("productAllowedClusterResources") or {}),
    }


def _component_reply(component: Any) -> dict[str, Any] | None:
    if not isinstance(component, dict):
        return None
    return {
        "name": component.get("name", ""),
        "namespace": component.get("namespace", ""),
        "additions": dict(component.get("additions") or {}),
    }


async def get(scope: RequestScope, request: Message) -> dict[str, Any]:
    async with await _tenant_checkout(scope) as copy:
        return _reply(_read_cluster(copy, request.text("cluster_name")))


async def list_items(scope: RequestScope, request: Message) -> dict[str, Any]:
    items = []
    async with await _tenant_checkout(scope) as copy:
        for path in _cluster_files(copy):
            cluster = goyaml.load(path.read_text())
            if not isinstance(cluster, dict) or cluster.get("kind") != "Cluster":
                continue
            spec = cluster.get("spec") or {}
            view = {
                "Name": (cluster.get("metadata") or {}).get("name", ""),
                "Spec": {
                    key: spec.get(key[0].lower() + key[1:], "")
                    for key in ("ClusterType", "Usage", "WorkerType")
                },
            }
            if matches(request.text("field_selector"), view, RULES):
                items.append(_reply(cluster))
    return {"items": items}


# --- saving -----------------------------------------------------------------------------------------


def _service_checks(body: Message) -> None:
    """``ClusterService.validate`` (a nil body reads as empty strings here, as Go's getters do)."""
    api_server = body.text("api_server")
    if not (api_server.startswith("http://") or api_server.startswith("https://")):
        raise errors.plain(
            f"failed to validate save request, err: the apiserver {api_server} is not an https URL"
        )
    if (
        body.text("usage") == "worker"
        and body.text("cluster_type") == "virtual"
        and not body.text("host_cluster")
    ):
        raise errors.plain(
            "failed to validate save request, err: the 'Host Cluster' for virtual cluster is required"
        )
    if body.text("usage") == "worker" and not body.text("worker_type"):
        raise errors.plain(
            "failed to validate save request, err: "
            "when the cluster usage is 'worker', the 'WorkerType' field is required"
        )


def _primary_domain(body: Message) -> str:
    if body.text("primary_domain"):
        return body.text("primary_domain")
    host = urlsplit(body.text("api_server")).hostname or ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host
    return f"{host}.nip.io"


def _reserved_namespaces(body: Message) -> dict[str, list[str]] | None:
    if not body.is_set("reserved_namespaces_allowed_products"):
        return None
    reserved: dict[str, list[str]] = {}
    for namespace, products in body.list_map("reserved_namespaces_allowed_products").items():
        if not all(isinstance(product, str) for product in products):
            raise components.ComponentError("the value of the reserved namespace must be a string")
        reserved[namespace] = [str(product) for product in products]
    return reserved


def _allowed_resources(body: Message) -> dict[str, list[dict[str, str]]] | None:
    if not body.is_set("product_allowed_cluster_resources"):
        return None
    allowed: dict[str, list[dict[str, str]]] = {}
    for product, resources in body.list_map("product_allowed_cluster_resources").items():
        allowed[product] = [_cluster_resource(product, resource) for resource in resources]
    return allowed


def _cluster_resource(product: str, resource: JsonValue) -> dict[str, str]:
    if not isinstance(resource, dict):
        raise components.ComponentError(
            f"the cluster information of {product} must be an struct 'ClusterResourceInfo' type"
        )
    kind, group = resource.get("kind"), resource.get("group")
    if not kind or not group:
        raise components.ComponentError(
            f"failed to get cluster resource information of {product}, "
            "the group and kind of the cluster resource cannot be empty"
        )
    return {"kind": str(kind), "group": str(group)}


async def _cluster_resource_of(name: str, body: Message) -> dict[str, Any]:
    """``getCluster``: the Cluster CR with defaults filled in (``failed to construct cluster`` on error)."""
    shape = components.ClusterShape(
        name, body.text("api_server"), body.text("usage"), body.text("cluster_type"), body.text("worker_type")
    )
    try:
        listed = await components.components_list(body, shape)
        reserved = _reserved_namespaces(body)
        allowed = _allowed_resources(body)
    except components.ComponentError as failure:
        raise errors.plain(f"failed to construct cluster, err: {failure}") from None
    return {
        "apiVersion": API_VERSION,
        "kind": "Cluster",
        "metadata": {"name": name, "namespace": TENANT_NAMESPACE},
        "spec": {
            "apiServer": body.text("api_server"),
            "clusterType": body.text("cluster_type"),
            "clusterKind": body.text("cluster_kind"),
            "usage": body.text("usage"),
            "hostCluster": body.text("host_cluster"),
            "primaryDomain": _primary_domain(body),
            "workerType": body.text("worker_type"),
            "componentsList": listed,
            "reservedNamespacesAllowedProducts": reserved,
            "productAllowedClusterResources": allowed,
        },
    }


def _validate_cluster(cluster: dict[str, Any]) -> None:
    """``Cluster.ValidateCluster`` (static check, then components), wrapped like the biz layer does."""
    spec, name = cluster["spec"], cluster["metadata"]["name"]
    problem = ""
    if spec["usage"] == "host" and spec["clusterType"] != "physical":
        problem = "host cluster can not be a virtual cluster"
    elif spec["usage"] == "host" and spec["workerType"]:
        problem = "host cluster's work type should be empty"
    elif spec["clusterType"] == "physical" and spec["hostCluster"]:
        problem = "host cluster can not belong to another host"
    elif spec["clusterType"] == "virtual" and not spec["hostCluster"]:
        problem = "virtual cluster must have a host"
    else:
        in_use = components.namespaces(spec)
        stray = [ns for ns in spec.get("reservedNamespacesAllowedProducts") or {} if ns not in in_use]
        problem = f"reserved namespace {stray[0]} is not in component list" if stray else ""
    if not problem:
        try:
            components.validate(name, spec)
        except components.ComponentError as failure:
            problem = str(failure)
    if problem:
        raise errors.plain(f"failed to validate cluster, err: {problem}")


def _kubeconfig_text(body: Message) -> str:
    """``convertKubeconfig``: a value that looks like base64 is decoded first."""
    raw = body.text("kubeconfig")
    alphabet = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
    if len(raw) % 4 == 0 and all(char in alphabet for char in raw):
        try:
            return base64.b64decode(raw).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise errors.plain(
                "failed to parse kubeconfig, err: failed to decode kubeconfig: illegal base64 data"
            ) from None
    return raw


def _vcluster_port(cluster: dict[str, Any], body: Message) -> str:
    """``getVcluster``: a virtual cluster needs a port, from the request or the API server URL (contract
    §2.6.1 item 12); empty for a physical cluster."""
    if cluster["spec"]["clusterType"] == "physical":
        return ""
    vcluster = body.child("vcluster")
    if vcluster is not None and vcluster.text("https_node_port"):
        return vcluster.text("https_node_port")
    parts = urlsplit(cluster["spec"]["apiServer"])
    if parts.hostname and parts.port is None:
        raise errors.plain(f"address {parts.netloc}: missing port in address")
    return str(parts.port or "")


def _vcluster_dir(host: str, name: str) -> str:
    """Where a virtual cluster's files go in the tenant repository (contract §3.1)."""
    return f"host-clusters/{host}/vclusters/{name}"


def _vcluster_service(name: str, node_port: str) -> str:
    """cluster-templates v0.4.0 ``host-clusters/_HOST_CLUSTER_/vclusters/_VCLUSTER_/vcluster-initial/
    svc.yaml``: the vcluster's API (its syncer's 8443) at ``https_node_port`` of every host node. The other
    files of the directory (the vcluster chart's Application, the namespace, the CA Secret) are not
    rendered; the host side of the stack acts on this one (``nautes_refstack/vclusters.py``)."""
    port = int(node_port) if node_port.isdigit() else node_port
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": f"svc-{name}", "namespace": name},
        "spec": {
            "ports": [
                {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 8443, "nodePort": port}
            ],
            "selector": {"app": "vcluster"},
            "sessionAffinity": "None",
            "type": "NodePort",
        },
    }
    return str(yaml.safe_dump(service, sort_keys=False))


# A clone of the cluster-templates repository from GitHub plus rendering its templates **(inferred: a
# shallow-less clone of a small repository over the internet and a template pass take seconds)**.
TEMPLATE_CLONE_SECONDS = 5.0


async def save(scope: RequestScope, request: Message) -> dict[str, Any]:
    name = request.text("cluster_name")
    body = request.child("body") or Message(CLUSTER_BODY)
    _service_checks(body)
    cluster = await _cluster_resource_of(name, body)
    node_port = _vcluster_port(cluster, body)
    kubeconfig = _kubeconfig_text(body)
    _validate_cluster(cluster)
    if cluster["spec"]["clusterType"] == "physical":
        try:
            normalised = normalise_kubeconfig(kubeconfig, cluster["spec"]["apiServer"])
            await scope.vault.save_kubeconfig(name, normalised)
        except errors.NautesError as failure:
            raise errors.plain(f"failed to save kubeconfig to secret store, err: {failure.message}") from None
    await _caller_for_template_clone(scope)
    async with await _tenant_checkout(scope, wrap="failed to get gitlab certificate, err: ") as copy:
        existing = [path.stem for path in _cluster_files(copy) if path.name != "kustomization.yaml"]
        if cluster["spec"]["clusterType"] == "virtual" and cluster["spec"]["hostCluster"] not in existing:
            raise errors.plain(
                f"failed to get host cluster, err: cluster {cluster['spec']['hostCluster']} is not found"
            )
        copy.write(f"{CLUSTERS_DIR}/{name}.yaml", goyaml.dump(canonical(CLUSTER, cluster)))
        if cluster["spec"]["clusterType"] == "virtual":
            service = f"{_vcluster_dir(cluster['spec']['hostCluster'], name)}/vcluster-initial/svc.yaml"
            copy.write(service, _vcluster_service(name, node_port))
        _write_clusters_kustomization(copy, [*existing, name] if name not in existing else existing)
        await _push(copy)
    return {"message": f"Successfully saved {name} cluster"}


async def _caller_for_template_clone(scope: RequestScope) -> None:
    """The cluster-template clone starts with ``GET /user``: its failure is reported, the clone not made.

    The real server then clones ``DefaultClusterTemplateURL`` (https://github.com/nautes-labs/
    cluster-templates.git, biz/cluster.go ``SaveCluster`` -> ``CloneRepository``) over the internet and
    renders it into the tenant repository: :data:`TEMPLATE_CLONE_SECONDS` of the save's time."""
    try:
        await scope.gitlab.current_user()
    except (GitLabCallError, errors.NautesError) as failure:
        raise errors.plain(
            f"failed to clone repository, err: failed to get current user, err: {failure}"
        ) from None
    await scope.pace.wait(TEMPLATE_CLONE_SECONDS)


def _write_clusters_kustomization(copy: WorkingCopy, names_in_order: list[str]) -> None:
    """cluster-templates' ``nautes/overlays/production/clusters/kustomization.yaml`` template."""
    lines = ["apiVersion: kustomize.config.k8s.io/v1beta1", "kind: Kustomization", "resources:"]
    lines += [f"- {cluster}.yaml" for cluster in names_in_order]
    copy.write(f"{CLUSTERS_DIR}/kustomization.yaml", "\n".join(lines) + "\n")


async def _push(copy: WorkingCopy) -> None:
    try:
        await copy.push()
    except errors.NautesError as failure:
        raise errors.plain(f"failed to save git config to git repo, err: {failure.message}") from None


async def delete(scope: RequestScope, request: Message) -> dict[str, Any]:
    """``DeleteCluster``: the CR file goes, the kubeconfig stays in Vault (as in the real server)."""
    name = request.text("cluster_name")
    await _caller_for_template_clone(scope)
    async with await _tenant_checkout(scope) as copy:
        cluster = _read_cluster(copy, name)
        spec = cluster.get("spec") or {}
        others = [
            path.stem
            for path in _cluster_files(copy)
            if path.name != "kustomization.yaml" and path.stem != name
        ]
        if spec.get("usage") == "host":
            for other in others:
                if (_read_cluster(copy, other).get("spec") or {}).get("hostCluster") == name:
                    raise errors.plain(
                        f"failed to remove cluster {name}, this cluster is referenced by {other}"
                    )
        os.remove(copy.path(f"{CLUSTERS_DIR}/{name}.yaml"))
        if spec.get("clusterType") == "virtual":  # contract §3.1: the delete removes the vcluster directory
            host = str(spec.get("hostCluster") or "")
            shutil.rmtree(copy.path(_vcluster_dir(host, name)), ignore_errors=True)
        _write_clusters_kustomization(copy, others)
        await _push(copy)
    return {"message": f"Successfully deleted {name} cluster"}
