"""Services the stack uses instead of starting its own: a Vault and a registry someone else runs.

``up --external-vault URL`` (the token in ``NAUTES_E2E_REFSTACK_VAULT_TOKEN``) and ``--external-registry URL``
(the credentials in ``NAUTES_E2E_REFSTACK_REGISTRY_USERNAME``/``_PASSWORD``): the stack then starts no
OpenBao and no registry of its own, still mounts the KV engines Nautes uses in that Vault, and writes
target.yaml pointing at them (the credentials into credentials.env, as for its own). This is how the
harness's local target swaps an emulated service for a real one in a container (``--service
vault=container``). Secrets come through the environment only, never argv.

Both stand in for :class:`~nautes_refstack.vault.OpenBao` and :class:`~nautes_refstack.registry.Registry`
(``url``/``root_token``, ``host``/``tls``, ``start``/``stop``); ``stop`` leaves the service running: the
stack did not start it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp

from nautes_refstack.vault import ensure_kv_mounts

VAULT_TOKEN_ENV = "NAUTES_E2E_REFSTACK_VAULT_TOKEN"
REGISTRY_USERNAME_ENV = "NAUTES_E2E_REFSTACK_REGISTRY_USERNAME"
REGISTRY_PASSWORD_ENV = "NAUTES_E2E_REFSTACK_REGISTRY_PASSWORD"
#: How long the stack waits for an external service's first answer before it calls it unreachable.
CHECK_TIMEOUT_S = 10.0


class ExternalServiceError(Exception):
    """An external service given on the command line is unusable: the text names the option or variable."""


@dataclass(frozen=True)
class ExternalServices:
    """What ``--external-vault``/``--external-registry`` and their variables said (None: the stack's own)."""

    vault: ExternalVault | None = None
    registry: ExternalRegistry | None = None


def external_services_from(
    vault_url: str | None, registry_url: str | None, environ: Mapping[str, str]
) -> ExternalServices:
    """Check the options and their variables before anything starts; a problem is an
    :class:`ExternalServiceError` naming the option or variable (never its value, for the secrets)."""
    vault = None
    if vault_url is not None:
        token = _required(environ, "--external-vault", VAULT_TOKEN_ENV)
        vault = ExternalVault(_http_url("--external-vault", vault_url), token)
    registry = None
    if registry_url is not None:
        url = _http_url("--external-registry", registry_url)
        username = _required(environ, "--external-registry", REGISTRY_USERNAME_ENV)
        registry = ExternalRegistry(
            url, username, _required(environ, "--external-registry", REGISTRY_PASSWORD_ENV)
        )
    return ExternalServices(vault, registry)


def _http_url(option: str, value: str) -> str:
    """``http://HOST:PORT`` without a path. Plain HTTP only: the stack's clients trust no private CA, and
    the containers the harness swaps in (Vault dev mode, the registry) serve HTTP on 127.0.0.1."""
    parts = urlsplit(value)
    if parts.scheme != "http" or not parts.hostname or parts.port is None or parts.path.strip("/"):
        raise ExternalServiceError(f"{option} {value!r}: expected http://HOST:PORT (plain HTTP, no path)")
    return f"http://{parts.netloc}"


def _required(environ: Mapping[str, str], option: str, name: str) -> str:
    value = environ.get(name, "")
    if not value:
        raise ExternalServiceError(f"{option} takes its credential from {name}, which is not set")
    return value


class ExternalVault:
    """A Vault someone else runs, unsealed, with a token that may mount engines and configure auth."""

    def __init__(self, url: str, root_token: str) -> None:
        self.url = url
        self.root_token = root_token

    async def start(self) -> None:
        """Check that it answers as an unsealed Vault, then mount the KV engines Nautes uses."""
        status = await _status("--external-vault", f"{self.url}/v1/sys/health")
        if status != 200:
            raise ExternalServiceError(
                f"--external-vault {self.url}: sys/health answered {status}, not 200 (initialised, unsealed)"
            )
        await ensure_kv_mounts(self.url, self.root_token)

    async def stop(self) -> None:
        """Nothing: the stack did not start it."""


class ExternalRegistry:
    """A registry someone else runs, accepting one user over HTTP Basic."""

    tls = None

    def __init__(self, url: str, username: str, password: str) -> None:
        self.url = url
        self.username = username
        self.password = password

    @property
    def host(self) -> str:
        """``HOST:PORT``, as image references name it."""
        return self.url.removeprefix("http://")

    async def start(self) -> None:
        """Check that it answers ``/v2/`` to its credentials (a registry that refuses them would fail the
        pipeline's push much later)."""
        auth = aiohttp.BasicAuth(self.username, self.password)
        status = await _status("--external-registry", f"{self.url}/v2/", auth)
        if status != 200:
            raise ExternalServiceError(
                f"--external-registry {self.url}: /v2/ answered {status} to {REGISTRY_USERNAME_ENV}/"
                f"{REGISTRY_PASSWORD_ENV}, not 200"
            )

    async def stop(self) -> None:
        """Nothing: the stack did not start it."""


async def _status(option: str, url: str, auth: aiohttp.BasicAuth | None = None) -> int:
    """The status of ``GET url``; no answer at all is an :class:`ExternalServiceError` naming ``option``."""
    timeout = aiohttp.ClientTimeout(total=CHECK_TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        try:
            async with http.get(url, auth=auth) as resp:
                return resp.status
        except (aiohttp.ClientError, TimeoutError) as error:
            raise ExternalServiceError(f"{option}: {url} does not answer ({error})") from None
