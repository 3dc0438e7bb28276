"""CodeRepoBinding: ``code-repos/repo-<id>/<binding>.yaml``, granting projects a repository's deploy keys.

The request names the repository by its GitLab path; the CR stores ``repo-<id>`` and ``product-<id>``.
Every save or delete is followed by the deploy-key refresh of :mod:`deploykeys`
(service/coderepobinding.go, biz/coderepobinding.go).
"""

from __future__ import annotations

from typing import Any

from nautes_refstack.nautes import errors, names, product_store
from nautes_refstack.nautes.crd_types import API_VERSION
from nautes_refstack.nautes.deploykeys import refresh_authorization
from nautes_refstack.nautes.nodestree import Node
from nautes_refstack.nautes.protojson import Message
from nautes_refstack.nautes.scope import RequestScope
from nautes_refstack.nautes.selector import FieldRule, matches

KIND = "CodeRepoBinding"
RULES = {
    "coderepo": FieldRule("Spec.CodeRepo", "in"),
    "product": FieldRule("Spec.Product", "in"),
    "projects.in": FieldRule("Spec.Projects.In", "in"),
}


async def _named(scope: RequestScope, node: Node) -> dict[str, Any]:
    """``ConvertProductAndRepoName``: the repository's GitLab name and the group's name."""
    return {
        "product": await names.product_id_to_name(scope, str(node.spec.get("product", ""))),
        "name": node.resource_name,
        "projects": list(node.spec.get("projects") or []),
        "permissions": node.spec.get("permissions", ""),
        "coderepo": await names.repository_id_to_name(scope, str(node.spec.get("codeRepo", ""))),
    }


async def get(scope: RequestScope, request: Message) -> dict[str, Any]:
    node = await product_store.get(
        scope, KIND, request.text("product_name"), request.text("coderepo_binding_name")
    )
    return await _named(scope, node)


async def list_items(scope: RequestScope, request: Message) -> dict[str, Any]:
    tree = await product_store.list_tree(scope, request.text("product_name"))
    items = []
    for node in tree.files(KIND):
        reply = await _named(scope, node)
        spec = {
            "CodeRepo": reply["coderepo"],
            "Product": reply["product"],
            "Projects": reply["projects"],
            "Permissions": reply["permissions"],
        }
        if matches(request.text("field_selector"), {"Name": node.resource_name, "Spec": spec}, RULES):
            items.append(reply)
    return {"items": items}


async def save(scope: RequestScope, request: Message) -> dict[str, Any]:
    product, name = request.text("product_name"), request.text("coderepo_binding_name")
    product_reference = await names.product_name_to_id(scope, product)
    body = request.child("body")
    if body is None:
        raise errors.panic()  # req.Body.Coderepo on a nil body
    code_repo = await names.repository_path_to_id(scope, product, body.text("coderepo"))
    spec = {
        "codeRepo": code_repo,
        "product": product_reference,
        "projects": body.texts("projects"),
        "permissions": body.text("permissions"),
    }

    async def build(existing: Node | None, root: str) -> Node:
        if existing is not None:
            if existing.spec.get("codeRepo") != code_repo:
                raise errors.NOT_ALLOWED_MODIFY
            existing.content["spec"] = spec
            return existing
        content = {"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": name}, "spec": spec}
        return Node(name, f"{root}/code-repos/{code_repo}/{name}.yaml", False, 4, KIND, content)

    tree = await product_store.save(scope, KIND, product, name, request.flag("insecure_skip_check"), build)
    await refresh_authorization(scope, tree)
    return {"message": f"Successfully saved {name} configuration"}


async def delete(scope: RequestScope, request: Message) -> dict[str, Any]:
    product, name = request.text("product_name"), request.text("coderepo_binding_name")
    if (await product_store.load_tree(scope, product)).find(KIND, name) is None:
        raise errors.plain(
            f"{KIND} resource {name} not found or invalid. "
            "Please check whether the resource exists under the default project"
        )
    tree = await product_store.delete(
        scope, KIND, product, request.flag("insecure_skip_check"), lambda _: name
    )
    await refresh_authorization(scope, tree)
    return {"message": f"Successfully deleted {name} configuration"}
