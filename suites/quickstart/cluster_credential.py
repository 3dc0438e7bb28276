"""The kubeconfig Nautes keeps for a registered cluster works: it reaches the registered API server and is
let in.

A physical cluster's save stores the kubeconfig in Vault at ``cluster/data/kubernetes/<cluster>/default/
admin`` (contract §3.4), first pointing its first cluster at the registered ``api_server`` and rewriting it
through kops' ``KubectlConfig``, which keeps only the fields it knows (NAUTES ``ClusterUsecase.
ConvertKubeconfig``). The operators reach the runtime cluster with it; a credential lost on the way only
shows when the runtime never appears. Here it is used once, as they would use it: an authenticated read
(``GET /api/v1/namespaces/default``; ``/version`` would not do, anonymous users may read it).

The kubeconfig is a secret: it lives in a 0600 file of a 0700 temporary directory for the request only,
and only the server and the API server's answer are ever shown.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import yaml
from kubernetes.config.config_exception import ConfigException

from nautes_e2e.clients import KubeClient, KubeError, ServiceUnreachable
from nautes_e2e.suite import Secret
from nautes_e2e.yamlfile import parse_yaml
from suites.quickstart.probes import CORE


def kubeconfig_path(cluster: str) -> str:
    """Where Nautes keeps a physical cluster's kubeconfig in the ``cluster`` KV engine (contract §3.4)."""
    return f"kubernetes/{cluster}/default/admin"


def stored_kubeconfig_problem(kubeconfig: Secret, cluster: str, api_server: str) -> str | None:
    """Why ``kubeconfig``, the one Vault keeps for ``cluster``, does not work against ``api_server`` (None
    when it does)."""
    where = f"the kubeconfig of cluster {cluster} in Vault (cluster/data/{kubeconfig_path(cluster)})"
    server = _current_server(kubeconfig)
    if server != api_server:
        return f"{where} points at {server!r}, not at the registered API server {api_server}"
    with tempfile.TemporaryDirectory(prefix="nautes-e2e-kubeconfig-") as scratch:
        path = Path(scratch) / "kubeconfig"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(kubeconfig.reveal())
        try:
            KubeClient(path).get(CORE, "Namespace", "default")
        except KubeError as refused:
            return f"{where} does not work against {server}: {refused.status} {refused.reason}".rstrip()
        except ServiceUnreachable as unreachable:
            return f"{where} does not reach {server}: {unreachable}"
        except ConfigException as unusable:  # the kubernetes client refuses a kubeconfig it cannot use
            return f"{where} cannot be used: {type(unusable).__name__}"
    return None


def _current_server(kubeconfig: Secret) -> str | None:
    """The server of the current context's cluster (the first cluster when there is no current context)."""
    try:
        document: Any = parse_yaml(kubeconfig.reveal())
    except yaml.YAMLError:
        return None
    if not isinstance(document, dict):
        return None
    contexts = {c.get("name"): c.get("context") or {} for c in document.get("contexts") or []}
    clusters = {c.get("name"): c.get("cluster") or {} for c in document.get("clusters") or []}
    wanted = contexts.get(document.get("current-context"), {}).get("cluster")
    cluster = clusters.get(wanted) or next(iter(clusters.values()), {})
    server = cluster.get("server")
    return str(server) if server else None
