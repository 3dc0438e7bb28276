"""Environment: ``envs/<env>.yaml``, bound to a registered cluster (service/environment.go, biz/...)."""

from __future__ import annotations

from typing import Any

from nautes_refstack.nautes import errors, names, product_store
from nautes_refstack.nautes.crd_types import API_VERSION
from nautes_refstack.nautes.nodestree import Node, ResourceTree
from nautes_refstack.nautes.protojson import Message
from nautes_refstack.nautes.scope import RequestScope
from nautes_refstack.nautes.selector import FieldRule, matches

KIND = "Environment"
RULES = {"cluster": FieldRule("Spec.Cluster", "in"), "env_type": FieldRule("Spec.EnvType", "in")}


async def _product_name(scope: RequestScope, node: Node) -> str:
    """``EnvironmentUsecase.ConvertProductToGroupName`` (its error text prints the empty value, sic)."""
    product = str(node.spec.get("product", ""))
    if not product:
        raise errors.plain(f"the product field value of environment {product} should not be empty")
    return await names.product_id_to_name(scope, product)


def _reply(node: Node, product: str) -> dict[str, Any]:
    return {
        "product": product,
        "name": node.resource_name,
        "cluster": node.spec.get("cluster", ""),
        "env_type": node.spec.get("envType", ""),
    }


async def get(scope: RequestScope, request: Message) -> dict[str, Any]:
    node = await product_store.get(scope, KIND, request.text("product_name"), request.text("environmentName"))
    return _reply(node, await _product_name(scope, node))


async def list_items(scope: RequestScope, request: Message) -> dict[str, Any]:
    tree = await product_store.list_tree(scope, request.text("product_name"))
    items = []
    for node in tree.files(KIND):
        product = await _product_name(scope, node)
        spec = {
            "Product": product,
            "Cluster": node.spec.get("cluster", ""),
            "EnvType": node.spec.get("envType", ""),
        }
        if matches(request.text("field_selector"), {"Name": node.resource_name, "Spec": spec}, RULES):
            items.append(_reply(node, product))
    return {"items": items}


async def save(scope: RequestScope, request: Message) -> dict[str, Any]:
    body = request.child("body")
    if body is None:
        raise errors.panic()  # req.Body.Cluster on a nil body
    product, name = request.text("product_name"), request.text("environmentName")
    group = await scope.gitlab.group(product)
    spec = {
        "product": f"product-{group['id']}",
        "cluster": body.text("cluster"),
        "envType": body.text("envType"),
    }

    async def build(existing: Node | None, root: str) -> Node:
        if existing is not None:
            existing.content.setdefault("metadata", {})["name"] = name
            existing.content["spec"] = spec
            return existing
        content = {"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": name}, "spec": spec}
        return Node(name, f"{root}/envs/{name}.yaml", False, 3, KIND, content)

    await product_store.save(scope, KIND, product, name, request.flag("insecureSkipCheck"), build)
    return {"message": f"Successfully saved {name} configuration"}


async def delete(scope: RequestScope, request: Message) -> dict[str, Any]:
    product, name = request.text("product_name"), request.text("environmentName")

    def deletable_name(tree: ResourceTree) -> str:
        """``Environment.IsDeletable``: refused while a runtime deploys to it; a missing one panics."""
        if tree.find(KIND, name) is None:
            raise errors.panic()  # node.Content on a nil node
        dependencies = [
            f"deploymentRuntime/{runtime.resource_name}"
            for runtime in tree.files("DeploymentRuntime")
            if (runtime.spec.get("destination") or {}).get("environment") == name
        ] + [
            f"pipelineRuntime/{runtime.resource_name}"
            for runtime in tree.files("ProjectPipelineRuntime")
            if (runtime.spec.get("destination") or {}).get("environment") == name
        ]
        if dependencies:
            raise errors.plain(
                f"environment referenced by [{'|'.join(dependencies)}], not allowed to be deleted"
            )
        return name

    await product_store.delete(scope, KIND, product, request.flag("insecureSkipCheck"), deletable_name)
    return {"message": f"Successfully deleted {name} configuration"}
