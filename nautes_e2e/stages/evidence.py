"""Evidence files: what a stage saw, kept next to the report, scrubbed of every known secret.

Evidence is written as soon as a stage hands it over (not at the end of the run), so that a run killed
half-way still leaves what it collected. Everything goes through :func:`nautes_e2e.secrets.redact`: API
objects and pod logs can echo tokens and kubeconfigs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from nautes_e2e.secrets import redact
from nautes_e2e.stages.model import EvidenceContent

_UNSAFE_NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]+")


class EvidenceStore:
    """Writes ``<run_dir>/evidence/<stage>/<name>`` and answers with the path relative to ``run_dir``."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir

    def write(self, stage: str, name: str, content: EvidenceContent) -> str:
        """Write one piece of evidence; a name without a suffix gets ``.json``, ``.txt`` or ``.bin``."""
        directory = self.run_dir / "evidence" / _safe_name(stage)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / _file_name(name, content)
        path.write_bytes(_redacted_bytes(content))
        return path.relative_to(self.run_dir).as_posix()


def _redacted_bytes(content: EvidenceContent) -> bytes:
    """The bytes of ``content`` with known secrets masked; bytes that are not UTF-8 survive unchanged."""
    if isinstance(content, bytes):
        return redact(content.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")
    if isinstance(content, str):
        return redact(content).encode()
    return redact(json.dumps(content, indent=2, default=str) + "\n").encode()


def _file_name(name: str, content: EvidenceContent) -> str:
    safe = _safe_name(name)
    if "." in safe:
        return safe
    if isinstance(content, bytes):
        return f"{safe}.bin"
    if isinstance(content, str):
        return f"{safe}.txt"
    return f"{safe}.json"


def _safe_name(name: str) -> str:
    """One path component: no separators, no leading dots (so no ``..``), never empty."""
    return _UNSAFE_NAME_CHARACTERS.sub("_", name).lstrip(".") or "evidence"
