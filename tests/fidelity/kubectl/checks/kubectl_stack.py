"""pytest plugin for the kubectl set (``-p kubectl_stack``): the real ``kubectl`` binary pointed at the
runtime cluster of a standalone reference stack (the kubeconfig named by :data:`KUBECONFIG_ENV`) or at its
tenant management cluster (:data:`MANAGEMENT_KUBECONFIG_ENV`), and a namespace of its own for each module,
deleted afterwards.

Every check runs ``kubectl`` as a user does (default validation, the server's table rendering, a discovery
cache of its own) and compares its output, exit code and error text with what kubectl prints against a
K3s v1.21.14 server.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

KUBECONFIG_ENV = "NAUTES_E2E_FIDELITY_KUBECONFIG"
MANAGEMENT_KUBECONFIG_ENV = "NAUTES_E2E_FIDELITY_MANAGEMENT_KUBECONFIG"
QUICKSTART_ENV = "NAUTES_E2E_FIDELITY_QUICKSTART"
COMMAND_TIMEOUT_S = 60.0


class Kubectl:
    """``kubectl --kubeconfig CONFIG --cache-dir CACHE ARGS`` with ``stdin``; never raises on failure."""

    def __init__(self, binary: str, config: Path, cache: Path) -> None:
        self.binary = binary
        self._prefix = [binary, "--kubeconfig", str(config), "--cache-dir", str(cache)]

    def __call__(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self._prefix, *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_S,
            check=False,
        )

    def start(self, *args: str) -> subprocess.Popen[str]:
        """``kubectl ARGS`` left running (``get -w``), its output read when it ends."""
        return subprocess.Popen(
            [*self._prefix, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    def ok(self, *args: str, stdin: str | None = None) -> str:
        """The command's standard output; fails the check with kubectl's own error otherwise."""
        result = self(*args, stdin=stdin)
        assert result.returncode == 0, f"kubectl {' '.join(args)} exited {result.returncode}: {result.stderr}"
        return result.stdout


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "fidelity: runs an upstream client's own tests against a standalone reference stack"
    )


@pytest.fixture(scope="session")
def kubectl(tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    binary = shutil.which("kubectl")
    if binary is None:
        pytest.skip("kubectl is not installed on this machine")
    return Kubectl(binary, Path(os.environ[KUBECONFIG_ENV]), tmp_path_factory.mktemp("kubectl-cache"))


@pytest.fixture(scope="session")
def management(kubectl: Kubectl, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    """kubectl on the tenant management cluster, where Nautes' CRs live (contract §3.5)."""
    config = Path(os.environ[MANAGEMENT_KUBECONFIG_ENV])
    return Kubectl(kubectl.binary, config, tmp_path_factory.mktemp("kubectl-management-cache"))


@pytest.fixture(scope="session")
def quickstart() -> Path:
    """The quickstart scenario's directory (its manifests are applied as the guide applies them)."""
    return Path(os.environ[QUICKSTART_ENV])


@pytest.fixture(scope="module")
def namespace(kubectl: Kubectl) -> Iterator[str]:
    """A fresh namespace for one module's checks."""
    name = f"kubectl-{secrets.token_hex(3)}"
    manifest = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    assert kubectl.ok("apply", "-f", "-", stdin=json.dumps(manifest)) == f"namespace/{name} created\n"
    yield name
    kubectl("delete", "namespace", name, "--wait=false")


def described_fields(text: str) -> dict[str, str]:
    """The top-level ``Key:  value`` lines of ``kubectl describe`` output (the alignment varies with the
    longest key, so checks compare keys and values, not columns)."""
    fields = {}
    for line in text.splitlines():
        if line[:1].strip() and ":" in line:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields
