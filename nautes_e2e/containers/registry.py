"""A container registry in a container: CNCF Distribution with htpasswd authentication, one user.

The configuration follows Distribution's own reference (distribution/distribution v2.8.2,
``docs/configuration.md``): ``auth.htpasswd`` with a realm and the file's path ("only bcrypt format
passwords are supported"), ``http.tls.certificate``/``key`` for HTTPS, ``storage.filesystem`` and
``storage.delete``. It replaces ``/etc/docker/registry/config.yml``, the path both the harness's local image
(:data:`~nautes_e2e.containers.images.DISTRIBUTION_IMAGE`) and the upstream ``registry:2`` image serve.
Ready means ``GET /v2/`` answers (401 to the anonymous check: it demands the credentials).

The password reaches the container only as a bcrypt hash in a copied file, never in argv or the
environment.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import bcrypt
import yaml

from nautes_e2e.containers.images import DISTRIBUTION_IMAGE
from nautes_e2e.containers.service import ServiceContainer
from nautes_e2e.containers.tls import TlsFiles
from nautes_e2e.containers.waits import http_check
from nautes_e2e.secrets import Secret

DEFAULT_REGISTRY_IMAGE = DISTRIBUTION_IMAGE
#: The upstream image of the same version, for machines that can pull it.
UPSTREAM_REGISTRY_IMAGE = "registry:2.8.2"
REGISTRY_PORT = 5000
CONFIG_DIR = "/etc/docker/registry"
REALM = "nautes-e2e"
#: bcrypt's cost for the htpasswd entry: the registry checks it on every request, so keep it cheap.
BCRYPT_ROUNDS = 10


class RegistryContainer(ServiceContainer):
    """``RegistryContainer(world=..., username=..., password=Secret(...))``; ``.url``/``.host`` once
    started."""

    component: ClassVar[str] = "registry"

    def __init__(
        self,
        image: str = DEFAULT_REGISTRY_IMAGE,
        *,
        world: str,
        username: str,
        password: Secret,
        tls: TlsFiles | None = None,
        network: str | None = None,
        aliases: Sequence[str] = (),
        startup_timeout_s: float = 60.0,
    ) -> None:
        if not username or ":" in username:
            raise ValueError(f"registry username {username!r}: not empty, no ':' (htpasswd's separator)")
        if not password:
            raise ValueError("the registry password is empty")
        super().__init__(image, world=world, network=network, aliases=aliases)
        self.username = username
        self.password = password
        self.tls = tls
        self.startup_timeout_s = startup_timeout_s

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``: how image references name this registry from the host."""
        return f"{self.get_container_host_ip()}:{self.get_exposed_port(REGISTRY_PORT)}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}"

    def config(self) -> dict[str, Any]:
        """The registry's config.yml (see the module for its source)."""
        http: dict[str, Any] = {"addr": f":{REGISTRY_PORT}"}
        if self.tls is not None:
            http["tls"] = {"certificate": f"{CONFIG_DIR}/registry.crt", "key": f"{CONFIG_DIR}/registry.key"}
        return {
            "version": 0.1,
            "log": {"level": "info"},
            "storage": {"filesystem": {"rootdirectory": "/var/lib/registry"}, "delete": {"enabled": True}},
            "http": http,
            "auth": {"htpasswd": {"realm": REALM, "path": f"{CONFIG_DIR}/htpasswd"}},
        }

    def htpasswd(self) -> bytes:
        hashed = bcrypt.hashpw(self.password.reveal().encode(), bcrypt.gensalt(rounds=BCRYPT_ROUNDS))
        return self.username.encode() + b":" + hashed + b"\n"

    def _configure(self) -> None:
        self.with_copy_into_container(yaml.safe_dump(self.config()).encode(), f"{CONFIG_DIR}/config.yml")
        self.with_copy_into_container(self.htpasswd(), f"{CONFIG_DIR}/htpasswd", 0o600)
        ca_pem = None
        if self.tls is not None:
            ca_pem = self.tls.ca_pem
            self.with_copy_into_container(self.tls.cert_pem, f"{CONFIG_DIR}/registry.crt")
            self.with_copy_into_container(self.tls.key_pem, f"{CONFIG_DIR}/registry.key", 0o600)
        self.publish(REGISTRY_PORT)
        # With authentication on, /v2/ answers an anonymous request 401 (with a Basic challenge).
        check = http_check(REGISTRY_PORT, "/v2/", ca_pem).for_status_code(401)
        self.waiting_for(check.with_startup_timeout(math.ceil(self.startup_timeout_s)))
        super()._configure()
