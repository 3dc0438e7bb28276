"""What the emulated apiserver knows about one served resource (one group/version/kind)."""

from __future__ import annotations

import re
from dataclasses import dataclass

STANDARD_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
# What each subresource the emulation serves allows (``pods/log`` is read-only, ``serviceaccounts/token``
# only mints tokens).
SUBRESOURCE_VERBS = {
    "status": ("get", "patch", "update"),
    "scale": ("get", "patch", "update"),
    "log": ("get",),
    "token": ("create",),
}
_VERSION = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


@dataclass(frozen=True)
class ResourceType:
    """One resource served at ``/api/v1`` or ``/apis/{group}/{version}``.

    A resource served in several versions (Tekton serves PipelineRuns as ``v1alpha1`` and ``v1beta1``) is
    registered once per version; all versions share the same objects, keyed by ``(group, plural)``.

    The flags copy per-resource behaviour of the real apiserver: ``builtin`` resources are compiled into
    kube-apiserver (they accept strategic merge patches, and their typed lists omit each item's
    ``apiVersion``/``kind``) while the others behave like CRDs; ``has_generation`` is False for the core
    types that never carry ``metadata.generation``; ``delete_returns_object`` is False where a DELETE
    answers with a ``Status`` instead of the deleted object; ``field_labels`` are the field-selector
    labels the resource supports beyond ``metadata.name`` and ``metadata.namespace``.
    """

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool = True
    subresources: tuple[str, ...] = ("status",)
    short_names: tuple[str, ...] = ()
    list_kind: str | None = None
    verbs: tuple[str, ...] = STANDARD_VERBS
    builtin: bool = False
    has_generation: bool = True
    delete_returns_object: bool = True
    field_labels: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self) -> tuple[str, str]:
        return (self.group, self.version)

    @property
    def storage_key(self) -> tuple[str, str]:
        """Objects are shared by every version of a resource."""
        return (self.group, self.plural)

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def list_kind_name(self) -> str:
        return self.list_kind or f"{self.kind}List"

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources


def split_api_version(api_version: str) -> tuple[str, str]:
    """``"tekton.dev/v1beta1"`` -> ``("tekton.dev", "v1beta1")``; ``"v1"`` -> ``("", "v1")``."""
    group, _, version = api_version.rpartition("/")
    return group, version


def version_priority(version: str) -> tuple[int, int, int]:
    """Sort key putting the version Kubernetes prefers first: GA before beta before alpha, newest first."""
    match = _VERSION.match(version)
    if match is None:
        return (0, 0, 0)
    stability = {None: 3, "beta": 2, "alpha": 1}[match.group(2)]
    return (stability, int(match.group(1)), int(match.group(3) or 0))
