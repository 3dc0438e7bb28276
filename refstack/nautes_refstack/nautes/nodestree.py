"""The resource tree of a product's ``default.project`` (NAUTES ``pkg/nodestree``) and its kustomization.

The real server loads the whole clone into a tree on every product-scoped request: top-level directories
outside the layout (``projects``, ``envs``, ``artifact-repos``, ``code-repos``, ``runtimes``) are ignored,
``.md``/``.txt`` files too, every other file must be a known Nautes CR. Saving inserts or replaces one
node, deleting removes it (and its directory when it was alone there), and ``production/kustomization.yaml``
is rewritten to list every file of the tree in tree order (``biz/resource.go updateKustomization``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from nautes_refstack.nautes import errors, goyaml
from nautes_refstack.nautes.crd_types import BY_KIND
from nautes_refstack.nautes.gostruct import canonical

LAYOUT_DIRS = ("projects", "envs", "artifact-repos", "code-repos", "runtimes")
EXCLUDED_SUFFIXES = (".txt", ".md")
KUSTOMIZATION_PATH = "production/kustomization.yaml"


@dataclass
class Node:
    """A directory or a resource file; ``content`` is the CR as a JSON-like dict for files."""

    name: str
    path: str
    is_dir: bool
    level: int
    kind: str = ""
    content: dict[str, Any] = field(default_factory=dict)
    children: list[Node] = field(default_factory=list)

    @property
    def resource_name(self) -> str:
        return str(self.content.get("metadata", {}).get("name", ""))

    @property
    def spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = self.content.setdefault("spec", {})
        return spec


@dataclass
class ResourceTree:
    """The loaded ``default.project``; ``root.path`` is the clone's directory."""

    root: Node

    @classmethod
    def load(cls, directory: Path) -> ResourceTree:
        ignored = {entry for entry in os.listdir(directory) if entry not in LAYOUT_DIRS}
        root = Node(directory.name, str(directory), True, 1)
        _explore(root, ignored)
        return cls(root)

    def files(self, kind: str | None = None, where: Callable[[Node], bool] | None = None) -> list[Node]:
        """``ListsResourceNodes``: resource files in tree order, optionally of one kind and filtered."""
        return [
            node
            for node in _walk_files(self.root)
            if (kind is None or node.kind == kind) and (where is None or where(node))
        ]

    def find(self, kind: str, name: str) -> Node | None:
        """``GetNode``: the first file of ``kind`` whose ``metadata.name`` is ``name``."""
        for node in _walk_files(self.root):
            if node.content.get("kind") == kind and node.resource_name == name:
                return node
        return None

    def exists(self, kind: str, name: str) -> bool:
        """``nodestree.IsResourceExist``."""
        return self.find(kind, name) is not None

    def by_path(self) -> dict[str, Node]:
        mapping: dict[str, Node] = {}
        _map_paths(self.root, mapping)
        return mapping

    def insert(self, node: Node) -> None:
        """``InsertNodes``: replace the content of an existing path, else append under (new) parent dirs."""
        mapping = self.by_path()
        existing = mapping.get(node.path)
        if existing is not None:
            if node.is_dir:
                existing.children.extend(node.children)
            else:
                existing.content = node.content
            return
        parent_path = os.path.dirname(node.path)
        parent = Node(os.path.basename(parent_path), parent_path, True, node.level - 1, children=[node])
        self.insert(parent)

    def remove(self, node: Node) -> None:
        """``RemoveNode``: drop the file, and its directory from the parent when it became empty."""
        mapping = self.by_path()
        directory_path = os.path.dirname(node.path)
        directory = mapping.get(directory_path)
        if directory is None:
            raise errors.plain(f"the resource doesn't match beacase it cannot be found in {directory_path}")
        directory.children = [child for child in directory.children if child.path != node.path]
        if not directory.children:
            grandparent_path = os.path.dirname(directory_path)
            grandparent = mapping.get(grandparent_path)
            if grandparent is None:
                raise errors.plain(
                    f"the resource doesn't match beacase it cannot be found in {grandparent_path}"
                )
            grandparent.children = [child for child in grandparent.children if child.path != directory_path]

    def kustomization(self) -> str:
        """``production/kustomization.yaml`` listing every resource file as ``../<path>``."""
        resources = [node.path.replace(self.root.path, "..") for node in _walk_kustomize(self.root)]
        document: dict[str, Any] = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization"}
        if resources:
            document["resources"] = resources
        return goyaml.dump(document)


def empty_kustomization() -> str:
    """The kustomization of a new product: no ``resources`` key at all (``omitempty``)."""
    return goyaml.dump({"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization"})


def render_resource(node: Node) -> str:
    """``WriteResource``: the CR through Go's json.Marshal (status dropped) and sigs.k8s.io/yaml."""
    return goyaml.dump(canonical(BY_KIND[node.kind], node.content))


def _explore(directory: Node, ignored: set[str]) -> None:
    for entry in sorted(os.listdir(directory.path)):
        if entry in ignored or os.path.splitext(entry)[1] in EXCLUDED_SUFFIXES:
            continue
        path = os.path.join(directory.path, entry)
        if os.path.isdir(path):
            child = Node(entry, path, True, directory.level + 1)
            directory.children.append(child)
            _explore(child, ignored)
            continue
        stem = os.path.splitext(entry)[0]
        content = _read_resource(path, stem)
        directory.children.append(Node(stem, path, False, directory.level + 1, str(content["kind"]), content))


def _read_resource(path: str, name: str) -> dict[str, Any]:
    """``convertResource``: the file must be a non-empty YAML document of a known Nautes kind."""
    text = Path(path).read_bytes()
    if not text:
        raise errors.plain(f"invalid file, content is empty in {path}")
    try:
        content = goyaml.load(text)
    except yaml.YAMLError as failure:
        raise errors.plain(f"conversion yaml to json, err: {failure}") from None
    if not isinstance(content, dict):
        raise errors.plain(
            f"the file is unable to unmarshal standard k8s structure, file path: {path}, err: not an object"
        )
    kind = content.get("kind")
    if not kind:
        raise errors.plain(f"node {name} kind is empty")
    if kind not in BY_KIND:
        raise errors.plain(
            f"when loading the nodes tree, unable to generate resource node tree of type '{kind}'"
        )
    return content


def _walk_files(node: Node) -> Iterator[Node]:
    for child in node.children:
        if child.is_dir:
            yield from _walk_files(child)
        else:
            yield child


def _walk_kustomize(node: Node) -> Iterator[Node]:
    for child in node.children:
        if not child.is_dir:
            yield child
        elif child.children:
            yield from _walk_kustomize(child)


def _map_paths(node: Node, mapping: dict[str, Node]) -> None:
    mapping[node.path] = node
    for child in node.children:
        if child.is_dir:
            _map_paths(child, mapping)
        mapping[child.path] = child
