"""The components of a runtime cluster: which are required, their defaults, and their validation.

Transcribed from NAUTES ``config/apps/base/component_category_definition.yaml`` and
``third_part_components.yaml`` plus the code that applies them: ``service/cluster.go``
(``setDefaultValuesIfEmpty``, ``setDefaultComponent``), ``pkg/clusters/{pipeline,deployment}.go`` (the
``tekton.<cluster>.<ip>.nip.io`` / ``argocd.<cluster>.<ip>.nip.io`` host defaults, where ``ip`` is the
first DNS answer for the API server's host) and ``cluster_webhook.go`` (``checkClusterComponents``).
"""

from __future__ import annotations

import asyncio
import re
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from nautes_refstack.nautes.protojson import Message

_HOST_PATTERN = (
    r"^(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9\-]*[a-zA-Z0-9])?)\.)*(?:[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)$"
)
_PORT_PATTERN = r"^[0-9]+$"


@dataclass(frozen=True)
class Property:
    name: str
    pattern: str
    required: bool = True
    default: str = ""


@dataclass(frozen=True)
class ThirdPartComponent:
    name: str
    namespace: str
    category: str
    properties: tuple[Property, ...] = ()


CATALOG = (
    ThirdPartComponent("tekton", "tekton-pipelines", "pipeline", (Property("host", _HOST_PATTERN),)),
    ThirdPartComponent("argocd", "argocd", "deployment", (Property("host", _HOST_PATTERN),)),
    ThirdPartComponent("argo-events", "argo-events", "eventListener"),
    ThirdPartComponent("argo-rollouts", "argo-rollouts", "progressiveDelivery"),
    ThirdPartComponent("hnc", "hnc-system", "multiTenant"),
    ThirdPartComponent("cert-manager", "cert-manager", "certManagement"),
    ThirdPartComponent("vault", "vault", "secretManagement"),
    ThirdPartComponent("external-secrets", "external-secrets", "secretSync"),
    ThirdPartComponent("oauth2-proxy", "oauth2-proxy", "oauthProxy"),
    ThirdPartComponent(
        "traefik",
        "traefik",
        "gateway",
        (
            Property("httpNodePort", _PORT_PATTERN, default="30080"),
            Property("httpsNodePort", _PORT_PATTERN, default="30443"),
        ),
    ),
)
# Components whose Go type implements GetDefaultValue (pkg/clusters NewComponentsList).
_HOST_DEFAULTS = {("pipeline", "tekton"): "tekton", ("deployment", "argocd"): "argocd"}

CATEGORY_DEFINITIONS: dict[str, tuple[str, ...]] = {
    "host|physical|": ("oauthProxy", "gateway", "secretManagement"),
    "worker|physical|deployment": (
        "multiTenant",
        "secretSync",
        "gateway",
        "deployment",
        "progressiveDelivery",
        "secretManagement",
    ),
    "worker|virtual|deployment": (
        "multiTenant",
        "secretSync",
        "deployment",
        "progressiveDelivery",
        "secretManagement",
    ),
    "worker|physical|pipeline": (
        "multiTenant",
        "secretSync",
        "gateway",
        "deployment",
        "eventListener",
        "oauthProxy",
        "secretManagement",
        "pipeline",
    ),
    "worker|virtual|pipeline": (
        "multiTenant",
        "secretSync",
        "gateway",
        "deployment",
        "eventListener",
        "pipeline",
        "secretManagement",
    ),
}
# The API's ComponentsList fields, in proto order, with the component category each one holds.
API_CATEGORIES = (
    ("multi_tenant", "multiTenant"),
    ("secret_sync", "secretSync"),
    ("gateway", "gateway"),
    ("deployment", "deployment"),
    ("progressive_delivery", "progressiveDelivery"),
    ("pipeline", "pipeline"),
    ("event_listener", "eventListener"),
)


class ComponentError(ValueError):
    """A component problem; the caller adds the real server's prefix."""


def definition(cluster_name: str, usage: str, cluster_type: str, worker_type: str) -> tuple[str, ...]:
    """``GetClusterComponentsDefinition``: the categories a cluster of this shape must have."""
    key = f"{usage}|{cluster_type}|{worker_type}"
    if key not in CATEGORY_DEFINITIONS:
        raise ComponentError(
            f"failed to match component type [{key}], please check if the cluster {cluster_name} is correct"
        )
    return CATEGORY_DEFINITIONS[key]


def by_name(name: str) -> ThirdPartComponent:
    for component in CATALOG:
        if component.name == name:
            return component
    raise ComponentError(f"failed to get component {name} from third-part components list")


def default_for(category: str) -> ThirdPartComponent:
    for component in CATALOG:
        if component.category == category:
            return component
    raise ComponentError(f"failed to get {category} default component from third-part components list")


@dataclass(frozen=True)
class ClusterShape:
    name: str
    api_server: str
    usage: str
    cluster_type: str
    worker_type: str


async def default_additions(
    component: ThirdPartComponent, category: str, cluster: ClusterShape
) -> dict[str, str]:
    """``setDefaultValueForAdditions``: property defaults, else the computed ``<c>.<cluster>.<ip>.nip.io``."""
    additions: dict[str, str] = {}
    for prop in component.properties:
        if prop.default:
            additions[prop.name] = prop.default
            continue
        prefix = _HOST_DEFAULTS.get((category, component.name))
        if prefix is not None:
            ip = await first_ip(cluster.api_server)
            additions[prop.name] = f"{prefix}.{cluster.name}.{ip}.nip.io" if ip else ""
    return additions


async def first_ip(url: str) -> str:
    """``utilstring.ParseUrl``: the first address the API server's host resolves to ("" on failure)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
    try:
        answers = await asyncio.get_running_loop().getaddrinfo(parts.hostname, None, type=socket.SOCK_STREAM)
    except OSError:
        return ""
    return str(answers[0][4][0]) if answers else ""


async def components_list(body: Message, cluster: ClusterShape) -> dict[str, dict[str, Any] | None]:
    """The Cluster CR's ``componentsList``: requested components completed, missing ones defaulted.

    Raises :class:`ComponentError` with the text the real server wraps in ``failed to construct cluster``.
    """
    required = definition(cluster.name, cluster.usage, cluster.cluster_type, cluster.worker_type)
    requested = body.child("components_list")
    result: dict[str, dict[str, Any] | None] = {}
    for api_field, category in API_CATEGORIES:
        given = requested.child(api_field) if requested is not None else None
        if category not in required:
            result[category] = None
        elif given is None:
            result[category] = await _component(default_for(category), category, cluster)
        else:
            result[category] = await _completed(given, category, cluster)
    result["secretManagement"] = await _component(by_name("vault"), "secretManagement", cluster)
    if cluster.cluster_type == "physical":
        result["oauthProxy"] = await _component(by_name("oauth2-proxy"), "oauthProxy", cluster)
    return result


async def _component(component: ThirdPartComponent, category: str, cluster: ClusterShape) -> dict[str, Any]:
    additions = await default_additions(component, category, cluster)
    return {"name": component.name, "namespace": component.namespace, "additions": additions}


async def _completed(given: Message, category: str, cluster: ClusterShape) -> dict[str, Any]:
    """``fillDefaultFields``: name/namespace from the default when unnamed, missing additions added."""
    name, namespace = given.text("name"), given.text("namespace")
    additions = dict(given.text_map("additions"))
    if not name:
        try:
            component = default_for(category)
        except ComponentError:
            raise ComponentError(
                f"failed to get default component for the component type '{category}'"
            ) from None
        name, namespace = component.name, component.namespace
    else:
        try:
            component = by_name(name)
        except ComponentError:
            raise ComponentError(
                f"failed to get {name} component for the component type '{category}'"
            ) from None
        namespace = namespace or component.namespace
    for key, value in (await default_additions(component, category, cluster)).items():
        additions.setdefault(key, value)
    return {"name": name, "namespace": namespace, "additions": additions}


def validate(cluster_name: str, spec: dict[str, Any]) -> None:
    """``checkClusterComponents``: every required category present, every property valid."""
    categories = definition(cluster_name, spec["usage"], spec["clusterType"], spec.get("workerType", ""))
    listed: dict[str, Any] = spec.get("componentsList") or {}
    missing = [category for category in categories if listed.get(category) is None]
    if missing:
        raise ComponentError(
            f"cluster {cluster_name} is missing the following components [{' | '.join(missing)}]"
        )
    problems: list[str] = []
    for category in categories:
        component = listed[category]
        known = by_name(str(component.get("name", "")))
        additions = component.get("additions") or {}
        errors_here = []
        for prop in known.properties:
            if prop.required and prop.name not in additions:
                errors_here.append(
                    f"the '{prop.name}' of component {component.get('name')} is a required value"
                )
            elif prop.name in additions and not re.search(prop.pattern, str(additions[prop.name])):
                errors_here.append(
                    f"the value {additions[prop.name]} of the component matches incorrectly, "
                    f"meeting the following rule: {prop.pattern}"
                )
        if errors_here:
            problems.append(" | ".join(errors_here))
    if problems:
        raise ComponentError(f"validation of component list failed with errors: {', '.join(problems)}")


def namespaces(spec: dict[str, Any]) -> set[str]:
    """``ComponentsList.GetNamespaces``: the namespaces every listed component lives in."""
    listed: dict[str, Any] = spec.get("componentsList") or {}
    return {str(item.get("namespace", "")) for item in listed.values() if isinstance(item, dict)}
