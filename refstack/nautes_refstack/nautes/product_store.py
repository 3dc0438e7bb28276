"""Reading and changing a product's ``default.project`` (NAUTES ``internal/biz/resource.go``).

Every product-scoped operation starts the same way: look the product up as a GitLab group, find its
``default.project``, clone it with the caller's credentials and load the resource tree. Saves and deletes
then change one node, run the global checks unless ``insecure_skip_check``, rewrite the kustomization and
push. The order of these steps decides which error a failing request reports, so it is kept as is.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nautes_refstack.nautes import errors, globalcheck
from nautes_refstack.nautes.nodestree import KUSTOMIZATION_PATH, Node, ResourceTree, render_resource
from nautes_refstack.nautes.scope import RequestScope
from nautes_refstack.nautes.workcopy import WorkingCopy

DEFAULT_PROJECT = "default.project"


@dataclass(frozen=True)
class ProductRepository:
    """A product: its GitLab group and the group's ``default.project``."""

    group: dict[str, Any]
    project: dict[str, Any]

    @property
    def reference(self) -> str:
        """How CRs refer to the product: ``product-<group id>``."""
        return f"product-{self.group['id']}"


NodeBuilder = Callable[[Node | None, str], Awaitable[Node]]
NameResolver = Callable[[ResourceTree], str]


async def product_repository(scope: RequestScope, product: int | str) -> ProductRepository:
    """``GetGroupAndProjectByGroupID``: typed GitLab errors pass through unchanged."""
    group = await scope.gitlab.group(product)
    project = await scope.gitlab.project(f"{group['path']}/{DEFAULT_PROJECT}")
    return ProductRepository(group, project)


async def load_tree(scope: RequestScope, product: str) -> ResourceTree:
    """``loadDefaultProjectNodes``: the current tree, without keeping the clone."""
    repository = await product_repository(scope, product)
    async with await scope.clone(repository.project["http_url_to_repo"]) as copy:
        return ResourceTree.load(copy.root)


async def get(scope: RequestScope, kind: str, product: str, name: str) -> Node:
    """``ResourcesUsecase.Get``: ``404 RESOURCE_NOT_FOUND`` when the product has no such resource."""
    tree = await load_tree(scope, product)
    node = tree.find(kind, name)
    if node is None:
        raise errors.RESOURCE_NOT_FOUND
    return node


async def list_tree(scope: RequestScope, product: str) -> ResourceTree:
    """``ResourcesUsecase.List``: like :func:`load_tree` but with the list-specific error texts."""
    try:
        repository = await product_repository(scope, product)
    except errors.NautesError as failure:
        if failure.reason == "PROJECT_NOT_FOUND":
            raise errors.project_not_found(f"{product} is non product, missing metadata") from None
        if failure.reason == "GROUP_NOT_FOUND":
            raise errors.group_not_found(failure.kratos_text()) from None
        raise
    async with await scope.clone(repository.project["http_url_to_repo"]) as copy:
        return ResourceTree.load(copy.root)


async def save(
    scope: RequestScope, kind: str, product: str, name: str, skip_check: bool, build: NodeBuilder
) -> ResourceTree:
    """``ResourcesUsecase.Save``: create or update one resource, check the tree, write, push.

    ``build(existing_node_or_None, clone_root)`` is the kind's ``CreateNode``/``UpdateNode``.
    Returns the tree as saved (the binding refresh works on it).
    """
    repository = await product_repository(scope, product)
    async with await scope.clone(repository.project["http_url_to_repo"]) as copy:
        tree = ResourceTree.load(copy.root)
        node = await build(tree.find(kind, name), str(copy.root))
        tree.insert(node)
        if not skip_check:
            await globalcheck.compare(tree, repository.reference, scope.tenant)
        copy.write(_relative(copy, node.path), render_resource(node))
        copy.write(KUSTOMIZATION_PATH, tree.kustomization())
        await copy.push()
        return tree


async def delete(
    scope: RequestScope, kind: str, product: str, skip_check: bool, resolve: NameResolver
) -> ResourceTree:
    """``ResourcesUsecase.Delete``: remove one resource, check the remaining tree, push."""
    repository = await product_repository(scope, product)
    async with await scope.clone(repository.project["http_url_to_repo"]) as copy:
        tree = ResourceTree.load(copy.root)
        name = resolve(tree)
        node = tree.find(kind, name)
        if node is None:
            raise errors.plain(
                f"{kind} resource {name} not found or invalid. "
                "Please check whether the resource exists under the default project"
            )
        tree.remove(node)
        if not skip_check:
            await globalcheck.compare(tree, repository.reference, scope.tenant)
        _delete_file(Path(node.path))
        copy.write(KUSTOMIZATION_PATH, tree.kustomization())
        await copy.push()
        return tree


def _relative(copy: WorkingCopy, path: str) -> str:
    return os.path.relpath(path, copy.root)


def _delete_file(path: Path) -> None:
    """``deleteResource``: the whole directory goes when the file was its only entry."""
    if not path.parent.is_dir():
        return
    if len(os.listdir(path.parent)) == 1:
        shutil.rmtree(path.parent)
    else:
        path.unlink()
