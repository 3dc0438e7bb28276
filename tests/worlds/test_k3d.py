"""The k3d commands, exactly (k3d-io/k3d v5.8.3 flags), and the parsers of what k3d prints."""

from __future__ import annotations

import json

from nautes_e2e.secrets import redact
from nautes_e2e.worlds import k3d
from nautes_e2e.worlds.settings import WorldSettings


def settings() -> WorldSettings:
    return WorldSettings(provider="k3d", name="w1")


def test_create_is_the_exact_command() -> None:
    command = k3d.create(settings())

    assert command.env == {}
    assert list(command.argv) == [
        "k3d", "cluster", "create", "w1",
        "--image", "rancher/k3s:v1.21.14-k3s1",
        "--network", "w1-net",
        "--servers", "1",
        "--agents", "0",
        "--no-lb",
        "--no-image-volume",
        "--api-port", "10.213.213.1:6550",
        "--port", "10.213.213.1:31443:31443@server:0",
        "--port", "10.213.213.1:32000:32000@server:0",
        "--k3s-arg", "--disable=traefik@server:0",
        "--k3s-arg", "--disable=servicelb@server:0",
        "--k3s-arg", "--disable=metrics-server@server:0",
        "--k3s-arg", "--tls-san=10.213.213.1@server:0",
        "--k3s-arg", "--tls-san=k3d-w1-server-0@server:0",
        "--runtime-label", "io.nautes-e2e.owner=nautes-e2e@server:0",
        "--runtime-label", "io.nautes-e2e.world=w1@server:0",
        "--runtime-label", "io.nautes-e2e.component=cluster@server:0",
        "--kubeconfig-update-default=false",
        "--kubeconfig-switch-context=false",
        "--wait",
        "--timeout", "300s",
    ]  # fmt: skip


def test_the_other_commands_are_exact_and_only_the_kubeconfig_is_secret() -> None:
    assert list(k3d.list_clusters().argv) == ["k3d", "cluster", "list", "-o", "json"]
    assert list(k3d.kubeconfig("w1").argv) == ["k3d", "kubeconfig", "get", "w1"]
    assert list(k3d.delete("w1").argv) == ["k3d", "cluster", "delete", "w1"]
    assert list(k3d.version().argv) == ["k3d", "version"]
    assert k3d.kubeconfig("w1").secret_output
    assert not any(c.secret_output for c in (k3d.list_clusters(), k3d.delete("w1"), k3d.create(settings())))


def test_the_tools_image_is_tagged_with_the_cli_version_without_its_v() -> None:
    assert k3d.tools_image("v5.8.3") == "ghcr.io/k3d-io/k3d-tools:5.8.3"


def test_version_is_read_from_k3d_version() -> None:
    output = "k3d version v5.8.3\nk3s version v1.31.5-k3s1 (default)\n"
    assert k3d.parse_version(output) == "v5.8.3"
    assert k3d.parse_version("k3s version v1.31.5-k3s1 (default)\n") is None


def test_cluster_names_are_read_and_join_tokens_become_secrets() -> None:
    token = "K10-cluster-join-token-4f0e7d1c"
    output = json.dumps(
        [
            {"name": "w1", "clusterToken": token, "serversCount": 1, "nodes": []},
            {"name": "other", "serversRunning": 1},
        ]
    )

    assert k3d.parse_cluster_names(output) == ["w1", "other"]
    assert token not in redact(f"listing said {token}")
    assert k3d.parse_cluster_names("[]") == []
    assert k3d.parse_cluster_names("") == []
