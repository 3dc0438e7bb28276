"""Vault (or OpenBao), through hvac: where Nautes keeps deploy keys, access tokens and kubeconfigs.

The stages mostly need to know *that* a secret exists and which fields it has (contract §3.4); values are
handed out only as :class:`Secret`, so that a report can never print them. A Vault that does not answer is
a :class:`~nautes_e2e.clients.errors.ServiceUnreachable`, never "unhealthy" or "no such secret": sealed and
down are different breakages with different fixes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import hvac
import hvac.exceptions
import requests

from nautes_e2e.clients.errors import ServiceUnreachable, no_reply_reason, request_line
from nautes_e2e.clients.transient import RetryLog, retrying_session
from nautes_e2e.secrets import Secret, redact

REQUEST_TIMEOUT_S = 30  # hvac's own default, named so that a timeout can say it
TLS_HINT = "give its CA as vault.caBundle (or caBundle) in the target file"


class VaultClientError(Exception):
    """Vault answered a call with an error other than "no such secret" (redacted text)."""


class VaultClient:
    """Vault as hvac sees it; ``ca_bundle`` is the complete CA file to verify it with (see ``trust``).
    Reads answered 502/503/504 or reset are sent again (:mod:`~nautes_e2e.clients.transient`), each
    resend told to ``retries``; hvac itself never resends."""

    def __init__(
        self, url: str, token: Secret, ca_bundle: Path | None = None, retries: RetryLog | None = None
    ) -> None:
        self.retries = RetryLog() if retries is None else retries
        self._client = hvac.Client(
            url=url,
            token=token.reveal(),
            verify=str(ca_bundle) if ca_bundle else True,
            timeout=REQUEST_TIMEOUT_S,
            session=retrying_session("Vault", self.retries),
        )
        self.url = url

    def healthy(self) -> bool:
        """Initialised, unsealed, active, and the token is valid; ServiceUnreachable if Vault does not
        answer."""
        try:
            health = self._client.sys.read_health_status(method="GET")
            if not isinstance(health, dict) or not health.get("initialized") or health.get("sealed", True):
                return False
            return bool(self._client.is_authenticated())
        except hvac.exceptions.VaultError:
            return False
        except requests.RequestException as error:
            raise self._unreachable(error, "GET /v1/sys/health") from None

    def kv_keys(self, mount: str, path: str) -> set[str] | None:
        """The field names of a KV v2 secret (never the values); None when there is no such secret."""
        data = self._read(mount, path)
        return None if data is None else set(data)

    def kv_secret(self, mount: str, path: str) -> dict[str, Secret] | None:
        """The fields of a KV v2 secret, each value a Secret; None when there is no such secret."""
        data = self._read(mount, path)
        return None if data is None else {key: Secret(str(value)) for key, value in data.items()}

    # -- listings for the world's inventory (nautes_e2e.stages.inventory): names only, never values ------

    def kv_list(self, mount: str, path: str = "") -> list[str]:
        """``LIST <mount>/metadata/<path>``: the secrets (``name``) and folders (``name/``) under ``path``
        of a KV v2 engine; empty when there is nothing there."""
        what = f"LIST /v1/{mount}/metadata/{path}"
        reply = self._request(
            what, lambda: self._client.secrets.kv.v2.list_secrets(path=path, mount_point=mount)
        )
        return [str(key) for key in ((reply or {}).get("data") or {}).get("keys") or []]

    def policies(self) -> list[str]:
        """``LIST /v1/sys/policies/acl``: the names of the ACL policies."""
        reply = self._request("LIST /v1/sys/policies/acl", self._client.sys.list_acl_policies)
        return [str(key) for key in ((reply or {}).get("data") or {}).get("keys") or []]

    def auth_mounts(self) -> dict[str, str]:
        """``GET /v1/sys/auth``: each enabled auth method's mount path (``kubernetes/``) and its type."""
        reply = self._request("GET /v1/sys/auth", self._client.sys.list_auth_methods) or {}
        mounts = reply.get("data") or {}
        return {str(path): str((mount or {}).get("type", "")) for path, mount in mounts.items()}

    def auth_roles(self, mount: str) -> list[str]:
        """``LIST /v1/auth/<mount>/role``: the roles of a Kubernetes auth mount; empty when it has none."""
        what = f"LIST /v1/auth/{mount}/role"
        reply = self._request(what, lambda: self._client.auth.kubernetes.list_roles(mount_point=mount))
        return [str(key) for key in (reply or {}).get("keys") or []]

    def _request(self, what: str, call: Callable[[], Any]) -> Any:
        """One call; None when Vault says there is nothing there (404), every other error raised."""
        try:
            reply = call()
        except hvac.exceptions.InvalidPath:
            return None
        except hvac.exceptions.VaultError as error:
            raise VaultClientError(redact(f"{what}: {error}")) from None
        except requests.RequestException as error:
            raise self._unreachable(error, what) from None
        return reply if isinstance(reply, dict) else None

    def _read(self, mount: str, path: str) -> dict[str, Any] | None:
        try:
            reply = self._client.secrets.kv.v2.read_secret_version(
                path=path, mount_point=mount, raise_on_deleted_version=True
            )
        except hvac.exceptions.InvalidPath:
            return None
        except hvac.exceptions.VaultError as error:
            raise VaultClientError(redact(f"read {mount}/data/{path}: {error}")) from None
        except requests.RequestException as error:
            raise self._unreachable(error, f"GET /v1/{mount}/data/{path}") from None
        data = (reply.get("data") or {}).get("data")
        return dict(data) if isinstance(data, dict) else None

    def _unreachable(self, error: requests.RequestException, action: str) -> ServiceUnreachable:
        reason = no_reply_reason(error, timeout_s=REQUEST_TIMEOUT_S, tls_hint=TLS_HINT)
        return ServiceUnreachable("Vault", self.url, request_line(error) or action, reason)
