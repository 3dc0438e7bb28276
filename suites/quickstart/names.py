"""The names of everything the quickstart creates, read from the scenario's own documents.

Reading them from the rendered documents (rather than re-deriving ``demo-<suffix>`` here) keeps one source
of truth: change a template and the stages look for what it now creates.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from nautes_e2e.clients import Document, RegistryEndpoint
from nautes_e2e.scenario import ScenarioError

#: A Kubernetes namespace name (RFC 1123 label).
NAMESPACE_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


#: Where the kaniko task finds the registry's CA: the ``registry-auth`` ConfigMap (the ``dockerconfig``
#: workspace) is mounted at /kaniko/.docker (tekton catalog task/kaniko/0.6/kaniko.yaml).
REGISTRY_CA_KEY = "ca.crt"
KANIKO_REGISTRY_CA = f"/kaniko/.docker/{REGISTRY_CA_KEY}"
#: kaniko's default log level: the flag that changes nothing, for a registry that needs none (a template
#: value cannot be empty, and EXTRA_ARGS is a list).
KANIKO_NO_OP_FLAG = "--verbosity=info"


def registry_values(registry: RegistryEndpoint) -> dict[str, str]:
    """The template values that point the pipeline's image-build task at ``registry``.

    ``registry-url`` is the guide's ``host[:port][/path]``; ``kaniko-extra-args`` is the inside of the
    kaniko task's EXTRA_ARGS list (JSON strings): for an insecure registry ``--insecure`` (plain HTTP) and
    ``--skip-tls-verify`` (any certificate); for a private CA ``--registry-certificate=<host>=<file>``,
    which kaniko adds to its system CAs for that registry (kaniko README "Additional Flags";
    pkg/util/transport_util.go ``MakeTransport``).
    """
    if registry.insecure:
        flags = ["--insecure", "--skip-tls-verify"]
    elif registry.ca_pems:
        flags = [f"--registry-certificate={registry.host}={KANIKO_REGISTRY_CA}"]
    else:
        flags = [KANIKO_NO_OP_FLAG]
    return {"registry-url": registry.image_prefix, "kaniko-extra-args": ", ".join(map(json.dumps, flags))}


class ScenarioShapeError(ScenarioError):
    """The scenario lacks a document the quickstart stages rely on, or names one that Kubernetes refuses: a
    configuration error (exit 4), like any other wrong scenario."""


@dataclass(frozen=True)
class QuickstartNames:
    product: str
    cluster: str  # the worker the pipeline runs on (physical, or virtual): the Environment's cluster
    code_repos: tuple[str, ...]
    source_repo: str  # the pipeline runtime's pipelineSource (and event source) repository
    deploy_repo: str  # the repository the CodeRepoBinding grants the project read-write access to
    pipeline_runtime: str
    runtime_namespace: str  # destination.namespace, else the runtime's name (contract §4)
    pipeline_triggers: int  # the runtime's pipelineTriggers: one Sensor each (contract §4.3)
    image_repository: str = "devops-sample"
    host_cluster: str = ""  # the host a virtual worker runs in; empty for a physical worker

    @classmethod
    def from_documents(cls, documents: Sequence[Document]) -> QuickstartNames:
        def only(kind: str) -> Document:
            found = [document for document in documents if document.kind == kind]
            if len(found) != 1:
                raise ScenarioShapeError(
                    f"the quickstart needs exactly one {kind}, the scenario has {len(found)}"
                )
            return found[0]

        clusters = [d for d in documents if d.kind == "Cluster"]
        workers = [d for d in clusters if d.spec.get("usage") == "worker"]
        if len(workers) != 1:
            raise ScenarioShapeError(
                f"the quickstart registers exactly one worker Cluster, the scenario has {len(workers)}"
            )
        worker = workers[0]
        environment_cluster = only("Environment").spec.get("cluster")
        if environment_cluster != worker.name:
            raise ScenarioShapeError(
                f"the Environment's cluster is {environment_cluster!r}, not the worker the scenario "
                f"registers ({worker.name!r}): the pipeline would run on another cluster"
            )
        host = str(worker.spec.get("hostCluster") or "")
        if host and host not in {d.name for d in clusters}:
            raise ScenarioShapeError(
                f"the virtual Cluster {worker.name} is hosted by {host!r}, which the scenario does not "
                "register"
            )
        runtime = only("ProjectPipelineRuntime").spec
        namespace = (runtime.get("destination") or {}).get("namespace") or runtime["name"]
        if not NAMESPACE_NAME.fullmatch(namespace):
            raise ScenarioShapeError(
                f"the pipeline runtime's namespace {namespace!r} is no Kubernetes namespace name (lowercase "
                "letters, digits and inner dashes, at most 63 characters): choose a shorter --suffix"
            )
        return cls(
            product=only("Product").spec["name"],
            cluster=worker.name,
            host_cluster=host,
            code_repos=tuple(d.spec["name"] for d in documents if d.kind == "CodeRepo"),
            source_repo=runtime["pipelineSource"],
            deploy_repo=only("CodeRepoBinding").spec["coderepo"],
            pipeline_runtime=runtime["name"],
            runtime_namespace=namespace,
            pipeline_triggers=len(runtime.get("pipelineTriggers") or ()),
        )
