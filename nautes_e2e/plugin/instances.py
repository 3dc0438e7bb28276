"""Scenario instances: one run holding several stage chains, each with its own name, cluster type, suffix
and scenario, isolated from the others (its own world, product names and runtime namespace) and reported in
``instances/<name>/`` of the run's folder.

A run has instances when it is given ``--instances FILE`` (a matrix file), a comma list of
``--cluster-type`` (one instance per type, named after it), or ``--rerun-failed`` (the instances of an
earlier run that did not pass). Without them a run is a run of one, exactly as before: no instance, no
``instances/`` folder.

The matrix file (read strictly, :mod:`nautes_e2e.yamlfile`)::

    instances:
      - name: physical            # unique; a folder name and a pytest id: lowercase letters, digits, dashes
        clusterType: physical     # default: --cluster-type (physical)
        suffix: e2e-p             # unique; default: <--suffix>-<name>, or the name alone
      - name: virtual
        clusterType: virtual
        scenarioDir: ../scenarios/quickstart   # relative to the file; default: --scenario-dir

An instance's suffix names every object its scenario creates, so two instances with one suffix would share
a product: suffixes are unique (defaults included), as names are.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator

from nautes_e2e.yamlfile import StrictModel, Text, load_file, unique_names

#: ``--cluster-type``: how the runtime cluster is registered (the guide's two ways, "注册运行时集群").
CLUSTER_TYPES = ("physical", "virtual")
#: A name or a suffix: lowercase letters, digits and inner dashes (an RFC 1123 label). A suffix ends up in
#: Kubernetes namespaces and GitLab paths; a name is a folder name and a pytest id, and may become a suffix.
NAME_PATTERN = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
#: The folder of a run's folder that holds one folder per instance.
INSTANCES_DIR = "instances"


#: Where the instance at an index of the list is given, for an error text (a file's field, or an option).
_Where = Callable[[int], str]


class InstancesError(ValueError):
    """A matrix file, or a list of instances, the run cannot use; the text names the file (or option), the
    field and the value."""


@dataclass(frozen=True)
class Instance:
    """One stage chain of a run: what it is called and the options it runs with."""

    name: str
    cluster_type: str
    suffix: str
    scenario_dir: Path

    def to_dict(self) -> dict[str, str]:
        """The options as ``matrix.json`` keeps them (the matrix file's keys)."""
        return {
            "name": self.name,
            "clusterType": self.cluster_type,
            "suffix": self.suffix,
            "scenarioDir": str(self.scenario_dir),
        }


@dataclass(frozen=True)
class InstanceDefaults:
    """What an instance that does not say takes: the run's ``--cluster-type``, ``--suffix`` and
    ``--scenario-dir``."""

    cluster_type: str
    suffix: str | None
    scenario_dir: Path

    def suffix_of(self, name: str) -> str:
        return f"{self.suffix}-{name}" if self.suffix else name


def _name(value: str) -> str:
    if not NAME_PATTERN.fullmatch(value):
        raise ValueError(f"must be lowercase letters, digits and inner dashes, not {value!r}")
    return value


_Name = Annotated[Text, AfterValidator(_name)]


class _Entry(StrictModel):
    name: _Name
    cluster_type: Literal["physical", "virtual"] | None = None
    suffix: _Name | None = None
    scenario_dir: Text | None = None


class _InstancesFile(StrictModel):
    instances: Annotated[list[_Entry], AfterValidator(unique_names("instance"))]


def load_instances(path: Path, defaults: InstanceDefaults) -> tuple[Instance, ...]:
    """The instances of the matrix file ``path``; a relative ``scenarioDir`` is relative to the file."""
    file = load_file(path, _InstancesFile, InstancesError)
    instances = []
    for index, entry in enumerate(file.instances):
        scenario_dir = defaults.scenario_dir
        if entry.scenario_dir:
            scenario_dir = (path.parent / entry.scenario_dir).resolve()
            if not scenario_dir.is_dir():
                raise InstancesError(
                    f"{path}: instances[{index}].scenarioDir: no such directory: {scenario_dir}"
                )
        instances.append(
            Instance(
                name=entry.name,
                cluster_type=entry.cluster_type or defaults.cluster_type,
                suffix=entry.suffix or defaults.suffix_of(entry.name),
                scenario_dir=scenario_dir,
            )
        )
    _check_suffixes(instances, lambda index: f"{path}: instances[{index}].suffix")
    return tuple(instances)


def instances_for_cluster_types(value: str, defaults: InstanceDefaults) -> tuple[Instance, ...]:
    """``--cluster-type physical,virtual``: one instance per type, named after it."""
    types = [part.strip() for part in value.split(",")]
    for index, cluster_type in enumerate(types):
        if cluster_type not in CLUSTER_TYPES:
            raise InstancesError(
                f"--cluster-type must be {' or '.join(CLUSTER_TYPES)}, not {cluster_type!r}"
                + (f" (item {index + 1} of {value!r})" if len(types) > 1 else "")
            )
        if cluster_type in types[:index]:
            raise InstancesError(f"--cluster-type names {cluster_type!r} twice in {value!r}")
    instances = tuple(Instance(name, name, defaults.suffix_of(name), defaults.scenario_dir) for name in types)
    _check_suffixes(instances, lambda index: "--cluster-type")
    return instances


def _check_suffixes(instances: Sequence[Instance], where: _Where) -> None:
    seen: dict[str, str] = {}
    for index, instance in enumerate(instances):
        if not NAME_PATTERN.fullmatch(instance.suffix):
            raise InstancesError(
                f"{where(index)}: the suffix {instance.suffix!r} of instance {instance.name} must be "
                "lowercase letters, digits and inner dashes (it ends up in Kubernetes namespaces and GitLab "
                "paths)"
            )
        if instance.suffix in seen:
            raise InstancesError(
                f"{where(index)}: instance {instance.name} has the suffix {instance.suffix!r} of instance "
                f"{seen[instance.suffix]}: instances with one suffix would share their product"
            )
        seen[instance.suffix] = instance.name


def instance_in_nodeid(nodeid: str, names: Sequence[str]) -> str | None:
    """The instance a test's node id names, where no item is at hand (an xdist controller collects none):
    its parametrization id begins with the instance's (``test_preflight[physical]``,
    ``test_refusal[virtual-bad-name]``); the longest of ``names`` that fits, or ``None``."""
    _, bracket, ids = nodeid.partition("[")
    if not bracket:
        return None
    ids = ids.removesuffix("]")
    fitting = [name for name in names if ids == name or ids.startswith(f"{name}-")]
    return max(fitting, key=len, default=None)
