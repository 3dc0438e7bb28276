"""Project: ``projects/<project>/<project>.yaml`` in ``default.project`` (service/ and biz/project.go)."""

from __future__ import annotations

from typing import Any

from nautes_refstack.nautes import errors, product_store
from nautes_refstack.nautes.crd_types import API_VERSION
from nautes_refstack.nautes.nodestree import Node
from nautes_refstack.nautes.protojson import Message
from nautes_refstack.nautes.scope import RequestScope
from nautes_refstack.nautes.selector import FieldRule, matches

KIND = "Project"
RULES = {"project_name": FieldRule("Name", "in")}


def _reply(node: Node, product: str) -> dict[str, Any]:
    """Replies name the product as the request did (the service copies the URL's product name)."""
    return {"product": product, "name": node.resource_name, "language": node.spec.get("language", "")}


async def get(scope: RequestScope, request: Message) -> dict[str, Any]:
    product = request.text("product_name")
    return _reply(await product_store.get(scope, KIND, product, request.text("project_name")), product)


async def list_items(scope: RequestScope, request: Message) -> dict[str, Any]:
    product = request.text("product_name")
    tree = await product_store.list_tree(scope, product)
    items = []
    for node in tree.files(KIND):
        view = {
            "Name": node.resource_name,
            "Spec": {"Product": product, "Language": node.spec.get("language", "")},
        }
        if matches(request.text("field_selector"), view, RULES):
            items.append(_reply(node, product))
    return {"items": items}


async def save(scope: RequestScope, request: Message) -> dict[str, Any]:
    body = request.child("body")
    if body is None:
        raise errors.panic()  # req.Body.Language on a nil body
    product, name = request.text("product_name"), request.text("project_name")
    language = body.text("language")
    group = await scope.gitlab.group(product)
    product_reference = f"product-{group['id']}"

    async def build(existing: Node | None, root: str) -> Node:
        if existing is not None:
            if existing.spec.get("language") != language:
                existing.spec["language"] = language
            return existing
        content = {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "metadata": {"name": name},
            "spec": {"product": product_reference, "language": language},
        }
        return Node(name, f"{root}/projects/{name}/{name}.yaml", False, 4, KIND, content)

    await product_store.save(scope, KIND, product, name, request.flag("insecure_skip_check"), build)
    return {"message": f"Successfully saved {name} configuration"}


async def delete(scope: RequestScope, request: Message) -> dict[str, Any]:
    product, name = request.text("product_name"), request.text("project_name")
    await product_store.delete(scope, KIND, product, request.flag("insecure_skip_check"), lambda tree: name)
    return {"message": f"Successfully deleted {name} configuration"}
