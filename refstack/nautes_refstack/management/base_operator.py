"""The base operator on the tenant management cluster: a Product CR per GitLab group with a
``default.project``, and what its product controller derives from each (NAUTES v0.4.2 ``app/base-operator``).

* The product-provider syncer (``internal/syncer/productprovider/client.go`` ``Sync``, with
  ``internal/coderepo/gitlab/gitlab.go`` ``GetProducts``): Product ``product-<groupID>`` in the provider's
  namespace (``nautes``), labelled ``resource.nautes.io/from: <provider>``, ``spec.name`` the group path,
  ``spec.metaDataPath`` the SSH URL of ``default.project``; deleted when the project is gone.
* The product controller (``controllers/product_controller.go``, ``internal/syncer/product/client.go``): the
  finalizer ``product.base-operator.nautes.resource.nautes.io/finalizers``; AppProject ``nautes`` in
  ``argocd``; Namespace ``product-<groupID>`` labelled ``resource.nautes.io/reference: product-<groupID>``;
  CodeRepo ``repo-<default.project id>`` in ``nautes`` owned by the Product; Application
  ``product-<groupID>`` syncing path ``production`` into that namespace; condition ``ProductReady``. On
  deletion it deletes the Application and the Namespace (everything synced into it goes with it), then lets
  go of the Product, and the garbage collector takes the CodeRepo.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from nautes_refstack.kube import ObjectStore
from nautes_refstack.management.argocd_apply import ARGO_CD_NAMESPACE, application
from nautes_refstack.management.definitions import ARGO_CD_API_VERSION, NAUTES_API_VERSION
from nautes_refstack.runtime.kube_apply import apply, delete_if_present, get_or_none

JsonObject = dict[str, Any]

NAUTES_NAMESPACE = "nautes"
PRODUCT_FINALIZER = "product.base-operator.nautes.resource.nautes.io/finalizers"
LABEL_FROM_PRODUCT = "resource.nautes.io/reference"
LABEL_FROM_PRODUCT_PROVIDER = "resource.nautes.io/from"
#: TRT v0.4.2 ``nautes/overlays/production/product-provider/provider.yaml``.
PRODUCT_PROVIDER = "productprovider"
#: The CodeRepoProvider that provider names (``spec.name``), the one the installer creates (TRT
#: ``nautes/overlays/production/code-repo-providers/provider.yaml``, :mod:`nautes_refstack.bootstrap`).
CODE_REPO_PROVIDER = "gitlab-nautes"
#: ``nautesProject`` in ``syncer/product/client.go``: the AppProject of every product application.
ARGO_CD_PROJECT = "nautes"
#: ``deploy.argocd.kustomize.defaultPath.defaultProject`` (NAUTES ``pkg/nautesconfigs``): ``production``.
PRODUCT_PATH = "production"
DEFAULT_PRODUCT_NAME = "default.project"


def product_name(group_id: int) -> str:
    return f"product-{group_id}"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class BaseOperator:
    """Products in, their namespace, CodeRepo and Argo CD application out (see the module docstring)."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    def products(self) -> dict[str, str]:
        """Group path -> Product name, for every Product the provider syncer created."""
        listed = self._store.list(
            NAUTES_API_VERSION,
            "Product",
            NAUTES_NAMESPACE,
            label_selector=f"{LABEL_FROM_PRODUCT_PROVIDER}={PRODUCT_PROVIDER}",
        )
        return {str(p["spec"]["name"]): str(p["metadata"]["name"]) for p in listed}

    def sync_product(self, group_id: int, group_path: str, meta_data_path: str, meta_id: int) -> str:
        """Create or update the Product, then reconcile it; returns its name (its namespace)."""
        name = product_name(group_id)
        current = get_or_none(self._store, NAUTES_API_VERSION, "Product", NAUTES_NAMESPACE, name)
        spec = {"name": group_path, "metaDataPath": meta_data_path}
        if current is None:
            self._store.create(
                {
                    "apiVersion": NAUTES_API_VERSION,
                    "kind": "Product",
                    "metadata": {
                        "name": name,
                        "namespace": NAUTES_NAMESPACE,
                        "labels": {LABEL_FROM_PRODUCT_PROVIDER: PRODUCT_PROVIDER},
                    },
                    "spec": spec,
                }
            )
        elif current["spec"] != spec:
            self._store.replace({**current, "spec": spec})
        self._reconcile(name, meta_data_path, meta_id)
        return name

    def delete_product(self, name: str) -> None:
        """The provider syncer deletes the Product; the controller's finalizer tidies up after it."""
        if not delete_if_present(self._store, NAUTES_API_VERSION, "Product", NAUTES_NAMESPACE, name):
            return
        label = f"{LABEL_FROM_PRODUCT}={name}"
        for app in self._store.list(
            ARGO_CD_API_VERSION, "Application", ARGO_CD_NAMESPACE, label_selector=label
        ):
            delete_if_present(
                self._store, ARGO_CD_API_VERSION, "Application", ARGO_CD_NAMESPACE, app["metadata"]["name"]
            )
        for namespace in self._store.list("v1", "Namespace", label_selector=label):
            delete_if_present(self._store, "v1", "Namespace", None, namespace["metadata"]["name"])
        product = get_or_none(self._store, NAUTES_API_VERSION, "Product", NAUTES_NAMESPACE, name)
        if product is not None:
            finalizers = [f for f in product["metadata"].get("finalizers") or [] if f != PRODUCT_FINALIZER]
            self._store.replace({**product, "metadata": {**product["metadata"], "finalizers": finalizers}})

    def _reconcile(self, name: str, meta_data_path: str, meta_id: int) -> None:
        product = self._store.get(NAUTES_API_VERSION, "Product", NAUTES_NAMESPACE, name)
        if PRODUCT_FINALIZER not in (product["metadata"].get("finalizers") or []):
            product = copy.deepcopy(product)
            product["metadata"].setdefault("finalizers", []).append(PRODUCT_FINALIZER)
            product = self._store.replace(product)
        label = {LABEL_FROM_PRODUCT: name}
        if (
            get_or_none(self._store, ARGO_CD_API_VERSION, "AppProject", ARGO_CD_NAMESPACE, ARGO_CD_PROJECT)
            is None
        ):
            self._store.create(app_project())
        if get_or_none(self._store, "v1", "Namespace", None, name) is None:
            self._store.create(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": label}}
            )
        apply(self._store, _code_repo(product, meta_id, meta_data_path))
        app = application(name, meta_data_path, PRODUCT_PATH, name, project=ARGO_CD_PROJECT, labels=label)
        if get_or_none(self._store, ARGO_CD_API_VERSION, "Application", ARGO_CD_NAMESPACE, name) is None:
            self._store.create(app)
        condition = {
            "type": "ProductReady",
            "status": "True",
            "reason": "RegularUpdate",
            "message": "",
            "lastTransitionTime": _now(),
        }
        conditions = (product.get("status") or {}).get("conditions") or []
        if [(c.get("type"), c.get("status")) for c in conditions] != [("ProductReady", "True")]:
            self._store.update_status({**product, "status": {"conditions": [condition]}})


def product_provider() -> JsonObject:
    """TRT's ProductProvider, which the base operator requires exactly one of (``GetProvider``)."""
    return {
        "apiVersion": NAUTES_API_VERSION,
        "kind": "ProductProvider",
        "metadata": {"name": PRODUCT_PROVIDER, "namespace": NAUTES_NAMESPACE},
        "spec": {"name": CODE_REPO_PROVIDER, "type": "coderepo"},
    }


def app_project() -> JsonObject:
    """``syncArgoProject``: every source, destination and cluster resource allowed."""
    return {
        "apiVersion": ARGO_CD_API_VERSION,
        "kind": "AppProject",
        "metadata": {"name": ARGO_CD_PROJECT, "namespace": ARGO_CD_NAMESPACE},
        "spec": {
            "sourceRepos": ["*"],
            "destinations": [{"server": "*", "namespace": "*"}],
            "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
        },
    }


def _code_repo(product: JsonObject, meta_id: int, meta_data_path: str) -> JsonObject:
    """``syncCoderepo``: the product's ``default.project`` as a CodeRepo the Product controls."""
    name = product["metadata"]["name"]
    owner = {
        "apiVersion": NAUTES_API_VERSION,
        "kind": "Product",
        "name": name,
        "uid": product["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }
    return {
        "apiVersion": NAUTES_API_VERSION,
        "kind": "CodeRepo",
        "metadata": {
            "name": f"repo-{meta_id}",
            "namespace": NAUTES_NAMESPACE,
            "labels": {LABEL_FROM_PRODUCT: name},
            "ownerReferences": [owner],
        },
        "spec": {
            "codeRepoProvider": CODE_REPO_PROVIDER,
            "product": name,
            "repoName": DEFAULT_PRODUCT_NAME,
            "url": meta_data_path,
        },
    }
