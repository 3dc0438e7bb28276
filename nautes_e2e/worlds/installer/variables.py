"""The kept list of the variables a Nautes installation's templates reference, and who sets each one.

The list is ``required-variables.yaml`` beside this module (its header names the sources: installer
v0.3.8 and tenant-repo-template v0.4.2 at their commits, and how it was made). The generated inputs are
checked against it before they are written (:func:`missing`), so a variable added to the list that the
harness must set fails the very next rendering, not an installation.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Literal, cast

import yaml

DATA_FILE = "required-variables.yaml"
SetBy = Literal["vars.yaml", "installer", "harness"]
#: A ``from`` entry that names the inventory's ``[vault]`` host (its ``ansible_host``), not a variable.
INVENTORY_VAULT = "inventory:vault"


@dataclass(frozen=True)
class RequiredVariable:
    name: str
    set_by: SetBy
    #: Where the installer defines it (``set_by == "installer"``): file, and how when not a plain default.
    defined_in: str | None
    #: What the harness provides that it is derived from: vars.yaml variables or :data:`INVENTORY_VAULT`.
    derived_from: tuple[str, ...]
    #: The templates (and playbooks, for inputs) that reference it, as ``source:path``.
    used_in: tuple[str, ...]


@dataclass(frozen=True)
class RequiredVariables:
    variables: Mapping[str, RequiredVariable]
    #: Templates of the installer an installation into an existing world never renders, and why.
    not_rendered: Mapping[str, str]

    def set_by(self, who: SetBy) -> list[str]:
        return sorted(name for name, variable in self.variables.items() if variable.set_by == who)


@functools.cache
def required_variables() -> RequiredVariables:
    """The list, read once; a list whose sections disagree is a defect of the repository."""
    data = yaml.safe_load(resources.files(__package__).joinpath(DATA_FILE).read_text())
    used_in: dict[str, list[str]] = {}
    for section in ("templates", "inputs"):
        for source, names in data[section].items():
            for name in names:
                used_in.setdefault(name, []).append(source)
    entries: dict[str, dict[str, object]] = data["variables"]
    if set(entries) != set(used_in):
        unused, unlisted = sorted(set(entries) - set(used_in)), sorted(set(used_in) - set(entries))
        raise RuntimeError(
            f"{DATA_FILE}: listed but never referenced: {unused}; referenced but not listed: {unlisted}"
        )
    variables = {
        name: RequiredVariable(
            name=name,
            set_by=cast(SetBy, entry["set_by"]),
            defined_in=cast("str | None", entry.get("defined_in")),
            derived_from=tuple(cast("list[str]", entry.get("from", []))),
            used_in=tuple(used_in[name]),
        )
        for name, entry in entries.items()
    }
    return RequiredVariables(variables=variables, not_rendered=dict(data["not_rendered"]))


def missing(vars_file: Mapping[str, object], inventory_groups: Mapping[str, list[str]]) -> list[str]:
    """What the list needs from the harness that ``vars_file`` (the vars.yaml content) and the inventory
    (group -> hosts) do not provide, one line each; empty when every variable is set."""
    variables = required_variables().variables.values()
    needed = {
        variable.name: f"{variable.name} (used in {', '.join(variable.used_in)})"
        for variable in variables
        if variable.set_by == "vars.yaml"
    }
    for variable in variables:
        for source in variable.derived_from:
            needed.setdefault(source, f"{source} (the installer derives {variable.name} from it)")
    problems = []
    for name, why in sorted(needed.items()):
        if name == INVENTORY_VAULT:
            if not inventory_groups.get("vault"):
                problems.append(f"the inventory has no [vault] host: {why}")
        elif vars_file.get(name) in (None, "", {}):
            problems.append(f"vars.yaml does not set {why}")
    return problems
