"""A world's state file: what its bring-up created, written as each thing is created.

A run can be killed at any moment (a CI timeout, Ctrl-C twice, an OOM kill). Whatever it created must still
be findable: by the labels on Docker objects (:mod:`~nautes_e2e.worlds.prune`), and by this file, which also
says what a kept world (``--keep-env``) is made of, so that ``--reuse-env NAME`` can check it is all still
there, and so that the teardown removes exactly what this run created, in reverse order.

Where: ``$NAUTES_E2E_STATE_DIR`` (tests), else ``$XDG_STATE_HOME/nautes-e2e/worlds``, else
``~/.local/state/nautes-e2e/worlds`` (the XDG Base Directory default for state). One directory per world,
``<root>/<name>/``, holding ``state.json`` and the world's files (kubeconfig, certificates, installer inputs
and outputs, the target file).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

STATE_DIR_ENV = "NAUTES_E2E_STATE_DIR"
STATE_FILE = "state.json"
STATE_VERSION = 1

Kind = Literal["network", "container", "volume", "cluster"]
KINDS: tuple[Kind, ...] = ("network", "container", "volume", "cluster")


class StateError(ValueError):
    """A state file is missing or unreadable; the text names it."""


def state_root(environ: Mapping[str, str]) -> Path:
    if environ.get(STATE_DIR_ENV):
        return Path(environ[STATE_DIR_ENV])
    base = Path(environ["XDG_STATE_HOME"]) if environ.get("XDG_STATE_HOME") else Path.home() / ".local/state"
    return base / "nautes-e2e" / "worlds"


@dataclass(frozen=True)
class Resource:
    """One created thing: a Docker ``network``/``container``/``volume`` (``ref`` its name or id) or a
    ``cluster`` (``ref`` its name, ``detail`` the provider)."""

    kind: Kind
    ref: str
    component: str
    detail: str = ""


@dataclass
class WorldState:
    name: str
    provider: str
    created: list[Resource] = field(default_factory=list)
    #: Left up by ``--keep-env`` (or a failed start under it): ``--reuse-env NAME`` may use it.
    kept: bool = False
    target_file: str | None = None

    def to_json(self) -> str:
        data = {"version": STATE_VERSION, **asdict(self)}
        return json.dumps(data, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> WorldState:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            raise ValueError(f"not a version {STATE_VERSION} world state")
        created = [Resource(**entry) for entry in data.get("created", [])]
        for resource in created:
            if resource.kind not in KINDS:
                raise ValueError(f"unknown resource kind {resource.kind!r}")
        return cls(
            name=data["name"],
            provider=data["provider"],
            created=created,
            kept=bool(data.get("kept")),
            target_file=data.get("target_file"),
        )


class StateFile:
    """The state of one world on disk; every change is written at once (atomically: write, then rename)."""

    def __init__(self, root: Path, name: str) -> None:
        self.directory = root / name
        self.path = self.directory / STATE_FILE
        self._lock = threading.Lock()
        self.state: WorldState | None = None

    def exists(self) -> bool:
        return self.path.is_file()

    def create(self, provider: str) -> WorldState:
        self.state = WorldState(name=self.directory.name, provider=provider)
        self._write()
        return self.state

    def load(self) -> WorldState:
        try:
            self.state = WorldState.from_json(self.path.read_text())
        except OSError as error:
            raise StateError(f"{self.path}: cannot read the world's state ({error.strerror})") from None
        except (ValueError, KeyError, TypeError) as error:
            raise StateError(f"{self.path}: not a world state file ({error})") from None
        return self.state

    def record(self, resource: Resource) -> None:
        """Add ``resource`` (just created) and write the file before anything else is created."""
        with self._lock:
            assert self.state is not None, "create() or load() the state first"
            self.state.created.append(resource)
            self._write()

    def forget(self, resource: Resource) -> None:
        """``resource`` is gone (removed by the teardown)."""
        with self._lock:
            assert self.state is not None
            if resource in self.state.created:
                self.state.created.remove(resource)
            self._write()

    def update(self, *, kept: bool | None = None, target_file: Path | None = None) -> None:
        with self._lock:
            assert self.state is not None
            if kept is not None:
                self.state.kept = kept
            if target_file is not None:
                self.state.target_file = str(target_file)
            self._write()

    def _write(self) -> None:
        assert self.state is not None
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(self.state.to_json())
        os.replace(temporary, self.path)


def known_worlds(root: Path) -> list[WorldState]:
    """Every readable world state under ``root`` (unreadable ones are skipped: prune also finds by label)."""
    worlds = []
    for path in sorted(root.glob(f"*/{STATE_FILE}")):
        try:
            worlds.append(WorldState.from_json(path.read_text()))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return worlds
