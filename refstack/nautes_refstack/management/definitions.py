"""What the tenant management cluster serves: Kubernetes' built-in resources, Argo CD's, and Nautes' CRDs.

The Nautes CRDs are the files of NAUTES v0.4.2 ``config/crd/bases/`` (13 kinds of group
``nautes.resource.nautes.io``, version ``v1alpha1``), vendored unchanged as package data (``crds/``, with
their licence and NOTICE): their schemas are what the apiserver validates custom resources against and what
``kubectl explain`` and client-side validation read, so they are the real ones rather than a derivation. The
tenant repository template installs the same files (TRT v0.4.2 ``nautes/base/crd/bases/``).

Argo CD v2.4.0 (INST ``nautes/roles/nautes/tasks/main.yml``: upstream ``install.yaml`` in the vcluster)
brings Application, AppProject and ApplicationSet; the tenant's own application (TRT ``tenant/runtime``)
installs cert-manager 1.8.0 (TRT ``cert-manager/base/cert-manager-1.8.0.yaml``: six CRDs, ``v1`` with a
status subresource each). Both are declared the way the runtime clusters declare their components' CRDs
(:mod:`nautes_refstack.kube.resources`: names, scopes, short names and categories as the manifests give
them, schemas that keep every field).
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml

from nautes_refstack.kube import ResourceType
from nautes_refstack.kube.resources import BUILTIN_TYPES, CUSTOM_TYPES
from nautes_refstack.yaml_loading import SAFE_LOADER

NAUTES_GROUP = "nautes.resource.nautes.io"
NAUTES_API_VERSION = f"{NAUTES_GROUP}/v1alpha1"
ARGO_CD_API_VERSION = "argoproj.io/v1alpha1"
_ARGO_CD_PLURALS = ("applications", "appprojects", "applicationsets")
_CERT_MANAGER = ("cert-manager",)
_ACME = ("cert-manager", "cert-manager-acme")
CERT_MANAGER_TYPES = (
    ResourceType(
        "cert-manager.io",
        "v1",
        "CertificateRequest",
        "certificaterequests",
        short_names=("cr", "crs"),
        categories=_CERT_MANAGER,
    ),
    ResourceType(
        "cert-manager.io",
        "v1",
        "Certificate",
        "certificates",
        short_names=("cert", "certs"),
        categories=_CERT_MANAGER,
    ),
    ResourceType("acme.cert-manager.io", "v1", "Challenge", "challenges", categories=_ACME),
    ResourceType(
        "cert-manager.io", "v1", "ClusterIssuer", "clusterissuers", namespaced=False, categories=_CERT_MANAGER
    ),
    ResourceType("cert-manager.io", "v1", "Issuer", "issuers", categories=_CERT_MANAGER),
    ResourceType("acme.cert-manager.io", "v1", "Order", "orders", categories=_ACME),
)
_CRD_FILES = "crds"


def management_resource_types() -> tuple[ResourceType, ...]:
    """The built-in resources, Argo CD's and cert-manager's (the Nautes ones come from their CRDs:
    :func:`nautes_crds`)."""
    argo_cd = tuple(rt for rt in CUSTOM_TYPES if rt.group == "argoproj.io" and rt.plural in _ARGO_CD_PLURALS)
    return BUILTIN_TYPES + argo_cd + CERT_MANAGER_TYPES


def nautes_crds() -> list[dict[str, Any]]:
    """The 13 Nautes CRDs as NAUTES v0.4.2 ships them, sorted by file name."""
    folder = resources.files(__package__).joinpath(_CRD_FILES)
    files = sorted(
        (entry for entry in folder.iterdir() if entry.name.endswith(".yaml")), key=lambda entry: entry.name
    )
    documents: list[dict[str, Any]] = []
    for entry in files:
        loaded = yaml.load_all(entry.read_text(), Loader=SAFE_LOADER)
        documents.extend(doc for doc in loaded if isinstance(doc, dict))
    return documents
