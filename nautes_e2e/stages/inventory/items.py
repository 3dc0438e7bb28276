"""An inventoried object, and a snapshot of all of them at one moment."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

#: The services in the order a report lists their objects.
SERVICES = ("Nautes", "GitLab", "Vault", "Kubernetes")
#: How Nautes names what it makes for a GitLab project or group: ``repo-<project id>`` (code repos, Vault
#: paths and policies, Argo Events names) and ``product-<group id>`` (product namespaces, Argo Events
#: consumers) (contract §3.4, §3.5, §4).
#: How a Kubernetes namespace is labelled (``namespace pr-demo-x``).
NAMESPACE = "namespace "
ID_TOKEN = re.compile(r"(?<![a-z0-9])(?:repo|product)-\d+(?![0-9])")


@dataclass(frozen=True, order=True)
class Item:
    """One object, named so that a reader knows what and where it is: ``namespace pr-demo-x``, ``Vault
    secret git/data/gitlab/repo-7/default/readonly (deploy key)``. Names only, never a secret's value."""

    service: str
    label: str

    def __str__(self) -> str:
        return self.label

    @property
    def namespace(self) -> str | None:
        """The Kubernetes namespace the object is, or is in; None outside Kubernetes."""
        if self.service != "Kubernetes":
            return None
        if self.label.startswith(NAMESPACE):
            return self.label.removeprefix(NAMESPACE)
        where = self.label.partition(" ")[2]
        return where.partition("/")[0] if "/" in where else None

    @property
    def sort_key(self) -> tuple[int, bool, str]:
        """Service by service; namespaces before the objects (a namespace left behind holds its objects)."""
        service = SERVICES.index(self.service) if self.service in SERVICES else len(SERVICES)
        return service, not self.label.startswith(NAMESPACE), self.label


@dataclass(frozen=True)
class Snapshot:
    """Every inventoried object at one moment, and the GitLab path behind each ``repo-<id>`` and
    ``product-<id>`` seen (so that an object named by an id can be told to belong to a run by names)."""

    items: frozenset[Item]
    paths: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, items: Iterable[Item], paths: Mapping[str, str]) -> Snapshot:
        return cls(frozenset(items), dict(paths))

    def counts(self) -> dict[str, int]:
        """How many objects of each service (the fact a stage records)."""
        return {service: sum(item.service == service for item in self.items) for service in SERVICES}


def ordered(items: Iterable[Item]) -> list[Item]:
    """Service by service, then by label."""
    return sorted(items, key=lambda item: item.sort_key)
