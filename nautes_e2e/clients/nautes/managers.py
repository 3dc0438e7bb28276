"""One manager per Nautes kind, declared like python-gitlab's: path template, path variables, wire struct.

A manager turns a spec into exactly the request ``nautes`` v0.4.2 sends for it (contract §1.2-§1.4): the
URL is the template with the path variables substituted raw (no escaping), the body is the spec decoded
into the CLI's Go struct and JSON-encoded like Go. ``get``/``list``/``delete`` by name build the spec the
CLI builds for ``nautes get``/``nautes delete``: the zero struct with only ``name`` and the product set.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from nautes_e2e.clients.nautes import specs
from nautes_e2e.clients.nautes.wire import GoStruct, go_json

if TYPE_CHECKING:
    from nautes_e2e.clients.nautes.client import ApplyResult, NautesClient
    from nautes_e2e.clients.nautes.documents import Document


class ResourceManager:
    """Requests for one kind; a product-scoped kind is bound to a product: ``client.environments("x")``."""

    kind: ClassVar[str]
    path_template: ClassVar[str]
    path_vars: ClassVar[tuple[str, ...]]  # yaml keys of the spec, in template order
    wire: ClassVar[GoStruct]
    product_key: ClassVar[str | None] = "product"  # the spec key `-p/--product` fills for get/delete

    def __init__(self, client: NautesClient, product: str | None = None) -> None:
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
        return self.client.send("POST", self, full, f"{self.kind} {full.get('name', '')}")

    def delete(self, name: str) -> ApplyResult:
        """DELETE by name, as ``nautes delete <kind> <name> -y`` does."""
        return self.client.send("DELETE", self, self.spec_for(name), f"{self.kind} {name}")

    def get(self, name: str) -> dict[str, Any]:
        """GET one resource; the reply as the API server sends it (snake_case keys)."""
        return self.client.fetch(self, self.spec_for(name))

    def list(self) -> list[dict[str, Any]]:
        """GET the collection (``/…/<kind>s/`` with the CLI's trailing slash); the ``items`` of the reply."""
        items = self.client.fetch(self, self.spec_for("")).get("items")
        return list(items) if isinstance(items, list) else []


class ClusterManager(ResourceManager):
    kind = "Cluster"
    path_template = "/api/v1/clusters/%s"
    path_vars = ("name",)
    wire = specs.CLUSTER
    product_key = None


class ProductManager(ResourceManager):
    kind = "Product"
    path_template = "/api/v1/products/%s"
    path_vars = ("name",)
    wire = specs.PRODUCT
    product_key = None


class EnvironmentManager(ResourceManager):
    kind = "Environment"
    path_template = "/api/v1/products/%s/environments/%s"
    path_vars = ("product", "name")
    wire = specs.ENVIRONMENT


class ProjectManager(ResourceManager):
    kind = "Project"
    path_template = "/api/v1/products/%s/projects/%s"
    path_vars = ("product", "name")
    wire = specs.PROJECT


class CodeRepoManager(ResourceManager):
    kind = "CodeRepo"
    path_template = "/api/v1/products/%s/coderepos/%s"
    path_vars = ("product", "name")
    wire = specs.CODE_REPO


class CodeRepoBindingManager(ResourceManager):
    """The one kind whose URL product comes from ``productName``, not ``product`` (contract §1.3)."""

    kind = "CodeRepoBinding"
    path_template = "/api/v1/products/%s/coderepobindings/%s"
    path_vars = ("productName", "name")
    wire = specs.CODE_REPO_BINDING
    product_key = "productName"


class ProjectPipelineRuntimeManager(ResourceManager):
    kind = "ProjectPipelineRuntime"
    path_template = "/api/v1/products/%s/projectpipelineruntimes/%s"
    path_vars = ("product", "name")
    wire = specs.PROJECT_PIPELINE_RUNTIME


class DeploymentRuntimeManager(ResourceManager):
    kind = "DeploymentRuntime"
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

# `nautes get <alias>` (CLI `commands:` tags plus the lower-case kind and kind + "s").
_SHORT_ALIASES = {
    "Cluster": ("cls",),
    "Product": ("prod", "prods"),
    "Environment": ("env", "envs"),
    "Project": ("pro", "proj", "pros"),
    "CodeRepo": ("cr", "crs"),
    "CodeRepoBinding": ("crb", "crbs"),
    "ProjectPipelineRuntime": ("ppr", "pprs"),
    "DeploymentRuntime": ("dr", "drs"),
}
KIND_ALIASES: dict[str, str] = {
    alias: kind
    for kind, shorts in _SHORT_ALIASES.items()
    for alias in (kind, kind.lower(), kind.lower() + "s", *shorts)
}


def document_request(document: Document) -> tuple[str, bytes]:
    """The path and body ``nautes apply`` sends for a document (DELETE sends the same path, no body)."""
    return manager_class(document.kind).request(document.spec, f"{document.source} spec")


def manager_class(kind: str) -> type[ResourceManager]:
    """The manager for a kind or any alias the CLI accepts for it."""
    try:
        return MANAGERS[KIND_ALIASES[kind]]
    except KeyError:
        raise ValueError(f"unknown Nautes kind {kind!r}; known: {', '.join(MANAGERS)}") from None
