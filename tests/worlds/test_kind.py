"""The kind commands and cluster config, exactly (kubernetes-sigs/kind v0.20.0)."""

from __future__ import annotations

import yaml

from nautes_e2e.worlds import kind
from nautes_e2e.worlds.settings import KIND_NODE_IMAGE, WorldSettings


def settings() -> WorldSettings:
    return WorldSettings(provider="kind", name="w2")


def test_the_node_image_is_the_v0_20_0_release_s_1_21_image_by_digest() -> None:
    assert KIND_NODE_IMAGE == (
        "kindest/node:v1.21.14@sha256:8a4e9bb3f415d2bb81629ce33ef9c76ba514c14d707f9797a01e3216376ba093"
    )
    assert settings().node_image == KIND_NODE_IMAGE


def test_create_is_the_exact_command_on_the_world_s_network() -> None:
    command = kind.create(settings(), "/w/kind-config.yaml", "/w/kubeconfig.yaml")

    assert command.env == {"KIND_EXPERIMENTAL_DOCKER_NETWORK": "w2-net"}
    assert list(command.argv) == [
        "kind", "create", "cluster",
        "--name", "w2",
        "--image", KIND_NODE_IMAGE,
        "--config", "/w/kind-config.yaml",
        "--kubeconfig", "/w/kubeconfig.yaml",
        "--wait", "300s",
    ]  # fmt: skip


def test_the_cluster_config_publishes_the_api_and_node_ports_on_the_gateway_with_its_sans() -> None:
    config = yaml.safe_load(kind.cluster_config(settings()))

    assert config["kind"] == "Cluster"
    assert config["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    assert config["name"] == "w2"
    assert config["networking"] == {"apiServerAddress": "10.213.213.1", "apiServerPort": 6550}
    [node] = config["nodes"]
    assert node["role"] == "control-plane"
    assert node["image"] == KIND_NODE_IMAGE
    assert node["extraPortMappings"] == [
        {"containerPort": 31443, "hostPort": 31443, "listenAddress": "10.213.213.1", "protocol": "TCP"},
        {"containerPort": 32000, "hostPort": 32000, "listenAddress": "10.213.213.1", "protocol": "TCP"},
    ]
    [patch] = node["kubeadmConfigPatches"]
    assert yaml.safe_load(patch) == {
        "kind": "ClusterConfiguration",
        "apiServer": {"certSANs": ["10.213.213.1", "w2-control-plane", "localhost", "127.0.0.1"]},
    }


def test_the_local_path_storage_class_uses_kind_s_own_provisioner() -> None:
    storage_class = yaml.safe_load(kind.LOCAL_PATH_STORAGE_CLASS)

    assert storage_class == {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": "local-path"},
        "provisioner": "rancher.io/local-path",
        "volumeBindingMode": "WaitForFirstConsumer",
        "reclaimPolicy": "Delete",
    }


def test_the_other_commands_are_exact() -> None:
    assert list(kind.list_clusters().argv) == ["kind", "get", "clusters"]
    assert list(kind.kubeconfig("w2").argv) == ["kind", "get", "kubeconfig", "--name", "w2"]
    assert kind.kubeconfig("w2").secret_output
    assert list(kind.delete("w2").argv) == ["kind", "delete", "cluster", "--name", "w2"]
    assert list(kind.version().argv) == ["kind", "version"]


def test_version_and_cluster_names_are_read_from_kind_s_output() -> None:
    assert kind.parse_version("kind v0.20.0 go1.20.4 linux/amd64\n") == "v0.20.0"
    assert kind.parse_version("kind version 0.20\n") is None
    assert kind.parse_cluster_names("w2\nother\n") == ["w2", "other"]
    assert kind.parse_cluster_names("") == []
