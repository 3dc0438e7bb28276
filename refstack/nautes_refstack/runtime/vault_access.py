"""Vault as the runtime side uses it: Kubernetes auth roles for accounts, and secrets read through them.

* Roles (secret-management component, via vault-proxy): ``auth/<cluster>/role/<account>`` binds the
  account's ServiceAccount in its namespaces and carries one policy per granted secret. Code-repo policies
  are named ``<provider>-<repo>-default-<permission>`` and guard
  ``git/data/<provider>/<repo>/default/<permission>`` (contract §3.4); the API server writes both.
* Secret sync (external-secrets): a Kubernetes Secret is filled by logging in to ``auth/<cluster>`` as the
  consuming account with a freshly minted ServiceAccount token and reading the KV secret, so a role or
  policy that does not grant the read makes the sync fail exactly as it would in a cluster.
"""

from __future__ import annotations

from dataclasses import dataclass

from nautes_refstack.kube import ObjectStore
from nautes_refstack.runtime.vault_api import VaultApi, VaultError

GIT_MOUNT = "git"


@dataclass(frozen=True)
class CodeRepoSecret:
    """One code-repo secret: ``permission`` is ``readonly``, ``readwrite`` or ``accesstoken-api``."""

    provider_type: str
    repo: str
    permission: str

    @property
    def policy(self) -> str:
        return f"{self.provider_type}-{self.repo}-default-{self.permission}"

    @property
    def kv_path(self) -> str:
        return f"{self.provider_type}/{self.repo}/default/{self.permission}"


def role_path(cluster: str, account: str) -> str:
    return f"auth/{cluster}/role/{account}"


class VaultAccess:
    """Roles on a cluster's auth mount, and KV reads made through them."""

    def __init__(self, vault: VaultApi, store: ObjectStore) -> None:
        self._vault = vault
        self._store = store

    async def write_role(
        self, cluster: str, account: str, namespaces: list[str], secrets: list[CodeRepoSecret]
    ) -> None:
        await self._vault.write(
            role_path(cluster, account),
            {
                "bound_service_account_names": [account],
                "bound_service_account_namespaces": namespaces,
                "token_policies": sorted({secret.policy for secret in secrets}),
            },
        )

    async def delete_role(self, cluster: str, account: str) -> None:
        """Remove a role; nothing to do when it (or the whole auth mount) is already gone."""
        try:
            await self._vault.delete(role_path(cluster, account))
        except VaultError as error:
            if error.status != 404:
                raise

    async def read_as(
        self, cluster: str, namespace: str, account: str, secret: CodeRepoSecret, key: str
    ) -> str | None:
        """``key`` of ``secret``, read as ``account`` of ``namespace`` (None if the secret lacks it)."""
        jwt = self._store.issue_service_account_token(namespace, account)
        session = await self._vault.login_kubernetes(cluster, account, jwt)
        try:
            values = await session.read_kv(GIT_MOUNT, secret.kv_path) or {}
        finally:
            await session.revoke_self()
        value = values.get(key)
        return value if isinstance(value, str) else None
