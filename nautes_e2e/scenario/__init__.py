"""Scenarios as data: ``scenarios/<name>/`` rendered into Nautes documents and repository contents."""

from __future__ import annotations

from nautes_e2e.scenario.render import ScenarioError, check, references, render
from nautes_e2e.scenario.scenario import Note, Scenario, VariableSpec

__all__ = ["Note", "Scenario", "ScenarioError", "VariableSpec", "check", "references", "render"]
