"""The runtime side of a Nautes installation: cluster-operator, runtime-operator, Argo Events and the
Tekton task Nautes' init pipeline runs (contract §3.5, §4). :class:`RuntimeControllers` wires them up."""

from __future__ import annotations

from nautes_refstack.runtime.controllers import RuntimeControllers

__all__ = ["RuntimeControllers"]
