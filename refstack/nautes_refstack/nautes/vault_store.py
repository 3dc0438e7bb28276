"""Vault as the API server sees it: reads of repository secrets, writes the way vault-proxy makes them.

In a real installation the API server reads Vault directly (Kubernetes auth role ``API``) and writes
through vault-proxy (mTLS), which stores a KV v2 secret *and* a read policy named after it
(``gitlab-repo-42-default-readonly``; nautes-labs/vault-proxy ``vaultproxy.pb.ex.go``). Here the single
``vault_token`` stands for both identities. Other components attach these exact policy names to Vault
roles, so names and policy texts are kept verbatim (contract §3.4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp
import yaml

from nautes_refstack.faults import NO_FAULTS, Faults
from nautes_refstack.nautes import errors
from nautes_refstack.nautes.sshkeys import generate_deploy_key

GIT_MOUNT = "git"
CLUSTER_MOUNT = "cluster"
PROVIDER = "gitlab"
DEFAULT_USER = "default"

_GIT_POLICY = """
path "git/data/{path}" {{
    capabilities = ["read"]
}}

path "git/metadata/{path}" {{
    capabilities = ["read"]
}}"""

_CLUSTER_POLICY = """
path "cluster/data/{path}" {{
    capabilities = ["read"]
}}

path "auth/{cluster}/role/*" {{
    capabilities = ["read"]
}}"""


def git_secret_path(repo_name: str, permission: str) -> str:
    """``{{.ProviderType}}/{{.Id}}/{{.Username}}/{{.Permission}}`` under the ``git`` mount."""
    return f"{PROVIDER}/{repo_name}/{DEFAULT_USER}/{permission}"


def git_policy_name(repo_name: str, permission: str) -> str:
    """``{{.ProviderType}}-{{.Id}}-{{.Username}}-{{.Permission}}``: ``gitlab-repo-42-default-readonly``."""
    return f"{PROVIDER}-{repo_name}-{DEFAULT_USER}-{permission}"


@dataclass(frozen=True)
class DeployKeySecret:
    """What the server keeps about a deploy key besides the private key: GitLab's id and public key."""

    key_id: int
    fingerprint: str


class VaultStore:
    """KV v2 secrets and ACL policies over Vault's HTTP API (writes subject to the stack's ``faults``)."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        vault_url: str,
        vault_token: str,
        faults: Faults = NO_FAULTS,
        about: str | None = None,
    ) -> None:
        """``about``: what the request being served names (its path), for faults armed for one run."""
        self._http = http
        self._base = vault_url.rstrip("/") + "/v1/"
        self._headers = {"X-Vault-Token": vault_token}
        self._faults = faults
        self._about = about

    async def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        try:
            async with self._http.request(
                method, self._base + path, json=body, headers=self._headers
            ) as resp:
                payload = await resp.json(content_type=None) if resp.status != 204 else None
                return resp.status, payload
        except aiohttp.ClientError as failure:
            raise errors.plain(f"vault request failed: {failure}") from None

    async def _read(self, mount: str, path: str) -> dict[str, Any] | None:
        status, payload = await self._request("GET", f"{mount}/data/{path}")
        if status == 404:
            return None
        if status != 200:
            raise errors.plain(f"unable to read secret path: {path}, err: Vault answered {status}: {payload}")
        data: dict[str, Any] = payload["data"]["data"] or {}
        return data

    async def _write(
        self, mount: str, path: str, data: dict[str, str], policy_name: str, policy: str
    ) -> None:
        status, payload = await self._request("POST", f"{mount}/data/{path}", {"data": data})
        if status not in (200, 204):
            raise errors.plain(f"create secret failed: Vault answered {status}: {payload}")
        status, payload = await self._request("PUT", f"sys/policies/acl/{policy_name}", {"policy": policy})
        if status not in (200, 204):
            raise errors.plain(f"create policy {policy_name} failed: Vault answered {status}: {payload}")

    # --- repository secrets -----------------------------------------------------------------------------

    async def deploy_key(self, repo_name: str, permission: str) -> DeployKeySecret:
        """``vaultRepo.GetDeployKey``: typed ``SECRET_NOT_FOUND`` when the secret or a field is missing."""
        path = git_secret_path(repo_name, permission)
        data = await self._read(GIT_MOUNT, path)
        if data is None:
            raise errors.secret_not_found(f"unable to read secret path: {path}, err: secret not found")
        fingerprint, key_id = str(data.get("fingerprint") or ""), str(data.get("id") or "")
        if not fingerprint:
            raise errors.secret_not_found(
                f"the fingerprint of the deploy key was not found, secret path: {path}"
            )
        if not key_id:
            raise errors.secret_not_found(f"the id of the deploy key was not found, secret path: {path}")
        if not key_id.isdigit():
            raise errors.plain(f'strconv.Atoi: parsing "{key_id}": invalid syntax')
        return DeployKeySecret(int(key_id), fingerprint)

    async def access_token_id(self, repo_name: str, token_name: str) -> int:
        """``vaultRepo.GetProjectAccessToken``: the GitLab id of the stored project access token."""
        path = git_secret_path(repo_name, token_name)
        data = await self._read(GIT_MOUNT, path)
        if data is None:
            raise errors.accesstoken_not_found(
                f"unable to read secret, err: secret not found: at {GIT_MOUNT}/data/{path}"
            )
        token_id = str(data.get("id") or "")
        if not token_id:
            raise errors.accesstoken_not_found(
                f"the access token id of the project is empty, secret path: {path}"
            )
        if not data.get("accesstoken"):
            raise errors.accesstoken_not_found(
                f"the project access token of vault is empty, secret path: {path}"
            )
        if not token_id.isdigit():
            raise errors.plain(f'strconv.Atoi: parsing "{token_id}": invalid syntax')
        return int(token_id)

    async def save_git_secret(self, repo_name: str, permission: str, data: dict[str, str]) -> None:
        """vault-proxy ``CreateGit``: the secret plus its read policy."""
        path = git_secret_path(repo_name, permission)
        if permission == "readwrite" and self._faults.active("deploykey-not-stored", about=self._about):
            return  # fault: vault-proxy lost the write, the API server does not notice
        if "deploykey" in data and self._faults.active("deploykey-mismatch", about=self._about):
            data = {**data, "deploykey": generate_deploy_key(path).private}  # fault: not the key GitLab has
        policy = _GIT_POLICY.format(path=path)
        await self._write(GIT_MOUNT, path, data, git_policy_name(repo_name, permission), policy)

    async def delete_git_secret(self, repo_name: str, permission: str) -> None:
        """vault-proxy ``DeleteGit``: the policy, then every version of the secret."""
        policy_name = git_policy_name(repo_name, permission)
        path = git_secret_path(repo_name, permission)
        # NAUTES biz/coderepo.go DeleteCodeRepo ends with deleteAccessTokenSecret; the fault loses that call.
        forgotten = permission == "accesstoken-api"
        if forgotten and self._faults.active("remove-forgets-vault-secret", about=self._about):
            return
        status, _ = await self._request("DELETE", f"sys/policies/acl/{policy_name}")
        if status not in (200, 204, 404):
            raise errors.plain(f"delete policy of {path} in {GIT_MOUNT} failed")
        status, _ = await self._request("DELETE", f"{GIT_MOUNT}/metadata/{path}")
        if status not in (200, 204, 404):
            raise errors.plain(f"delete secret {path} in {GIT_MOUNT} failed")

    # --- cluster kubeconfig -----------------------------------------------------------------------------

    async def save_kubeconfig(self, cluster_name: str, kubeconfig: str) -> None:
        """vault-proxy ``CreateCluster``: ``cluster/data/kubernetes/<c>/default/admin`` key ``kubeconfig``."""
        path = f"kubernetes/{cluster_name}/{DEFAULT_USER}/admin"
        if self._faults.active("cluster-kubeconfig-not-stored", about=cluster_name):
            return  # fault: vault-proxy lost the write, the API server does not notice
        if self._faults.active("cluster-kubeconfig-credentials-dropped", about=cluster_name):
            kubeconfig = _without_credentials(kubeconfig)  # fault: a converter that loses the user's token
        policy = _CLUSTER_POLICY.format(path=path, cluster=cluster_name)
        policy_name = f"kubernetes-{cluster_name}-{DEFAULT_USER}-admin"
        await self._write(CLUSTER_MOUNT, path, {"kubeconfig": kubeconfig}, policy_name, policy)


def _without_credentials(kubeconfig: str) -> str:
    """The kubeconfig without any user credentials (fault ``cluster-kubeconfig-credentials-dropped``)."""
    document = yaml.safe_load(kubeconfig)
    for user in document.get("users") or []:
        user["user"] = {}
    return str(yaml.safe_dump(document, sort_keys=False))
