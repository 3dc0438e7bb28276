"""kubectl's generators send protobuf bodies: what the emulation stores is what kubectl meant to create
(the object ``--dry-run=client -o json`` prints), for every generator whose kind it reads."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from nautes_refstack.kube import protobuf_bodies
from nautes_refstack.kube.errors import KubeError
from support.kube import RunningKube, unique_name
from test_kube_kubectl import Kubectl, kubectl_for

pytestmark = [
    pytest.mark.kubectl,
    pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed on this machine"),
]


@pytest.fixture(scope="module")
def kubectl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kubectl]:
    with RunningKube(tls=True) as running:
        yield kubectl_for(running.kubeconfig(), tmp_path_factory.mktemp("kubectl-protobuf"))


def _missing(expected: object, stored: object, path: str = "") -> list[str]:
    """Where ``stored`` lacks or differs from what ``expected`` sets (the server may add defaults)."""
    if isinstance(expected, dict) and isinstance(stored, dict):
        return [
            gap
            for key, value in expected.items()
            for gap in _missing(value, stored.get(key), f"{path}.{key}")
        ]
    if isinstance(expected, list) and isinstance(stored, list) and len(expected) == len(stored):
        return [
            gap
            for i, (e, s) in enumerate(zip(expected, stored, strict=True))
            for gap in _missing(e, s, f"{path}[{i}]")
        ]
    unset = expected is None or (expected == {} and stored is None)  # null: the server fills it in
    return [] if expected == stored or unset else [f"{path}: {stored!r}"]


@pytest.mark.parametrize(
    "generator",
    [
        ["create", "configmap", "settings", "--from-literal=color=blue", "--from-literal=size=3"],
        ["create", "secret", "generic", "credentials", "--from-literal=user=robot"],
        ["create", "serviceaccount", "robot"],
        ["create", "deployment", "web", "--image=nginx:1.21", "--port=8080", "--replicas=0"],
        ["create", "role", "reader", "--verb=get,list", "--resource=pods,configmaps"],
        ["create", "rolebinding", "reads", "--role=reader", "--serviceaccount=other:robot", "--user=alice"],
        ["create", "service", "clusterip", "web", "--tcp=80:8080", "--tcp=443:https"],
        ["create", "service", "nodeport", "edge", "--tcp=80:8080", "--node-port=30080"],
    ],
)
def test_a_generator_creates_what_it_prints(kubectl: Kubectl, tmp_path: Path, generator: list[str]) -> None:
    namespace = unique_name("pb")
    assert kubectl("create", "namespace", namespace).returncode == 0
    intended = kubectl(*generator, "-n", namespace, "--dry-run=client", "-o", "json")
    assert intended.returncode == 0, intended.stderr
    created = kubectl(*generator, "-n", namespace, "-o", "json")
    assert created.returncode == 0, created.stderr
    expected = json.loads(intended.stdout)
    expected["metadata"]["namespace"] = namespace
    expected.pop("status", None)
    assert _missing(expected, json.loads(created.stdout)) == []


def test_a_token_request(kubectl: Kubectl) -> None:
    namespace = unique_name("pb")
    assert kubectl("create", "namespace", namespace).returncode == 0
    assert kubectl("create", "serviceaccount", "robot", "-n", namespace).returncode == 0
    token = kubectl("create", "token", "robot", "-n", namespace, "--duration=10m")
    assert token.returncode == 0, token.stderr
    assert token.stdout.count(".") == 2


def test_other_kinds_and_bad_bodies_are_refused() -> None:
    with pytest.raises(protobuf_bodies.UnreadableKind):
        protobuf_bodies.decode(protobuf_bodies.MAGIC + b"\x0a\x0e\x0a\x02v1\x12\x08Endpoint")
    with pytest.raises(KubeError, match="missing the k8s"):
        protobuf_bodies.decode(b"{}")
    # ConfigMap with field 9 set: not a field this server knows
    body = protobuf_bodies.MAGIC + b"\x0a\x0f\x0a\x02v1\x12\x09ConfigMap\x12\x02\x48\x01"
    with pytest.raises(KubeError, match="field 9 of ConfigMap"):
        protobuf_bodies.decode(body)
