"""A world's state file: where it lives, written on every change, read back, listed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nautes_e2e.worlds.state import (
    Resource,
    StateError,
    StateFile,
    WorldState,
    known_worlds,
    state_root,
)


def test_the_state_root_is_the_override_then_xdg_state_home_then_the_xdg_default() -> None:
    assert state_root({"NAUTES_E2E_STATE_DIR": "/t/s", "XDG_STATE_HOME": "/x"}) == Path("/t/s")
    assert state_root({"XDG_STATE_HOME": "/x"}) == Path("/x/nautes-e2e/worlds")
    assert state_root({}) == Path.home() / ".local/state/nautes-e2e/worlds"


def test_every_change_is_on_disk_at_once(tmp_path: Path) -> None:
    state = StateFile(tmp_path, "w1")
    state.create("k3d")
    network = Resource("network", "w1-net", "network")
    cluster = Resource("cluster", "w1", "cluster", "k3d")

    state.record(network)
    on_disk = json.loads(state.path.read_text())
    state.record(cluster)
    state.update(kept=True, target_file=tmp_path / "w1" / "target.yaml")
    state.forget(network)

    assert state.path == tmp_path / "w1" / "state.json"
    assert on_disk["created"] == [{"kind": "network", "ref": "w1-net", "component": "network", "detail": ""}]
    assert StateFile(tmp_path, "w1").load() == WorldState(
        name="w1", provider="k3d", created=[cluster], kept=True, target_file=str(tmp_path / "w1/target.yaml")
    )
    assert not list((tmp_path / "w1").glob("*.tmp"))


def test_an_unreadable_state_names_its_file(tmp_path: Path) -> None:
    with pytest.raises(StateError, match=r"w2/state\.json: cannot read the world's state"):
        StateFile(tmp_path, "w2").load()
    (tmp_path / "w3").mkdir()
    (tmp_path / "w3" / "state.json").write_text('{"version": 9}')
    with pytest.raises(StateError, match=r"w3/state\.json: not a world state file"):
        StateFile(tmp_path, "w3").load()


def test_known_worlds_lists_the_readable_ones(tmp_path: Path) -> None:
    for name in ("a", "b"):
        StateFile(tmp_path, name).create("kind")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "state.json").write_text("not json")

    assert [world.name for world in known_worlds(tmp_path)] == ["a", "b"]
    assert known_worlds(tmp_path / "nowhere") == []
