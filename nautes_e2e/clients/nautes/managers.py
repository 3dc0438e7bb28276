"""One manager per Nautes kind, declared like python-gitlab's: path template, path variables, wire struct.

A manager turns a spec into exactly the request ``nautes`` v0.4.2 sends for it (contract §1.2-§1.4): the
URL is the template with the path variables substituted raw (no escaping), the body is the spec decoded
into the CLI's Go struct and JSON-encoded like Go. ``get``/``list``/``delete`` by name build the spec the
CLI builds for ``nautes get``/``nautes delete``: the zero struct with only ``name`` and the product set.

Managers reach the server through one primitive of the client, ``http_request`` (python-gitlab's
``Gitlab.http_request``), typed here as :class:`NautesHttp`: they know nothing else of the client, so
this module does not import it. The manager classes are also the one list of the kinds the CLI knows.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from nautes_e2e.clients.nautes import specs
from nautes_e2e.clients.nautes.errors import NautesApiError
from nautes_e2e.clients.nautes.results import ApplyResult
from nautes_e2e.clients.nautes.wire import GoStruct, go_json

if TYPE_CHECKING:
    import requests


class NautesHttp(Protocol):
    """The client as the managers see it: its one HTTP primitive."""

    def http_request(
        self, method: str, path: str, body: bytes | None, *, kind: str, name: str
    ) -> requests.Response:
        """The 200 response to ``method path``; raises NautesApiError (naming kind and name) otherwise."""
        ...


class ResourceManager:
    """Requests for one kind; a product-scoped kind is bound to a product: ``client.environments("x")``."""

    kind: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]]  # the CLI's `commands:` tags (`nautes get ppr`)
    path_template: ClassVar[str]
    path_vars: ClassVar[tuple[str, ...]]  # yaml keys of the spec, in template order
    wire: ClassVar[GoStruct]
    product_key: ClassVar[str | None] = "product"  # the spec key `-p/--product` fills for get/delete

    def __init__(self, client: NautesHttp, product: str | None = None) -> None:
        """``product`` is required for product-scoped kinds and refused for Cluster and Product."""
        if (self.product_key is None) != (product is None):
            scope = "takes no product" if self.product_key is None else "needs a product"
            raise ValueError(f"{self.kind} {scope}")
        self.client = client
        self.product = product

    @classmethod
    def request(cls, spec: Mapping[str, Any], where: str) -> tuple[str, bytes]:
        """The path and body the CLI sends for ``spec``; raises WireError where yaml.v3 would fail."""
        decoded = cls.wire.decode(dict(spec), where)
        values = tuple(str(decoded[cls.wire.json_key(var)]) for var in cls.path_vars)
        return cls.path_template % values, go_json(decoded)

    def spec_for(self, name: str) -> dict[str, Any]:
        """The spec ``nautes get|delete <kind> <name> [-p product]`` sends."""
        spec: dict[str, Any] = {"name": name}
        if self.product_key is not None:
            spec[self.product_key] = self.product
        return spec

    def save(self, spec: Mapping[str, Any]) -> ApplyResult:
        """POST the spec, as ``nautes apply`` does for one document (the bound product is filled in)."""
        full = dict(spec)
        if self.product_key is not None:
            full.setdefault(self.product_key, self.product)
            if full[self.product_key] != self.product:
                raise ValueError(
                    f"{self.kind} spec names product {full[self.product_key]!r}, not {self.product!r}"
                )
        return self._send("POST", full, f"{self.kind} {full.get('name', '')}")

    def delete(self, name: str) -> ApplyResult:
        """DELETE by name, as ``nautes delete <kind> <name> -y`` does."""
        return self._send("DELETE", self.spec_for(name), f"{self.kind} {name}")

    def get(self, name: str) -> dict[str, Any]:
        """GET one resource; the reply as the API server sends it (snake_case keys)."""
        return self._fetch(self.spec_for(name))

    def list(self) -> list[dict[str, Any]]:
        """GET the collection (``/…/<kind>s/`` with the CLI's trailing slash); the ``items`` of the reply."""
        items = self._fetch(self.spec_for("")).get("items")
        return list(items) if isinstance(items, list) else []

    def _send(self, method: str, spec: Mapping[str, Any], label: str) -> ApplyResult:
        path, body = self.request(spec, f"{label} spec")
        return send(self.client, method, self.kind, str(spec.get("name") or ""), path, body)

    def _fetch(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        """One GET with the CLI's body (it sends its nearly empty spec with a GET too); the JSON object."""
        path, body = self.request(spec, f"{self.kind} spec")
        name = str(spec.get("name") or "")
        response = self.client.http_request("GET", path, body, kind=self.kind, name=name)
        reply = _json_or_none(response)
        if not isinstance(reply, dict):
            raise NautesApiError(
                status=200,
                body=f"reply is not a JSON object: {response.text[:200]}",
                kind=self.kind,
                name=name,
                method="GET",
                url=response.url,
            )
        return reply


class ClusterManager(ResourceManager):
    kind = "Cluster"
    aliases = ("cls",)
    path_template = "/api/v1/clusters/%s"
    path_vars = ("name",)
    wire = specs.CLUSTER
    product_key = None


class ProductManager(ResourceManager):
    kind = "Product"
    aliases = ("prod", "prods")
    path_template = "/api/v1/products/%s"
    path_vars = ("name",)
    wire = specs.PRODUCT
    product_key = None


class EnvironmentManager(ResourceManager):
    kind = "Environment"
    aliases = ("env", "envs")
    path_template = "/api/v1/products/%s/environments/%s"
    path_vars = ("product", "name")
    wire = specs.ENVIRONMENT


class ProjectManager(ResourceManager):
    kind = "Project"
    aliases = ("pro", "proj", "pros")
    path_template = "/api/v1/products/%s/projects/%s"
    path_vars = ("product", "name")
    wire = specs.PROJECT


class CodeRepoManager(ResourceManager):
    kind = "CodeRepo"
    aliases = ("cr", "crs")
    path_template = "/api/v1/products/%s/coderepos/%s"
    path_vars = ("product", "name")
    wire = specs.CODE_REPO


class CodeRepoBindingManager(ResourceManager):
    """The one kind whose URL product comes from ``productName``, not ``product`` (contract §1.3)."""

    kind = "CodeRepoBinding"
    aliases = ("crb", "crbs")
    path_template = "/api/v1/products/%s/coderepobindings/%s"
    path_vars = ("productName", "name")
    wire = specs.CODE_REPO_BINDING
    product_key = "productName"


class ProjectPipelineRuntimeManager(ResourceManager):
    kind = "ProjectPipelineRuntime"
    aliases = ("ppr", "pprs")
    path_template = "/api/v1/products/%s/projectpipelineruntimes/%s"
    path_vars = ("product", "name")
    wire = specs.PROJECT_PIPELINE_RUNTIME


class DeploymentRuntimeManager(ResourceManager):
    kind = "DeploymentRuntime"
    aliases = ("dr", "drs")
    path_template = "/api/v1/products/%s/deploymentruntimes/%s"
    path_vars = ("product", "name")
    wire = specs.DEPLOYMENT_RUNTIME


# The CLI's applyOrder tags (contract §1.5); remove walks the kinds in reverse.
MANAGERS_IN_APPLY_ORDER: tuple[type[ResourceManager], ...] = (
    ClusterManager,
    ProductManager,
    EnvironmentManager,
    ProjectManager,
    CodeRepoManager,
    CodeRepoBindingManager,
    ProjectPipelineRuntimeManager,
    DeploymentRuntimeManager,
)
MANAGERS: dict[str, type[ResourceManager]] = {manager.kind: manager for manager in MANAGERS_IN_APPLY_ORDER}

# The kinds the CLI knows (its ArtifactRepo is commented out); `nautes apply` skips documents of others.
KINDS: tuple[str, ...] = tuple(MANAGERS)

# `nautes get <alias>`: the CLI's `commands:` tags plus the kind, its lower case and lower case + "s".
KIND_ALIASES: dict[str, str] = {
    alias: manager.kind
    for manager in MANAGERS_IN_APPLY_ORDER
    for alias in (manager.kind, manager.kind.lower(), manager.kind.lower() + "s", *manager.aliases)
}


def manager_class(kind: str) -> type[ResourceManager]:
    """The manager for a kind or any alias the CLI accepts for it."""
    try:
        return MANAGERS[KIND_ALIASES[kind]]
    except KeyError:
        raise ValueError(f"unknown Nautes kind {kind!r}; known: {', '.join(MANAGERS)}") from None


def send(client: NautesHttp, method: str, kind: str, name: str, path: str, body: bytes) -> ApplyResult:
    """One save (POST) or DELETE as ``nautes apply|remove|delete`` sends it: DELETE without the body."""
    started = time.monotonic()
    response = client.http_request(method, path, body if method != "DELETE" else None, kind=kind, name=name)
    duration = time.monotonic() - started
    reply = _json_or_none(response)
    message = str(reply.get("message", "")) if isinstance(reply, dict) else response.text
    return ApplyResult(kind=kind, name=name, method=method, path=path, message=message, duration_s=duration)


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
