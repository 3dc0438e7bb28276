"""DeploymentRuntime: ``runtimes/<runtime>.yaml`` (service/deploymentruntime.go, biz/deploymentruntime.go)."""

from __future__ import annotations

from typing import Any

from nautes_refstack.nautes import errors, names, product_store
from nautes_refstack.nautes.crd_types import API_VERSION
from nautes_refstack.nautes.nodestree import Node
from nautes_refstack.nautes.protojson import Message
from nautes_refstack.nautes.scope import RequestScope
from nautes_refstack.nautes.selector import FieldRule, matches

KIND = "DeploymentRuntime"
RULES = {
    "projects_ref.in": FieldRule("Spec.ProjectsRef.In", "in"),
    "manifest_source.code_repo": FieldRule("Spec.ManifestSource.CodeRepo", "in"),
    "destination": FieldRule("Spec.Destination", "in"),
}


async def save(scope: RequestScope, request: Message) -> dict[str, Any]:
    body = request.child("body")
    destination = body.child("destination") if body is not None else None
    manifest = body.child("manifestSource") if body is not None else None
    if body is None or destination is None or manifest is None:
        raise errors.panic()  # req.Body.Destination.Environment on a nil message
    product, name = request.text("productName"), request.text("deploymentruntimeName")
    repository = manifest.text("CodeRepo")
    group = await scope.gitlab.group(product)
    try:
        project = await scope.gitlab.project(f"{group['path']}/{repository}")
    except errors.NautesError as failure:
        raise errors.plain(f"failed to get repository {repository}, err: {failure.kratos_text()}") from None
    spec = {
        "product": f"product-{group['id']}",
        "projectsRef": body.texts("projectsRef") or None,
        "destination": {
            "environment": destination.text("environment"),
            "namespaces": destination.texts("namespaces") or None,
        },
        "manifestSource": {
            "codeRepo": f"{names.REPO_PREFIX}{project['id']}",
            "targetRevision": manifest.text("TargetRevision"),
            "path": manifest.text("Path"),
        },
        "account": body.text("account"),
    }

    async def build(existing: Node | None, root: str) -> Node:
        if existing is not None:
            existing.content["spec"] = spec
            return existing
        content = {"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": name}, "spec": spec}
        return Node(name, f"{root}/runtimes/{name}.yaml", False, 3, KIND, content)

    await product_store.save(scope, KIND, product, name, request.flag("insecureSkipCheck"), build)
    return {"message": f"Successfully saved {name} configuration"}


async def delete(scope: RequestScope, request: Message) -> dict[str, Any]:
    product, name = request.text("productName"), request.text("deploymentruntimeName")
    await product_store.delete(scope, KIND, product, request.flag("insecureSkipCheck"), lambda _: name)
    return {"message": f"Successfully deleted {name} configuration"}


async def _named(scope: RequestScope, node: Node) -> dict[str, Any]:
    """``convertProductAndRepoName``: repository name first, then the product's group name."""
    spec = node.spec
    manifest = spec.get("manifestSource") or {}
    if not manifest.get("codeRepo"):
        raise errors.plain(
            f"the codeRepo field value of deploymentruntime {node.resource_name} should not be empty"
        )
    repository = await names.repository_id_to_name(scope, str(manifest["codeRepo"]))
    if not spec.get("product"):
        raise errors.plain(
            f"the product field value of deploymentruntime {node.resource_name} should not be empty"
        )
    destination = spec.get("destination") or {}
    return {
        "product": await names.product_id_to_name(scope, str(spec["product"])),
        "name": node.resource_name,
        "projects_ref": list(spec.get("projectsRef") or []),
        "manifest_source": {
            "code_repo": repository,
            "target_revision": manifest.get("targetRevision", ""),
            "path": manifest.get("path", ""),
        },
        "destination": {
            "environment": destination.get("environment", ""),
            "namespaces": list(destination.get("namespaces") or []),
        },
        "account": spec.get("account", ""),
    }


async def get(scope: RequestScope, request: Message) -> dict[str, Any]:
    node = await product_store.get(
        scope, KIND, request.text("productName"), request.text("deploymentruntimeName")
    )
    return await _named(scope, node)


async def list_items(scope: RequestScope, request: Message) -> dict[str, Any]:
    tree = await product_store.list_tree(scope, request.text("productName"))
    items = []
    for node in tree.files(KIND):
        reply = await _named(scope, node)
        view = {
            "Name": node.resource_name,
            "Spec": {
                "ProjectsRef": reply["projects_ref"],
                "ManifestSource": {"CodeRepo": reply["manifest_source"]["code_repo"]},
                "Destination": dict(reply["destination"]),
            },
        }
        if matches(request.text("field_selector"), view, RULES):
            items.append(reply)
    return {"items": items}
