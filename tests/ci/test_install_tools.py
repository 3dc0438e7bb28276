"""ci/install-tools.sh, run here with a stand-in ``curl`` (no download): it fetches the pinned release of each
tool, installs nothing whose SHA-256 differs from the pin, and refuses what it cannot install."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.ci import templates
from tests.ci.validators import REPO_ROOT

SCRIPT = REPO_ROOT / "ci" / "install-tools.sh"
PINS = dict(re.findall(r"^([A-Z0-9_]+)=(\S+)$", SCRIPT.read_text(), flags=re.MULTILINE))

URLS = {
    "k3d": f"https://github.com/k3d-io/k3d/releases/download/{PINS['K3D_VERSION']}/k3d-linux-amd64",
    "kind": f"https://github.com/kubernetes-sigs/kind/releases/download/{PINS['KIND_VERSION']}/kind-linux-amd64",
    "kubectl": f"https://dl.k8s.io/release/{PINS['KUBECTL_VERSION']}/bin/linux/amd64/kubectl",
}
SHA256 = {"k3d": PINS["K3D_SHA256"], "kind": PINS["KIND_SHA256"], "kubectl": PINS["KUBECTL_SHA256"]}


def _executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o755)


@pytest.fixture
def fake_bin(tmp_path: Path) -> Path:
    """A ``curl`` that writes a stand-in binary to its ``--output`` and logs each URL it was asked for."""
    directory = tmp_path / "fake-bin"
    directory.mkdir()
    _executable(
        directory / "curl",
        "#!/bin/sh\n"
        'out=""; url=""\n'
        'while [ $# -gt 0 ]; do case "$1" in\n'
        "  --output) out=$2; shift 2;; --*) shift;; *) url=$1; shift;;\n"
        "esac; done\n"
        f'echo "$url" >> "{directory}/curl.log"\n'
        'printf "not the real binary" > "$out"\n',
    )
    return directory


def _install(fake_bin: Path, target: Path, *tools: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), str(target), *tools],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PATH": f"{fake_bin}:{os.environ['PATH']}"},
    )


def test_the_pins_match_the_nightly_matrix() -> None:
    kubernetes = {cell.kubernetes for cell in templates.github_cells()}
    assert {".".join(PINS["KUBECTL_VERSION"].lstrip("v").split(".")[:2])} == kubernetes
    # The kind node image of the matrix comes from kind v0.20.0's release notes: that kind must run it.
    assert PINS["KIND_VERSION"] == "v0.20.0"
    assert PINS["K3D_VERSION"].startswith("v5.")
    assert all(re.fullmatch(r"[0-9a-f]{64}", sha) for sha in SHA256.values())


@pytest.mark.parametrize("tool", sorted(URLS))
def test_a_download_that_differs_from_the_pin_is_not_installed(
    tool: str, fake_bin: Path, tmp_path: Path
) -> None:
    target = tmp_path / "bin"
    done = _install(fake_bin, target, tool)
    assert done.returncode == 1
    assert (
        f"{tool} from {URLS[tool]} does not match its pinned SHA-256 {SHA256[tool]}; not installed"
        in done.stderr
    )
    assert list(target.iterdir()) == []  # neither the tool nor its partial download
    assert (fake_bin / "curl.log").read_text().splitlines() == [URLS[tool]]


def test_each_download_is_checked_against_its_pin_before_it_is_installed(
    fake_bin: Path, tmp_path: Path
) -> None:
    # A sha256sum that accepts and logs what it was asked to check: shows the exact check line of each tool.
    _executable(fake_bin / "sha256sum", f'#!/bin/sh\ncat >> "{fake_bin}/sha256sum.log"\n')
    target = tmp_path / "bin"
    done = _install(fake_bin, target)
    assert done.returncode == 0, done.stderr
    assert (fake_bin / "curl.log").read_text().splitlines() == [URLS["k3d"], URLS["kind"], URLS["kubectl"]]
    assert (fake_bin / "sha256sum.log").read_text().splitlines() == [
        f"{SHA256[tool]}  {target / tool}.part" for tool in ("k3d", "kind", "kubectl")
    ]
    assert sorted(path.name for path in target.iterdir()) == ["k3d", "kind", "kubectl"]
    assert all(path.stat().st_mode & 0o777 == 0o755 for path in target.iterdir())


@pytest.mark.parametrize(
    ("arguments", "message"),
    [((), "usage:"), (("kind", "helm"), "unknown tool 'helm' (k3d, kind, kubectl)")],
)
def test_bad_arguments_are_refused_before_any_download(
    arguments: tuple[str, ...], message: str, fake_bin: Path, tmp_path: Path
) -> None:
    command = ["bash", str(SCRIPT)] + ([str(tmp_path / "bin"), *arguments] if arguments else [])
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PATH": f"{fake_bin}:{os.environ['PATH']}"},
    )
    assert done.returncode == 2
    assert message in done.stderr
    assert not (fake_bin / "curl.log").exists()


def test_another_architecture_is_refused(fake_bin: Path, tmp_path: Path) -> None:
    _executable(fake_bin / "uname", '#!/bin/sh\ncase "$1" in -s) echo Linux;; -m) echo aarch64;; esac\n')
    done = _install(fake_bin, tmp_path / "bin", "kind")
    assert done.returncode == 1
    assert "only linux/amd64 binaries are pinned here, this is Linux-aarch64" in done.stderr
    assert not (fake_bin / "curl.log").exists()
