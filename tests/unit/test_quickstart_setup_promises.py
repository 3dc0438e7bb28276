"""The setup stages' promise checks, on their own: what a read-back must echo of what was sent, what makes a
deploy key the one GitLab has with the right push permission, which blob ids a pushed tree must have, and
what makes the source repository's hook the event source's.
The fault matrix proves each against the reference stack; these pin the rules themselves, including the
halves no realistic fault reaches (a pushed tree that lacks a file, a key that is not a key)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any, cast

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from nautes_e2e.clients import Document
from nautes_e2e.suite import GitLabClient, KubeClient, Secret, StageContext
from suites.quickstart import deploykeys, readback, served, webhook
from suites.quickstart.deploykeys import VaultDeployKey

BINDING = Document(
    "CodeRepoBinding",
    {
        "productName": "demo",
        "name": "bind",
        "coderepo": "deploy",
        "product": "ignored",
        "projects": ["p"],
        "permissions": "readwrite",
    },
    "pipeline.yaml#1",
)


def _differences(document: Document, reply: dict[str, Any]) -> list[str]:
    return list(readback._differences(readback.expected_reply(document), reply, ()))


def test_a_binding_reads_back_with_the_url_product_and_its_fields() -> None:
    reply = {
        "product": "demo",
        "name": "bind",
        "projects": ["p"],
        "permissions": "readwrite",
        "coderepo": "deploy",
    }
    assert _differences(BINDING, reply) == []
    changed = _differences(BINDING, {**reply, "permissions": "readonly"})
    assert changed == ['permissions: sent "readwrite", Nautes returns "readonly"']


def test_unset_and_empty_are_one_value_but_a_shorter_list_is_not() -> None:
    document = Document("Project", {"name": "p", "product": "demo", "language": ""}, "product.yaml#2")
    assert _differences(document, {"product": "demo", "name": "p"}) == []
    binding_reply = {
        "product": "demo",
        "name": "bind",
        "projects": [],
        "permissions": "readwrite",
        "coderepo": "deploy",
    }
    assert _differences(BINDING, binding_reply) == ['projects: sent ["p"], Nautes returns []']


def test_a_cluster_reply_need_not_echo_the_kubeconfig() -> None:
    cluster = Document(
        "Cluster",
        {"name": "c", "apiServer": "https://1.2.3.4:6443", "kubeconfig": "secret", "usage": "worker"},
        "cluster.yaml#1",
    )
    expected = readback.expected_reply(cluster)
    assert "kubeconfig" not in expected
    assert "vcluster" not in expected
    assert (expected["name"], expected["api_server"]) == ("c", "https://1.2.3.4:6443")


def _key_pair() -> tuple[Secret, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return Secret(private.decode()), public.decode()


def test_the_public_half_is_derived_from_openssh_and_pem_private_keys() -> None:
    private, public = _key_pair()
    assert deploykeys.public_half(private) == public
    key = serialization.load_ssh_private_key(private.reveal().encode(), None)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    assert deploykeys.public_half(Secret(pem.decode())) == public
    assert deploykeys.public_half(Secret("not a key")) is None


def _keys(public: str) -> tuple[list[VaultDeployKey], dict[str, list[dict[str, Any]]]]:
    keys = [
        VaultDeployKey("sc", "readonly", "git/data/gitlab/repo-1/default/readonly", 11, public),
        VaultDeployKey("sc", "readwrite", "git/data/gitlab/repo-1/default/readwrite", 12, public),
    ]
    gitlab = {
        "sc": [
            {"id": 11, "title": "repo-1-readonly", "key": f"{public} repo-1-readonly", "can_push": False},
            {"id": 12, "title": "repo-1-readwrite", "key": f"{public} repo-1-readwrite", "can_push": True},
        ],
        "deploy": [{"id": 12, "title": "repo-1-readwrite", "key": public, "can_push": True}],
    }
    return keys, gitlab


SOURCE = Document(
    "CodeRepo", {"name": "sc", "project": "p", "git": {"gitlab": {"path": "sc"}}}, "product.yaml#3"
)


def test_keys_known_to_gitlab_with_their_push_permission_pass() -> None:
    keys, gitlab = _keys(_key_pair()[1])
    assert deploykeys.deploy_key_problems(keys, gitlab, [SOURCE, BINDING]) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda g, other: g["sc"][0].update(can_push=True),
            "has can_push=True, a readonly key must not push",
        ),
        (lambda g, other: g["sc"][1].update(key=other), "is not the key GitLab has as repo-1-readwrite"),
        (lambda g, other: g["sc"].pop(0), "names GitLab key 11, which is not a deploy key of sc"),
        (lambda g, other: g["deploy"].clear(), "readwrite key (id 12) is not enabled on deploy"),
        (lambda g, other: g["deploy"][0].update(can_push=False), "enabled there with can_push=False"),
    ],
)
def test_each_broken_key_promise_is_named(change: Any, expected: str) -> None:
    keys, gitlab = _keys(_key_pair()[1])
    change(gitlab, _key_pair()[1])
    problems = deploykeys.deploy_key_problems(keys, gitlab, [SOURCE, BINDING])
    assert any(expected in problem for problem in problems), problems


def test_a_vault_key_that_is_not_a_key_is_named() -> None:
    keys, gitlab = _keys(_key_pair()[1])
    broken = [VaultDeployKey("sc", "readonly", keys[0].path, 11, None), keys[1]]
    problems = deploykeys.deploy_key_problems(broken, gitlab, [])
    assert problems == [f"the readonly deploy key of sc ({keys[0].path}) is not a valid SSH private key"]


def test_blob_ids_are_gits(tmp_path: Path) -> None:
    content = b"apiVersion: v1\nkind: Service\n"
    (tmp_path / "f").write_bytes(content)
    git = subprocess.run(
        ["git", "hash-object", str(tmp_path / "f")], capture_output=True, text=True, check=True
    )
    assert served.git_blob_id(content) == git.stdout.strip()


class ServingGitLab:
    def __init__(self, head: str, blobs: dict[str, str]) -> None:
        self.head, self.blobs = head, blobs

    def branch_head(self, project: str, branch: str) -> str:
        return self.head

    def tree_blobs(self, project: str, ref: str) -> dict[str, str]:
        return self.blobs


class FailingStage:
    def fail(self, diagnosis: str) -> None:
        raise AssertionError(diagnosis)


@pytest.mark.parametrize(
    ("blobs", "expected"),
    [
        ({}, "lacks ['a.yaml']"),
        (
            {"a.yaml": served.git_blob_id(b"a"), "README.md": "0" * 40},
            "holds files not pushed: ['README.md']",
        ),
        ({"a.yaml": served.git_blob_id(b"b")}, "changed ['a.yaml']"),
    ],
)
def test_a_served_tree_must_hold_exactly_the_pushed_files(blobs: dict[str, str], expected: str) -> None:
    pushed = {"a.yaml": b"a"}
    stage, good = (
        cast(StageContext, FailingStage()),
        ServingGitLab("c0ffee", {"a.yaml": served.git_blob_id(b"a")}),
    )
    served.verify_served(stage, cast(GitLabClient, good), "g/p", "main", "c0ffee", pushed)
    with pytest.raises(AssertionError, match=re.escape(expected)):
        served.verify_served(
            stage, cast(GitLabClient, ServingGitLab("c0ffee", blobs)), "g/p", "main", "c0ffee", pushed
        )


ENTRY_SOURCE = {
    "spec": {
        "gitlab": {
            "repo-3": {
                "webhook": {"url": "https://webhook.c.example:30443/", "endpoint": "/product-2-pr/repo-3"},
                "events": ["PushEvents"],
                "enableSSLVerification": False,
                "secretToken": {"name": "product-2-pr-repo-3-secret-token", "key": "token"},
            }
        }
    }
}
HOOK_URL = "https://webhook.c.example:30443/product-2-pr/repo-3"


class HookWorld:
    """GitLab's hooks of the source repository and what the runtime cluster holds in ``argo-events``."""

    def __init__(self, hook: dict[str, Any], secret: dict[str, Any] | None) -> None:
        self.hook, self.secret = hook, secret

    def project_hooks(self, project: str) -> list[dict[str, Any]]:
        return [self.hook]

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Any:
        return ENTRY_SOURCE if kind == "EventSource" else self.secret


def _hook_problems(hook: dict[str, Any], secret: dict[str, Any] | None) -> list[str]:
    world = HookWorld(hook, secret)
    entry = webhook.event_source_entry(cast(KubeClient, world), "product-2-pr", 3)
    assert entry is not None
    assert entry.url == HOOK_URL
    return webhook.hook_problems(cast(GitLabClient, world), cast(KubeClient, world), "g/sc", entry)


GOOD_HOOK = {"url": HOOK_URL, "push_events": True, "enable_ssl_verification": False}
TOKEN_SECRET = {"data": {"token": "dXVpZA=="}}


@pytest.mark.parametrize(
    ("hook", "secret", "expected"),
    [
        (GOOD_HOOK, TOKEN_SECRET, None),
        ({**GOOD_HOOK, "push_events": False}, TOKEN_SECRET, "exists but does not listen to push events"),
        ({**GOOD_HOOK, "enable_ssl_verification": True}, TOKEN_SECRET, "has enable_ssl_verification=True"),
        (
            GOOD_HOOK,
            None,
            "product-2-pr-repo-3-secret-token of EventSource product-2-pr-gitlab does not exist",
        ),
        (GOOD_HOOK, {"data": {}}, "has no token"),
    ],
)
def test_the_source_hook_must_be_as_the_event_source_registers_it(
    hook: dict[str, Any], secret: dict[str, Any] | None, expected: str | None
) -> None:
    problems = _hook_problems(hook, secret)
    if expected is None:
        assert problems == []
    else:
        assert any(expected in problem for problem in problems), problems
