"""Workspace bindings: what a PipelineRun binds, what each TaskRun gets, and the directories behind them.

Bindings follow Tekton: a ``volumeClaimTemplate`` becomes a PVC named ``<template name or pvc>-<hash>``
shared by all TaskRuns of the run; ``persistentVolumeClaim`` is shared by every run using the claim;
``emptyDir`` lives as long as one TaskRun's pod; ``configMap`` and ``secret`` are materialised as files
for each pod from the objects in the store. Directories live under the controller's work directory.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
from pathlib import Path
from typing import Any

from nautes_refstack.kube import KubeError, ObjectStore

JsonObject = dict[str, Any]
_VOLUME_SOURCES = ("emptyDir", "persistentVolumeClaim", "volumeClaimTemplate", "configMap", "secret")


class WorkspaceError(Exception):
    """A workspace cannot be mounted (missing ConfigMap/Secret, unsupported volume type)."""


def claim_name(binding: JsonObject, owner_uid: str) -> str:
    """``volumeclaim.GetPersistentVolumeClaimName``: template name (or ``pvc``) + sha256(ws+uid)[:10]."""
    template_name = ((binding.get("volumeClaimTemplate") or {}).get("metadata") or {}).get("name") or "pvc"
    identity = hashlib.sha256((binding["name"] + owner_uid).encode()).hexdigest()[:10]
    return f"{template_name}-{identity}"


def task_run_bindings(
    pipeline_task: JsonObject, run_bindings: list[JsonObject], owner_uid: str
) -> list[JsonObject]:
    """The TaskRun's ``spec.workspaces`` for one pipeline task (``taskWorkspaceByWorkspaceVolumeSource``)."""
    by_name = {binding["name"]: binding for binding in run_bindings}
    bindings = []
    for workspace in pipeline_task.get("workspaces") or []:
        run_binding = by_name.get(workspace.get("workspace") or workspace["name"])
        if run_binding is None:
            continue
        sub_path = "/".join(part for part in (run_binding.get("subPath"), workspace.get("subPath")) if part)
        if run_binding.get("volumeClaimTemplate") is not None:
            binding: JsonObject = {
                "name": workspace["name"],
                "persistentVolumeClaim": {"claimName": claim_name(run_binding, owner_uid)},
            }
        else:
            binding = {key: value for key, value in run_binding.items() if key not in ("name", "subPath")}
            binding["name"] = workspace["name"]
        if sub_path:
            binding["subPath"] = sub_path
        bindings.append(binding)
    return bindings


def validate_bindings(declared: list[JsonObject], bindings: list[JsonObject]) -> str | None:
    """``workspace.ValidateBindings``: the error text, or None when the bindings satisfy the declarations."""
    bound = {binding["name"] for binding in bindings}
    names = {workspace["name"] for workspace in declared}
    for workspace in declared:
        if not workspace.get("optional") and workspace["name"] not in bound:
            return f'declared workspace "{workspace["name"]}" is required but has not been bound'
    for binding in bindings:
        if binding["name"] not in names:
            return f'workspace binding "{binding["name"]}" does not match any declared workspace'
    return None


class WorkspaceMounter:
    """Mounts TaskRun workspace bindings as host directories for one pod."""

    def __init__(self, store: ObjectStore, claims_root: Path, pod_root: Path, namespace: str) -> None:
        self._store = store
        self._claims_root = claims_root
        self._pod_volumes = pod_root.parent / (pod_root.name + "-volumes")
        self._namespace = namespace

    def mount(self, binding: JsonObject) -> Path:
        directory = self._volume(binding)
        sub_path = binding.get("subPath")
        if sub_path:
            directory = directory / sub_path
            directory.mkdir(parents=True, exist_ok=True)
        return directory

    def unmount_pod_volumes(self) -> None:
        """Remove what lives only as long as the pod (emptyDir, ConfigMap and Secret copies)."""
        shutil.rmtree(self._pod_volumes, ignore_errors=True)

    def _volume(self, binding: JsonObject) -> Path:
        name = binding["name"]
        if "persistentVolumeClaim" in binding:
            claim = str(binding["persistentVolumeClaim"]["claimName"])
            claim_directory = self._claims_root / self._namespace / claim
            claim_directory.mkdir(parents=True, exist_ok=True)
            return claim_directory
        directory = self._pod_volumes / str(name)
        directory.mkdir(parents=True, exist_ok=True)
        if "emptyDir" in binding:
            return directory
        if "configMap" in binding:
            source = binding["configMap"]
            data = self._object_data("ConfigMap", source.get("name", ""), source)
            return self._write_files(directory, data, source)
        if "secret" in binding:
            source = binding["secret"]
            data = self._object_data("Secret", source.get("secretName", ""), source)
            return self._write_files(directory, data, source)
        kinds = ", ".join(_VOLUME_SOURCES)
        raise WorkspaceError(
            f'workspace "{name}" uses a volume type the reference stack cannot mount (supported: {kinds})'
        )

    def _object_data(self, kind: str, name: str, source: JsonObject) -> dict[str, bytes]:
        try:
            obj = self._store.get("v1", kind, self._namespace, name)
        except KubeError:
            if source.get("optional"):
                return {}
            raise WorkspaceError(f'{kind.lower()} "{name}" not found') from None
        data: dict[str, bytes] = {}
        if kind == "ConfigMap":
            data.update({key: str(value).encode() for key, value in (obj.get("data") or {}).items()})
            data.update(
                {key: base64.b64decode(value) for key, value in (obj.get("binaryData") or {}).items()}
            )
        else:
            data.update({key: base64.b64decode(value) for key, value in (obj.get("data") or {}).items()})
        return data

    @staticmethod
    def _write_files(directory: Path, data: dict[str, bytes], source: JsonObject) -> Path:
        """Project the keys (or only ``items``, renamed by ``path``) with ``defaultMode`` (default 0644)."""
        default_mode = int(source.get("defaultMode", 0o644))
        items = source.get("items")
        selected = (
            [(item["key"], item.get("path") or item["key"], item.get("mode")) for item in items]
            if items
            else [(key, key, None) for key in data]
        )
        for key, path, mode in selected:
            if key not in data:
                raise WorkspaceError(f"configmap references non-existent config key: {key}")
            target = directory / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data[key])
            target.chmod(int(mode) if mode is not None else default_mode)
        return directory
