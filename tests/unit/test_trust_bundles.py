"""Combined CA bundles: private to the user, reused only when their bytes are right, old ones pruned."""

from __future__ import annotations

import os
import time
from pathlib import Path

import certifi
import pytest

from nautes_e2e.clients.trust import STALE_AFTER_S, combined_bundle

CA_PEM = Path(__file__).parents[1] / "support" / "tls" / "ca.pem"


def test_a_bundle_is_certifi_then_the_target_s_cas_in_a_private_folder(tmp_path: Path) -> None:
    folder = tmp_path / "bundles"

    bundle = combined_bundle([CA_PEM], folder)

    assert bundle is not None
    assert bundle.parent == folder
    assert folder.stat().st_mode & 0o777 == 0o700
    content = bundle.read_bytes()
    assert content.startswith(Path(certifi.where()).read_bytes().rstrip(b"\n"))
    assert content.endswith(CA_PEM.read_bytes().rstrip(b"\n") + b"\n")
    assert combined_bundle([], folder) is None


def test_a_bundle_whose_bytes_were_changed_is_written_again(tmp_path: Path) -> None:
    folder = tmp_path / "bundles"
    bundle = combined_bundle([CA_PEM], folder)
    assert bundle is not None
    expected = bundle.read_bytes()
    bundle.write_bytes(b"-----BEGIN CERTIFICATE-----\nplanted\n-----END CERTIFICATE-----\n")

    again = combined_bundle([CA_PEM], folder)

    assert again == bundle
    assert bundle.read_bytes() == expected


def test_a_folder_others_may_write_to_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "bundles"
    folder.mkdir(mode=0o777)
    folder.chmod(0o777)

    with pytest.raises(PermissionError, match=r"is not a private folder of this user .*mode 777"):
        combined_bundle([CA_PEM], folder)


def test_stale_bundles_are_removed_when_a_new_one_is_written(tmp_path: Path) -> None:
    folder = tmp_path / "bundles"
    folder.mkdir(mode=0o700)
    stale = folder / ("0" * 32 + ".pem")
    stale.write_text("old")
    long_ago = time.time() - STALE_AFTER_S - 60
    os.utime(stale, (long_ago, long_ago))

    combined_bundle([CA_PEM], folder)

    assert not stale.exists()
