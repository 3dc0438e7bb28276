"""``kubectl kustomize`` for the kustomizations Nautes' pipeline-run script writes, done natively.

The script (contract §4.4 step 3) lists one resource file, optionally a ``nameSuffix`` and
``commonLabels``, and JSON 6902 ``patches`` targeted by kind. Kustomize applies patches before the
name suffix and labels (its built-in transformer order), matching targets by the original name; on a kind
it has no field specs for (a Tekton PipelineRun) ``commonLabels`` only sets ``metadata.labels``. Anything
outside that subset raises :class:`KustomizeError` instead of being silently ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from nautes_refstack.kube import KubeError
from nautes_refstack.kube.patches import json_patch
from nautes_refstack.yaml_loading import safe_load_all

SUPPORTED_FIELDS = frozenset(
    {"apiVersion", "kind", "resources", "nameSuffix", "namePrefix", "commonLabels", "patches"}
)
TARGET_FIELDS = ("kind", "name", "namespace")


class KustomizeError(RuntimeError):
    """The kustomization cannot be built (what ``kubectl kustomize`` would exit non-zero on)."""


def parse(text: str) -> dict[str, Any]:
    """A ``kustomization.yaml`` as a mapping."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise KustomizeError(f"invalid kustomization: {error}") from error
    if not isinstance(document, dict):
        raise KustomizeError("invalid kustomization: not a mapping")
    return document


def build(kustomization: Mapping[str, Any], directory: Path) -> list[dict[str, Any]]:
    """The resources ``kubectl kustomize <directory>`` prints for ``kustomization``."""
    unknown = set(kustomization) - SUPPORTED_FIELDS
    if unknown:
        raise KustomizeError(f"kustomization fields not supported by the emulation: {sorted(unknown)}")
    resources = [doc for entry in kustomization.get("resources") or [] for doc in _load(directory, entry)]
    for patch in kustomization.get("patches") or []:
        _apply_patch(resources, patch)
    prefix = str(kustomization.get("namePrefix") or "")
    suffix = str(kustomization.get("nameSuffix") or "")
    labels = {str(k): str(v) for k, v in (kustomization.get("commonLabels") or {}).items()}
    for resource in resources:
        metadata = resource["metadata"]
        metadata["name"] = f"{prefix}{metadata['name']}{suffix}"
        if labels:
            metadata["labels"] = {**(metadata.get("labels") or {}), **labels}
    return resources


def _load(directory: Path, entry: str) -> list[dict[str, Any]]:
    path = (directory / entry).resolve()
    if not path.is_file():
        raise KustomizeError(f"accumulating resources: '{path}' is not a file")
    documents = [doc for doc in safe_load_all(path.read_text()) if doc is not None]
    for doc in documents:
        if not isinstance(doc, dict) or not doc.get("kind") or not (doc.get("metadata") or {}).get("name"):
            raise KustomizeError(f"{entry}: every resource needs kind and metadata.name")
    return documents


def _apply_patch(resources: list[dict[str, Any]], patch: Mapping[str, Any]) -> None:
    operations = yaml.safe_load(str(patch.get("patch") or ""))
    if not isinstance(operations, list):
        raise KustomizeError("only JSON 6902 patches (a list of operations) are supported")
    target = patch.get("target") or {}
    for index, resource in enumerate(resources):
        if _matches(resource, target):
            try:
                resources[index] = json_patch(resource, operations)
            except KubeError as error:
                raise KustomizeError(
                    f"applying patch to {resource['metadata']['name']}: {error.message}"
                ) from error


def _matches(resource: Mapping[str, Any], target: Mapping[str, Any]) -> bool:
    metadata = resource.get("metadata") or {}
    actual = {
        "kind": resource.get("kind"),
        "name": metadata.get("name"),
        "namespace": metadata.get("namespace"),
    }
    return all(target.get(key) in (None, actual[key]) for key in TARGET_FIELDS)
