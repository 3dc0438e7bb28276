"""A k3d/kind world kept with ``--keep-env`` says where its state is (``Target.kept_state``): the run saves
its stages there for ``--from-stage`` (:mod:`nautes_e2e.plugin.resume`); a world taken down says nothing."""

from __future__ import annotations

from pathlib import Path

from tests.worlds.test_cluster_target import make_world


def test_a_kept_world_names_its_state_directory_and_a_removed_one_none(tmp_path: Path) -> None:
    kept = make_world(tmp_path / "kept", keep_env=True)
    kept.target.start()
    kept.target.stop()
    removed = make_world(tmp_path / "removed")
    removed.target.start()
    removed.target.stop()

    assert kept.target.kept_state == kept.state_root / "w"
    assert (kept.state_root / "w" / "state.json").is_file()
    assert removed.target.kept_state is None
