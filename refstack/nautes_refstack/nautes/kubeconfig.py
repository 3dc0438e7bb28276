"""The kubeconfig a physical cluster registration stores in Vault (``ClusterUsecase.ConvertKubeconfig``).

The real server reads the kubeconfig into kops' ``KubectlConfig`` (which knows only clusters, contexts,
users and a few credential fields), points the first cluster at the registered ``api_server`` and writes
it back with sigs.k8s.io/yaml; fields outside that struct are dropped on the way.
"""

from __future__ import annotations

from typing import Any

import yaml

from nautes_refstack.nautes import errors, goyaml
from nautes_refstack.nautes.gostruct import STRING, GoPtr, GoSlice, canonical, field, struct

KUBECTL_CONFIG = struct(
    field("kind", STRING),
    field("apiVersion", STRING),
    field("current-context", STRING),
    field(
        "clusters",
        GoSlice(
            GoPtr(
                struct(
                    field("name", STRING),
                    field(
                        "cluster",
                        struct(
                            field("server", STRING, omitempty=True),
                            field("certificate-authority-data", STRING, omitempty=True),
                        ),
                    ),
                )
            )
        ),
    ),
    field(
        "contexts",
        GoSlice(
            GoPtr(
                struct(
                    field("name", STRING),
                    field("context", struct(field("cluster", STRING), field("user", STRING))),
                )
            )
        ),
    ),
    field(
        "users",
        GoSlice(
            GoPtr(
                struct(
                    field("name", STRING),
                    field(
                        "user",
                        struct(
                            field("client-certificate-data", STRING, omitempty=True),
                            field("client-key-data", STRING, omitempty=True),
                            field("password", STRING, omitempty=True),
                            field("username", STRING, omitempty=True),
                            field("token", STRING, omitempty=True),
                        ),
                    ),
                )
            )
        ),
    ),
)


def normalise_kubeconfig(text: str, api_server: str) -> str:
    """The kubeconfig as stored in Vault; raises plain errors with the real server's texts."""
    if not text:
        raise errors.plain("register physical cluster, kubeconfig is not empty")
    try:
        document: Any = yaml.safe_load(text)
    except yaml.YAMLError as failure:
        raise errors.plain(f"error converting YAML to JSON: yaml: {failure}") from None
    if not isinstance(document, dict):
        raise errors.plain("json: cannot unmarshal string into Go value of type kubeconfig.KubectlConfig")
    clusters = document.get("clusters") if isinstance(document.get("clusters"), list) else []
    users = document.get("users") if isinstance(document.get("users"), list) else []
    if not clusters:
        raise errors.plain("invalid kubeconfig file: must have at least one cluster")
    if not users:
        raise errors.plain("invalid kubeconfig file: must have at least one user")
    first = clusters[0] if isinstance(clusters[0], dict) else {}
    first["cluster"] = {**(first.get("cluster") or {}), "server": api_server}
    clusters[0] = first
    return goyaml.dump(canonical(KUBECTL_CONFIG, document))
