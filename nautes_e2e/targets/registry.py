"""The targets, as a table: one :class:`TargetEntry` per ``--target`` name.

It is the only place that knows which targets exist: the ``--target`` choices and help, the check that a
target gets the options it needs, :func:`open_target` and the report's ``simulated`` flag all read it.
Adding a target is one module (a :class:`~nautes_e2e.targets.base.Target`) plus one entry here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from nautes_e2e.targets.base import Target
from nautes_e2e.targets.bringup import UNREPORTED, BringUp
from nautes_e2e.targets.existing import ExistingTarget
from nautes_e2e.targets.local import LocalTarget
from nautes_e2e.targets.target_file import TargetError

if TYPE_CHECKING:
    from nautes_e2e.worlds.settings import Provider


@dataclass(frozen=True)
class TargetRequest:
    """What a run hands any target: a private working directory (removed after the run unless
    ``--keep-env``), the environment (secrets are read from the variables a target file names),
    ``--target-file`` when one was given, ``--service`` choices (every swappable service of the target,
    :mod:`~nautes_e2e.targets.services`), ``--keep-env`` (leave what was brought up running),
    ``--reuse-env NAME`` (a kept world to use again) and where to report the bring-up's steps."""

    work_dir: Path
    environ: Mapping[str, str]
    target_file: Path | None = None
    services: Mapping[str, str] = field(default_factory=dict)
    keep_env: bool = False
    reuse_env: str | None = None
    bringup: BringUp = UNREPORTED
    #: ``--world-config PATH``: the images, versions, ports and names of a world the target brings up.
    world_config: Path | None = None

    def require_target_file(self, target: str) -> Path:
        if self.target_file is None:
            raise TargetError(f"the {target} target needs a target file (--target-file)")
        return self.target_file


@dataclass(frozen=True)
class TargetEntry:
    """One row of the table. ``simulated``: the world is the embedded reference stack, which the release
    gate does not accept (an ``existing`` world says so itself, in its target file)."""

    name: str
    factory: Callable[[TargetRequest], Target]
    simulated: bool
    needs_target_file: bool
    description: str
    #: The services ``--service NAME=KIND`` may swap on this target (none: it takes no ``--service``).
    swappable_services: tuple[str, ...] = ()
    #: Whether the target brings up a world it can keep: ``--reuse-env NAME`` and ``--world-config PATH``
    #: mean something only then.
    reusable: bool = False
    #: Whether ``--keep-env`` leaves a world that ``--reuse-env NAME`` uses again (every ``reusable`` target,
    #: and the local one: its stack is left running, :mod:`nautes_e2e.targets.kept_stack`).
    keeps_worlds: bool = False


def _local(request: TargetRequest) -> Target:
    if request.keep_env or request.reuse_env is not None:
        from nautes_e2e.targets.kept_stack import KeptLocalTarget
        from nautes_e2e.worlds.state import state_root

        return KeptLocalTarget(
            request.work_dir,
            state_root=state_root(request.environ),
            keep_env=request.keep_env,
            reuse_env=request.reuse_env,
            environ=request.environ,
            services=request.services,
            bringup=request.bringup,
        )
    return LocalTarget(
        request.work_dir, environ=request.environ, services=request.services, bringup=request.bringup
    )


def _existing(request: TargetRequest) -> Target:
    return ExistingTarget(request.require_target_file("existing"), request.environ)


def _cluster(provider: Provider) -> Callable[[TargetRequest], Target]:
    def factory(request: TargetRequest) -> Target:
        # imported when chosen: the k3d/kind worlds bring in Docker's clients, start-up time for any run
        from nautes_e2e.targets.cluster import ClusterWorldTarget

        return ClusterWorldTarget(
            provider,
            request.work_dir,
            request.environ,
            bringup=request.bringup,
            keep_env=request.keep_env,
            reuse_env=request.reuse_env,
            world_config=request.world_config,
        )

    return factory


TARGETS: Mapping[str, TargetEntry] = MappingProxyType(
    {
        entry.name: entry
        for entry in (
            TargetEntry(
                "local",
                _local,
                simulated=True,
                needs_target_file=False,
                description="starts the embedded reference stack for the run "
                "(--service vault=container / registry=container swap in the real service)",
                swappable_services=("vault", "registry"),
                keeps_worlds=True,
            ),
            TargetEntry(
                "existing",
                _existing,
                simulated=False,
                needs_target_file=True,
                description="reads --target-file (an installed Nautes, or a stack started with "
                "'nautes-e2e refstack up')",
            ),
            TargetEntry(
                "k3d",
                _cluster("k3d"),
                simulated=False,
                needs_target_file=False,
                description="brings up a k3d cluster (K3s v1.21.14), GitLab CE, Vault and a registry in "
                "Docker and installs Nautes with its installer; needs Docker, k3d, kubectl and the images "
                "(see 'nautes-e2e world plan --target k3d')",
                reusable=True,
                keeps_worlds=True,
            ),
            TargetEntry(
                "kind",
                _cluster("kind"),
                simulated=False,
                needs_target_file=False,
                description="the same world on a kind cluster (Kubernetes v1.21.14); needs Docker, kind, "
                "kubectl and the images (see 'nautes-e2e world plan --target kind')",
                reusable=True,
                keeps_worlds=True,
            ),
        )
    }
)


def target_entry(name: str) -> TargetEntry:
    """The entry of ``--target name``; a name that is not in the table is a :class:`TargetError`."""
    try:
        return TARGETS[name]
    except KeyError:
        raise TargetError(f"unknown target {name!r}; available: {', '.join(TARGETS)}") from None


def open_target(name: str, request: TargetRequest) -> Target:
    """The target called ``name`` (``--target``), not started yet."""
    return target_entry(name).factory(request)
