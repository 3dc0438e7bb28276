"""The labels on everything the harness creates in Docker (containers, networks, volumes, clusters' nodes).

A killed run cannot clean up after itself; ``nautes-e2e world prune`` finds what it left by these labels,
and a kept world (``--keep-env``) is found again by its name (``--reuse-env NAME``).
"""

from __future__ import annotations

#: Every object the harness creates carries this label (value: the harness's distribution name).
OWNER_LABEL = "io.nautes-e2e.owner"
OWNER = "nautes-e2e"
#: The world an object belongs to (the cluster name of a k3d/kind world, the run's world name otherwise).
WORLD_LABEL = "io.nautes-e2e.world"
#: What the object is in that world: "gitlab", "vault", "registry", "installer", "cluster", ...
COMPONENT_LABEL = "io.nautes-e2e.component"


def labels(world: str, component: str) -> dict[str, str]:
    """The labels of one object the harness creates for ``world``."""
    return {OWNER_LABEL: OWNER, WORLD_LABEL: world, COMPONENT_LABEL: component}
