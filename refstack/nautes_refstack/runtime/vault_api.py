"""The Vault HTTP calls the runtime side makes: auth mounts and roles (as vault-proxy), KV reads, logins.

In Nautes the cluster-operator and runtime-operator ask vault-proxy (which holds a privileged token) to
enable ``auth/<cluster>``, write roles and attach policies (VP ``internal/biz/vaultproxy/vault_auth.go``);
external-secrets then reads KV secrets by logging in with a service account's Vault role. This client
does the same calls against OpenBao over HTTP on the stack's one event loop. Error texts carry Vault's
own error list and the path, never a token or secret value.
"""

from __future__ import annotations

from typing import Any

import aiohttp


class VaultError(RuntimeError):
    """Vault refused a call; ``status`` is the HTTP status."""

    def __init__(self, method: str, path: str, status: int, errors: list[str]) -> None:
        super().__init__(f"Vault {method} /v1/{path} answered {status}: {'; '.join(errors) or 'no detail'}")
        self.status = status


class VaultApi:
    """Calls to one Vault server with one token; :meth:`login` gives a client for the issued token."""

    def __init__(self, session: aiohttp.ClientSession, url: str, token: str) -> None:
        self._session = session
        self._url = url.rstrip("/")
        self._token = token

    @property
    def url(self) -> str:
        return self._url

    async def _call(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        headers = {"X-Vault-Token": self._token} if self._token else {}
        async with self._session.request(
            method, f"{self._url}/v1/{path}", json=body, headers=headers
        ) as resp:
            payload: Any = await resp.json(content_type=None) if resp.status != 204 else None
            if resp.status >= 400:
                errors = payload.get("errors", []) if isinstance(payload, dict) else []
                raise VaultError(method, path, resp.status, [str(error) for error in errors])
            return payload if isinstance(payload, dict) else None

    async def read(self, path: str) -> dict[str, Any] | None:
        """The ``data`` of ``path``, or None when Vault has nothing there."""
        try:
            payload = await self._call("GET", path)
        except VaultError as error:
            if error.status == 404:
                return None
            raise
        data = (payload or {}).get("data")
        return data if isinstance(data, dict) else None

    async def write(self, path: str, body: dict[str, Any]) -> None:
        await self._call("POST", path, body)

    async def delete(self, path: str) -> None:
        await self._call("DELETE", path)

    async def auth_mounts(self) -> dict[str, Any]:
        """``sys/auth``: mount path (with trailing slash) → description."""
        return await self.read("sys/auth") or {}

    async def enable_auth(self, mount: str, auth_type: str) -> None:
        await self.write(f"sys/auth/{mount}", {"type": auth_type})

    async def disable_auth(self, mount: str) -> None:
        await self.delete(f"sys/auth/{mount}")

    async def read_kv(self, mount: str, path: str) -> dict[str, Any] | None:
        """The latest version of a KV v2 secret's key/value pairs."""
        data = await self.read(f"{mount}/data/{path}")
        values = (data or {}).get("data")
        return values if isinstance(values, dict) else None

    async def revoke_self(self) -> None:
        """Revoke this client's own token (a login's token once its read is done)."""
        await self._call("POST", "auth/token/revoke-self")

    async def login_kubernetes(self, mount: str, role: str, jwt: str) -> VaultApi:
        """Log in through ``auth/<mount>`` as ``role`` with a service-account token."""
        payload = await self._call("POST", f"auth/{mount}/login", {"role": role, "jwt": jwt})
        token = ((payload or {}).get("auth") or {}).get("client_token")
        if not isinstance(token, str):
            raise VaultError("POST", f"auth/{mount}/login", 200, ["no client token in the reply"])
        return VaultApi(self._session, self._url, token)
