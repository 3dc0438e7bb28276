"""kubectl's generators (``kubectl create namespace/configmap/secret/serviceaccount/deployment/role/token``),
which send protobuf bodies, as against K3s v1.21.14."""

from __future__ import annotations

import base64
import json
import secrets

import pytest

from tests.fidelity.kubectl.checks.kubectl_stack import Kubectl

pytestmark = pytest.mark.fidelity


def test_create_and_delete_a_namespace(kubectl: Kubectl) -> None:
    name = f"kubectl-gen-{secrets.token_hex(3)}"
    assert kubectl.ok("create", "namespace", name) == f"namespace/{name} created\n"
    taken = kubectl("create", "namespace", name)
    assert taken.returncode == 1
    assert taken.stderr.strip() == f'Error from server (AlreadyExists): namespaces "{name}" already exists'
    assert kubectl.ok("delete", "namespace", name) == f'namespace "{name}" deleted\n'


def test_create_a_config_map_from_literals(kubectl: Kubectl, namespace: str) -> None:
    created = kubectl.ok(
        "create", "configmap", "literal", "-n", namespace, "--from-literal=a=1", "--from-literal=b=2"
    )
    assert created == "configmap/literal created\n"
    assert (
        kubectl.ok("get", "configmap", "literal", "-n", namespace, "-o", "jsonpath={.data}")
        == '{"a":"1","b":"2"}'
    )


def test_create_a_generic_secret(kubectl: Kubectl, namespace: str) -> None:
    created = kubectl.ok("create", "secret", "generic", "token", "-n", namespace, "--from-literal=key=s3cr3t")
    assert created == "secret/token created\n"
    secret = json.loads(kubectl.ok("get", "secret", "token", "-n", namespace, "-o", "json"))
    assert secret["type"] == "Opaque"
    assert base64.b64decode(secret["data"]["key"]) == b"s3cr3t"


def test_create_a_deployment(kubectl: Kubectl, namespace: str) -> None:
    created = kubectl.ok("create", "deployment", "web", "-n", namespace, "--image=nginx:1.21", "--replicas=2")
    assert created == "deployment.apps/web created\n"
    spec = json.loads(kubectl.ok("get", "deployment", "web", "-n", namespace, "-o", "jsonpath={.spec}"))
    assert spec["replicas"] == 2
    assert spec["selector"] == {"matchLabels": {"app": "web"}}
    assert spec["template"]["spec"]["containers"][0]["image"] == "nginx:1.21"


def test_create_a_role_and_its_binding(kubectl: Kubectl, namespace: str) -> None:
    role = kubectl.ok("create", "role", "reader", "-n", namespace, "--verb=get,list", "--resource=pods")
    assert role == "role.rbac.authorization.k8s.io/reader created\n"
    binding = kubectl.ok(
        "create",
        "rolebinding",
        "reads",
        "-n",
        namespace,
        "--role=reader",
        f"--serviceaccount={namespace}:default",
    )
    assert binding == "rolebinding.rbac.authorization.k8s.io/reads created\n"
    lines = kubectl.ok("get", "rolebinding", "reads", "-n", namespace, "-o", "wide").splitlines()
    assert lines[0].split() == ["NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"]
    assert lines[1].split()[:2] == ["reads", "Role/reader"]
    assert lines[1].split()[-1] == f"{namespace}/default"


def test_create_a_service_account_token(kubectl: Kubectl, namespace: str) -> None:
    assert (
        kubectl.ok("create", "serviceaccount", "robot", "-n", namespace) == "serviceaccount/robot created\n"
    )
    token = kubectl.ok("create", "token", "robot", "-n", namespace, "--duration=10m").strip()
    looks_like_a_jwt = token.count(".") == 2 and token.startswith("eyJ")
    assert looks_like_a_jwt, "kubectl create token printed no JWT"
    missing = kubectl("create", "token", "nobody", "-n", namespace)
    assert missing.returncode == 1
    assert missing.stderr.strip() == 'error: failed to create token: serviceaccounts "nobody" not found'


def test_expose_a_deployment(kubectl: Kubectl, namespace: str) -> None:
    kubectl.ok("create", "deployment", "exposed", "-n", namespace, "--image=nginx:1.21")
    exposed = kubectl.ok(
        "expose", "deployment", "exposed", "-n", namespace, "--port=80", "--target-port=8080"
    )
    assert exposed == "service/exposed exposed\n"
    lines = kubectl.ok("get", "service", "exposed", "-n", namespace, "-o", "wide").splitlines()
    name, kind, cluster_ip, external_ip, ports, _age, selector = lines[1].split()
    assert (name, kind, external_ip, ports, selector) == (
        "exposed",
        "ClusterIP",
        "<none>",
        "80/TCP",
        "app=exposed",
    )
    assert cluster_ip.startswith("10.43.")


def test_scale_a_deployment(kubectl: Kubectl, namespace: str) -> None:
    kubectl.ok("create", "deployment", "scaled", "-n", namespace, "--image=nginx:1.21")
    assert kubectl.ok("scale", "deployment", "scaled", "-n", namespace, "--replicas=3") == (
        "deployment.apps/scaled scaled\n"
    )
    lines = kubectl.ok("get", "deployment", "scaled", "-n", namespace).splitlines()
    assert lines[1].split()[:2] == ["scaled", "0/3"]
    refused = kubectl(
        "scale", "deployment", "scaled", "-n", namespace, "--replicas=1", "--current-replicas=2"
    )
    assert refused.returncode == 1
    assert refused.stderr.strip() == "error: Expected replicas to be 2, was 3"
