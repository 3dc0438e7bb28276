"""The multi-tenant component (HNC) of the runtime operator: product and runtime namespaces, accounts.

Mirrors NAUTES ``internal/data/multitenant/hnc/hnc.go`` (contract §4.2): a product is namespace ``P``
with a RoleBinding ``P`` granting ``cluster-admin`` to the product's GitLab group; a runtime's space is
namespace ``NS`` whose HNC parent is ``P``; an account is listed in ``P``'s ``productUsers`` annotation
and, per space it may use, has a ServiceAccount and a ``cluster-admin`` RoleBinding in that space and is
listed in the space's ``spaceUsers`` annotation. Namespaces carry ``resource.nautes.io/belongsto: P``;
touching a namespace of another product (or none) is refused, as ``CheckResourceOperability`` does.
Every namespace it creates or updates gets Secret ``ca`` (key ``ca.crt``: the secret store's CA bundle),
which the vault-agent annotation ``vault.hashicorp.com/tls-secret: "ca"`` of pipeline pods mounts
(hnc.go ``createNamespace`` -> ``createSecretStoreCA``). Under fault ``ca-secret-missing`` it is never
written, as when the operator runs without a secret-store address (``createSecretStoreCA`` returns early).
"""

from __future__ import annotations

import base64
from typing import Any

from nautes_refstack.faults import NO_FAULTS, Faults
from nautes_refstack.kube import ObjectStore
from nautes_refstack.runtime.kube_apply import apply, delete_if_present, get_or_none

LABEL_BELONGS_TO = "resource.nautes.io/belongsto"
ANNOTATION_PRODUCT_USERS = "productUsers"
ANNOTATION_SPACE_USERS = "spaceUsers"
HIERARCHY_CONFIGURATION = "hierarchy"
HNC_CONFIG = "config"
HNC_API_VERSION = "hnc.x-k8s.io/v1alpha2"
RBAC_API_VERSION = "rbac.authorization.k8s.io/v1"
SECRET_STORE_CA = "ca"  # hnc.go secretNameSecretStoreCA
SECRET_STORE_CA_FILE = "ca.crt"  # hnc.go fileNameCA
CLUSTER_ADMIN = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"}


class MultiTenantError(RuntimeError):
    """A namespace exists but is not this product's to manage."""


def _users(text: str | None) -> set[str]:
    return {user for user in (text or "").split(",") if user}


class MultiTenant:
    """Namespaces, service accounts and role bindings of products and their runtimes on one cluster."""

    def __init__(self, store: ObjectStore, secret_store_ca: str = "", faults: Faults = NO_FAULTS) -> None:
        """``secret_store_ca``: the PEM bundle hnc.go ``GetCABundle`` reads for the Vault address."""
        self._store = store
        self._secret_store_ca = secret_store_ca
        self._faults = faults

    # -- products -------------------------------------------------------------------------------------

    def create_product(self, product_id: str, group: str, sync_resource_types: str) -> None:
        self._ensure_namespace(product_id, product_id)
        if sync_resource_types:
            self._set_hnc_config(sync_resource_types)
        apply(
            self._store,
            {
                "apiVersion": RBAC_API_VERSION,
                "kind": "RoleBinding",
                "metadata": {
                    "name": product_id,
                    "namespace": product_id,
                    "labels": {LABEL_BELONGS_TO: product_id},
                },
                "roleRef": CLUSTER_ADMIN,
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group}],
            },
        )

    def delete_product(self, product_id: str) -> None:
        """Remove ``P`` once no other namespace of the product is left (``isRemovableProduct``)."""
        spaces = [ns for ns in self._product_namespaces(product_id) if ns["metadata"]["name"] != product_id]
        if not spaces:
            self._delete_namespace(product_id, product_id)

    def _set_hnc_config(self, sync_resource_types: str) -> None:
        resources = []
        for item in sync_resource_types.split(","):
            group, _, resource = item.replace(" ", "").partition("/")
            if not resource:
                raise MultiTenantError("decode resource type failed")
            resources.append({"group": group, "resource": resource, "mode": ""})
        apply(
            self._store,
            {
                "apiVersion": HNC_API_VERSION,
                "kind": "HNCConfiguration",
                "metadata": {"name": HNC_CONFIG},
                "spec": {"resources": resources},
            },
        )

    # -- spaces ---------------------------------------------------------------------------------------

    def create_space(self, product_id: str, space: str) -> None:
        self._ensure_namespace(product_id, space)
        apply(
            self._store,
            {
                "apiVersion": HNC_API_VERSION,
                "kind": "HierarchyConfiguration",
                "metadata": {"name": HIERARCHY_CONFIGURATION, "namespace": space},
                "spec": {"parent": product_id},
            },
        )

    def delete_space(self, product_id: str, space: str) -> None:
        self._delete_namespace(product_id, space)

    # -- accounts -------------------------------------------------------------------------------------

    def create_account(self, product_id: str, account: str) -> None:
        self._edit_users(product_id, product_id, ANNOTATION_PRODUCT_USERS, add=account)

    def delete_account(self, product_id: str, account: str) -> None:
        for space in self.account_spaces(product_id, account):
            self.remove_space_user(product_id, space, account)
        if get_or_none(self._store, "v1", "Namespace", None, product_id) is not None:
            self._edit_users(product_id, product_id, ANNOTATION_PRODUCT_USERS, remove=account)

    def add_space_user(self, product_id: str, space: str, account: str) -> None:
        apply(
            self._store,
            {
                "apiVersion": RBAC_API_VERSION,
                "kind": "RoleBinding",
                "metadata": {"name": account, "namespace": space},
                "roleRef": CLUSTER_ADMIN,
                "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": space}],
            },
        )
        self._edit_users(product_id, space, ANNOTATION_SPACE_USERS, add=account)
        if get_or_none(self._store, "v1", "ServiceAccount", space, account) is None:
            self._store.create(
                {
                    "apiVersion": "v1",
                    "kind": "ServiceAccount",
                    "metadata": {"name": account, "namespace": space},
                }
            )

    def remove_space_user(self, product_id: str, space: str, account: str) -> None:
        delete_if_present(self._store, RBAC_API_VERSION, "RoleBinding", space, account)
        delete_if_present(self._store, "v1", "ServiceAccount", space, account)
        if get_or_none(self._store, "v1", "Namespace", None, space) is not None:
            self._edit_users(product_id, space, ANNOTATION_SPACE_USERS, remove=account)

    def account_spaces(self, product_id: str, account: str) -> list[str]:
        """The product's namespaces whose ``spaceUsers`` list ``account`` (the Vault role's namespaces)."""
        return [
            ns["metadata"]["name"]
            for ns in self._product_namespaces(product_id)
            if account in _users((ns["metadata"].get("annotations") or {}).get(ANNOTATION_SPACE_USERS))
        ]

    # -- namespaces -----------------------------------------------------------------------------------

    def _product_namespaces(self, product_id: str) -> list[dict[str, Any]]:
        namespaces = self._store.list("v1", "Namespace", label_selector=f"{LABEL_BELONGS_TO}={product_id}")
        return [ns for ns in namespaces if "deletionTimestamp" not in ns["metadata"]]

    def _owned_namespace(self, product_id: str, name: str) -> dict[str, Any] | None:
        namespace = get_or_none(self._store, "v1", "Namespace", None, name)
        if namespace is None:
            return None
        if "deletionTimestamp" in namespace["metadata"]:
            raise MultiTenantError(f"resource {name} is terminating")
        if (namespace["metadata"].get("labels") or {}).get(LABEL_BELONGS_TO) != product_id:
            raise MultiTenantError(f"resource {name} is not belongs to product")
        return namespace

    def _ensure_namespace(self, product_id: str, name: str) -> None:
        if self._owned_namespace(product_id, name) is None:
            self._store.create(
                {
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    "metadata": {"name": name, "labels": {LABEL_BELONGS_TO: product_id}},
                }
            )
        self._create_secret_store_ca(name)

    def _create_secret_store_ca(self, namespace: str) -> None:
        """``createSecretStoreCA``: create or update Secret ``ca`` with the secret store's CA bundle."""
        if self._faults.active("ca-secret-missing", about=namespace):
            return  # fault: no secret-store address configured, the Secret is never written
        data = {SECRET_STORE_CA_FILE: base64.b64encode(self._secret_store_ca.encode()).decode("ascii")}
        metadata = {"name": SECRET_STORE_CA, "namespace": namespace}
        apply(self._store, {"apiVersion": "v1", "kind": "Secret", "metadata": metadata, "data": data})

    def _delete_namespace(self, product_id: str, name: str) -> None:
        namespace = get_or_none(self._store, "v1", "Namespace", None, name)
        if namespace is None:
            return
        if (namespace["metadata"].get("labels") or {}).get(LABEL_BELONGS_TO) != product_id:
            raise MultiTenantError(f"space {name} is not belongs to product {product_id}")
        self._store.delete("v1", "Namespace", None, name)

    def _edit_users(
        self,
        product_id: str,
        namespace_name: str,
        annotation: str,
        *,
        add: str | None = None,
        remove: str | None = None,
    ) -> None:
        namespace = self._owned_namespace(product_id, namespace_name)
        if namespace is None:
            raise MultiTenantError(f"namespace {namespace_name} not found")
        annotations = dict(namespace["metadata"].get("annotations") or {})
        users = _users(annotations.get(annotation)) | ({add} if add else set())
        users.discard(remove or "")
        annotations[annotation] = ",".join(sorted(users))
        namespace["metadata"]["annotations"] = annotations
        self._store.replace(namespace)
