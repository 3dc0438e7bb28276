"""Kubeconfig files for the emulated API servers."""

from __future__ import annotations

import base64

import yaml


def kubeconfig_yaml(server_url: str, token: str, cluster_name: str, ca_pem: str | None = None) -> str:
    """A kubeconfig whose cluster, user and (current) context are all named ``cluster_name``.

    ``ca_pem`` is the CA of an ``https`` server (:attr:`KubeApiServer.ca_pem`); a plain-HTTP server on
    loopback has no certificate data. Note that kubectl sends ``token`` only to ``https`` servers.
    """
    cluster: dict[str, str] = {"server": server_url}
    if ca_pem is not None:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem.encode("ascii")).decode("ascii")
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster_name, "cluster": cluster}],
        "users": [{"name": cluster_name, "user": {"token": token}}],
        "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
        "current-context": cluster_name,
        "preferences": {},
    }
    return yaml.safe_dump(config, sort_keys=False)
