"""Vault agent injection for TaskRun pods (``vault.hashicorp.com/*`` annotations, injector chart 0.20.1).

With ``agent-inject: "true"`` the injector adds a ``vault-agent-init`` container that logs in with the
pod's service-account token (Kubernetes auth at ``auth/<cluster>``, Nautes' ``injector.authPath``, or the
``auth-path`` annotation) using the ``role`` annotation, renders one file per ``agent-inject-secret-<name>``
annotation (``agent-inject-template-<name>``, else the injector's default template) into
``secret-volume-path-<name>`` (default ``/vault/secrets``) with ``agent-inject-perms-<name>``, and exits.
Here the same happens against the real OpenBao; a refused login or read fails the pod's init container.
With ``tls-secret: <name>`` the injector mounts Secret ``<name>`` into the agent containers at
``/vault/tls`` (vault-k8s annotation docs): while that Secret is missing the kubelet cannot mount it and
the pod stays ``Pending`` (``MountVolume.SetUp failed ... secret "<name>" not found``), retrying until the
Secret appears or the run times out.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from nautes_refstack.kube import ObjectStore
from nautes_refstack.tekton import consul_template

PREFIX = "vault.hashicorp.com/"
INIT_CONTAINER = "vault-agent-init"
AGENT_IMAGE = "hashicorp/vault:1.10.4"
DEFAULT_VOLUME_PATH = "/vault/secrets"


class VaultAgentError(Exception):
    """The agent could not log in or render a secret; the message names role/path, never a secret."""


@dataclass(frozen=True)
class InjectedFile:
    name: str
    secret_path: str
    template: str | None
    directory: str
    file_name: str
    permissions: int


@dataclass(frozen=True)
class Injection:
    role: str
    auth_path: str
    files: tuple[InjectedFile, ...]
    tls_secret: str | None = None


def injection_from_annotations(
    annotations: Mapping[str, str], default_auth_path: str | None
) -> Injection | None:
    """What the injector would do for a pod with ``annotations``: None without ``agent-inject: true``, or
    when no injector runs in the cluster (``default_auth_path`` None) — the annotations are then inert."""
    if str(annotations.get(PREFIX + "agent-inject", "")).lower() != "true" or default_auth_path is None:
        return None
    default_directory = annotations.get(PREFIX + "secret-volume-path", DEFAULT_VOLUME_PATH)
    files = []
    for key in sorted(annotations):
        if not key.startswith(PREFIX + "agent-inject-secret-"):
            continue
        name = key.removeprefix(PREFIX + "agent-inject-secret-")
        perms = annotations.get(PREFIX + f"agent-inject-perms-{name}", "0644")
        files.append(
            InjectedFile(
                name=name,
                secret_path=annotations[key],
                template=annotations.get(PREFIX + f"agent-inject-template-{name}"),
                directory=annotations.get(PREFIX + f"secret-volume-path-{name}", default_directory),
                file_name=annotations.get(PREFIX + f"agent-inject-file-{name}", name),
                permissions=int(perms, 8),
            )
        )
    auth_path = annotations.get(PREFIX + "auth-path", default_auth_path).strip("/")
    return Injection(
        role=annotations.get(PREFIX + "role", ""),
        auth_path=auth_path,
        files=tuple(files),
        tls_secret=annotations.get(PREFIX + "tls-secret") or None,
    )


def default_template(secret_path: str) -> str:
    """The injector's template when none is annotated: every top-level ``.Data`` key as ``k: v``."""
    return (
        f'{{{{ with secret "{secret_path}" }}}}'
        "{{ range $k, $v := .Data }}{{ $k }}: {{ $v }}\n{{ end }}{{ end }}"
    )


class VaultAgent:
    """Runs one injection against Vault; ``log`` receives the agent's log lines (no secrets)."""

    def __init__(self, vault_url: str, log: Callable[[str], None]) -> None:
        self._vault_url = vault_url.rstrip("/")
        self._log = log

    async def inject(self, injection: Injection, jwt: str, pod_path: Callable[[str], Path]) -> None:
        self._log("==> Vault agent started! Log data will stream in below:")
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            self._log("[INFO]  auth.handler: authenticating")
            token = await self._login(http, injection, jwt)
            self._log("[INFO]  auth.handler: authentication successful, sending token to sinks")
            for injected in injection.files:
                template = injected.template or default_template(injected.secret_path)
                paths = consul_template.secret_paths(template) or [injected.secret_path]
                secrets = {path: await self._read(http, token, injection.role, path) for path in paths}
                try:
                    content = consul_template.render(template, secrets)
                except consul_template.TemplateError as error:
                    raise VaultAgentError(f"template for {injected.name} failed: {error}") from None
                shown = f"{injected.directory.rstrip('/')}/{injected.file_name}"
                target = pod_path(shown)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.unlink(missing_ok=True)
                target.write_text(content)
                target.chmod(injected.permissions)
                self._log(f'[INFO] (runner) rendered "(dynamic)" => "{shown}"')
        self._log("[INFO]  template.server: template server stopped")

    async def _login(self, http: aiohttp.ClientSession, injection: Injection, jwt: str) -> str:
        url = f"{self._vault_url}/v1/{injection.auth_path}/login"
        async with http.post(url, json={"role": injection.role, "jwt": jwt}) as response:
            body = await _json(response)
            token = (body.get("auth") or {}).get("client_token") if response.status == 200 else None
            if not token:
                error = _vault_error(response.status, body)
                detail = f"Error making API request.\\n\\nURL: PUT {url}\\n{error}"
                self._log(f'[ERROR] auth.handler: error authenticating: error="{detail}"')
                raise VaultAgentError(
                    f'vault login at {injection.auth_path} with role "{injection.role}" failed: {error}'
                )
            return str(token)

    async def _read(self, http: aiohttp.ClientSession, token: str, role: str, path: str) -> dict[str, Any]:
        url = f"{self._vault_url}/v1/{path}"
        async with http.get(url, headers={"X-Vault-Token": token}) as response:
            body = await _json(response)
            if response.status == 200 and isinstance(body.get("data"), dict):
                return dict(body["data"])
            error = _vault_error(response.status, body)
            detail = f"Error making API request.\\n\\nURL: GET {url}\\n{error}"
            self._log(f"[ERROR] (view) vault.read({path}): vault.read({path}): {detail}")
            if response.status == 404:
                raise VaultAgentError(f'no secret exists at {path} (role "{role}")')
            raise VaultAgentError(f'reading {path} with role "{role}" failed: {error}')


async def _json(response: aiohttp.ClientResponse) -> dict[str, Any]:
    try:
        parsed = json.loads(await response.read() or b"{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _vault_error(status: int, body: dict[str, Any]) -> str:
    errors = body.get("errors") or []
    return (
        f"Code: {status}. Errors: " + "; ".join(str(error) for error in errors)
        if errors
        else f"Code: {status}"
    )


INJECTOR_NAME = "vault-agent-injector"
INJECTOR_AUTH_PATH_ENV = "AGENT_INJECT_VAULT_AUTH_PATH"


def injector_auth_path(store: ObjectStore) -> str | None:
    """The auth path the cluster's vault-agent injector was installed with (``injector.authPath`` of the
    Vault chart, ``auth/<cluster>`` in Nautes), or None when no injector is installed."""
    for deployment in store.list("apps/v1", "Deployment", field_selector=f"metadata.name={INJECTOR_NAME}"):
        for container in deployment["spec"]["template"]["spec"].get("containers", []):
            for variable in container.get("env") or []:
                if variable.get("name") == INJECTOR_AUTH_PATH_ENV:
                    return str(variable.get("value", ""))
    return None
