"""The global validation of a product tree (``nodestree.Compare``), skipped by ``insecure_skip_check``.

Order (``pkg/nodestree/nodestree.go``): duplicate kind+name in one directory, the directory layout, then
every resource's reference checks. The real server visits resources for the reference checks in Go map
order (random); the emulation visits them in tree order so that a tree with two problems always reports
the same one. The fourth check, resource counts, can never fail with the shipped layout (no kind has a
count above one) and is therefore not emulated.
"""

from __future__ import annotations

from dataclasses import dataclass

from nautes_refstack.nautes import errors, references, runtime_checks
from nautes_refstack.nautes.nodestree import Node, ResourceTree
from nautes_refstack.nautes.tenant import TenantView


@dataclass(frozen=True)
class _LayoutRule:
    kind: str
    category: str
    level: int


_LAYOUT = (
    _LayoutRule("Project", "projects", 4),
    _LayoutRule("ProjectPipelineRuntime", "projects", 4),
    _LayoutRule("Environment", "envs", 3),
    _LayoutRule("ArtifactRepo", "artifact-repos", 4),
    _LayoutRule("CodeRepo", "code-repos", 4),
    _LayoutRule("CodeRepoBinding", "code-repos", 4),
    _LayoutRule("DeploymentRuntime", "runtimes", 3),
)
_CATEGORIES = {rule.category for rule in _LAYOUT}


async def compare(tree: ResourceTree, product_reference: str, tenant: TenantView) -> None:
    """Raise the first global-validation failure of ``tree`` as the real server reports it (plain 500)."""
    if not tree.root.children:
        return
    _check_repeated_names(tree.root)
    _check_layout(tree.root)
    for node in tree.files():
        if node.kind in references.CHECKS:
            await references.CHECKS[node.kind](tree, node, product_reference, tenant)
        elif node.kind in runtime_checks.CHECKS:
            await runtime_checks.CHECKS[node.kind](tree, node, product_reference, tenant)


def _check_repeated_names(directory: Node) -> None:
    siblings = directory.children
    for index, first in enumerate(siblings):
        if first.is_dir:
            _check_repeated_names(first)
            continue
        for second in siblings[index + 1 :]:
            if second.is_dir:
                continue
            same_kind = first.content.get("kind") == second.content.get("kind")
            if same_kind and first.resource_name == second.resource_name:
                raise errors.plain(
                    "duplicate names are not allowed for resources, "
                    f"duplicate files are {first.name} and {second.name} "
                )


def _check_layout(root: Node) -> None:
    """``CheckEffectiveResourceLayout``: every file sits in its kind's directory at its kind's depth."""
    for node, category in _categorised_files(root, root.name):
        rules = [rule for rule in _LAYOUT if rule.kind == node.kind]
        if not rules:
            raise errors.plain(f"this {node.name} resource type is not allowed to exist")
        for rule in rules:
            if category != rule.category:
                raise errors.plain(
                    f"this {node.kind} resource belongs to a directory that is not consistent with the "
                    f"template layout, expected is {rule.category}, but now is {category} in {node.path}"
                )
            if node.level != rule.level:
                raise errors.plain(
                    f"this {node.kind} resource level is not consistent with the template layout, "
                    f"expected is {rule.level}, but now is {node.level} in {node.path}"
                )


def _categorised_files(directory: Node, category: str) -> list[tuple[Node, str]]:
    """``listNodeInfos``: each file with the layout category (top-level directory) it was found under."""
    found: list[tuple[Node, str]] = []
    for child in directory.children:
        if child.name in _CATEGORIES:
            found.extend(_categorised_files(child, child.name))
        elif child.is_dir:
            found.extend(_all_files(child, category))
        else:
            found.append((child, category))
    return found


def _all_files(directory: Node, category: str) -> list[tuple[Node, str]]:
    found: list[tuple[Node, str]] = []
    for child in directory.children:
        if child.is_dir:
            found.extend(_all_files(child, category))
        else:
            found.append((child, category))
    return found
