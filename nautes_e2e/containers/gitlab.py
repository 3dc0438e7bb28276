"""GitLab CE in a container, the version the Nautes installer installs, slimmed for a test world.

Version: ``gitlab_version: "15.10.8-ce.0"`` in nautes/group_vars/gitlab.yml (nautes-labs/installer v0.3.8).

Configuration, through ``GITLAB_OMNIBUS_CONFIG`` (read by the image's ``docker/assets/wrapper`` on every
start, gitlabhq/omnibus-gitlab):

- ``external_url`` with its port: omnibus' nginx listens on that port, so the container publishes the same
  port and the URL GitLab writes into clone URLs and webhooks is right from the host and from the world's
  network (docs.gitlab.com, "Install GitLab by using Docker": "Expose GitLab on different ports").
- ``gitlab_rails['gitlab_shell_ssh_port']`` and ``gitlab_ssh_host``: the SSH port and host GitLab shows in SSH
  clone URLs, as the installer sets them (``gitlab_extra_settings``, nautes/group_vars/gitlab.yml). sshd
  itself listens on 22 in the container; the host's ``ssh_port`` is published to it.
- Monitoring off: ``prometheus_monitoring['enable'] = false`` and ``grafana['enable'] = false`` (the
  installer's ``gitlab_extra_settings``), the exporters, alertmanager and Prometheus off
  (python-gitlab's tests/functional/fixtures/docker-compose.yml), no registry, no Let's Encrypt.
- ``gitlab_rails['monitoring_whitelist'] = ['0.0.0.0/0']``: the health endpoints answer only addresses on
  that list, and the harness asks through a published port (python-gitlab's docker-compose.yml does the
  same).
- Smaller: ``puma['worker_processes'] = 0`` and ``sidekiq['max_concurrency'] = 10`` (docs.gitlab.com
  omnibus/settings/memory_constrained_envs).
- TLS: ``nginx['ssl_certificate']``/``ssl_certificate_key`` in ``/etc/gitlab/ssl`` and the world's CA in
  ``/etc/gitlab/trusted-certs`` (so GitLab trusts the world's other services, for webhooks).

The root password is the image's ``GITLAB_ROOT_PASSWORD`` variable (python-gitlab's docker-compose.yml).

Readiness, as python-gitlab's functional suite waits for it (tests/functional/conftest.py, ``check_is_alive``
and ``gitlab_token``, python-gitlab/python-gitlab at 00e38026, after v8.4.0): "gitlab Reconfigured!" in the
container's log (printed by ``gitlab-ctl reconfigure``), then ``/-/health``, ``/-/readiness`` and
``/-/liveness`` answering 200; here as testcontainers wait-strategy objects, in that order.

:meth:`GitLabContainer.mint_token` makes the API token inside, with ``gitlab-rails runner`` (python-gitlab's
``set_token`` and fixtures/set_token.rb; the installer's nautes/gitlab.yaml "Create init token"), and in the
same Rails boot turns on ``allow_local_requests_from_web_hooks_and_services``: without it GitLab refuses
webhooks to private addresses, which is where a test world's Argo Events listens. Unlike both sources, the
token never appears in argv: the script reads it from the exec's environment.
"""

from __future__ import annotations

import math
import secrets
import textwrap
from collections.abc import Sequence
from typing import ClassVar

from testcontainers.core.wait_strategies import CompositeWaitStrategy, LogMessageWaitStrategy

from nautes_e2e.containers.errors import ContainerError
from nautes_e2e.containers.service import LOOPBACK, ServiceContainer
from nautes_e2e.containers.tls import TlsFiles
from nautes_e2e.containers.waits import http_check
from nautes_e2e.secrets import Secret, redact

DEFAULT_GITLAB_IMAGE = "gitlab/gitlab-ce:15.10.8-ce.0"
RECONFIGURED = "gitlab Reconfigured!"
HEALTH_CHECKS = ("health", "readiness", "liveness")
CONTAINER_SSH_PORT = 22
#: The exec's environment variable ``mint_token``'s script reads the token from.
RUNNER_TOKEN_ENV = "NAUTES_E2E_GITLAB_TOKEN"
TOKEN_SCOPES = ("api", "sudo", "read_repository", "write_repository")
TOKEN_NAME = "nautes-e2e"

#: Run by ``gitlab-rails runner``: webhooks to private addresses allowed, then a root token set to the
#: value in the environment (Ruby; no secret in it).
RUNNER_SCRIPT = textwrap.dedent(
    f"""\
    ApplicationSetting.current.update!(allow_local_requests_from_web_hooks_and_services: true)
    user = User.find_by_username('root')
    token = user.personal_access_tokens.create!(scopes: {list(TOKEN_SCOPES)!r}, name: '{TOKEN_NAME}',
                                                expires_at: 365.days.from_now)
    token.set_token(ENV.fetch('{RUNNER_TOKEN_ENV}'))
    token.save!
    puts 'nautes-e2e: token ready'
    """
)


class GitLabContainer(ServiceContainer):
    """``GitLabContainer(world=..., hostname=..., http_port=..., ssh_port=..., root_password=...)``;
    ``.url`` (from the host), ``.external_url`` (what GitLab calls itself), ``.ssh_url``."""

    component: ClassVar[str] = "gitlab"

    def __init__(
        self,
        image: str = DEFAULT_GITLAB_IMAGE,
        *,
        world: str,
        hostname: str,
        http_port: int,
        ssh_port: int,
        root_password: Secret,
        tls: TlsFiles | None = None,
        network: str | None = None,
        aliases: Sequence[str] = (),
        startup_timeout_s: float = 900.0,
        poll_interval_s: float = 5.0,
    ) -> None:
        for name, port in (("http_port", http_port), ("ssh_port", ssh_port)):
            if not 0 < port < 65536:
                raise ValueError(f"GitLab {name} {port}: not a TCP port")
        if http_port == ssh_port:
            raise ValueError(f"GitLab http_port and ssh_port are both {http_port}")
        if len(root_password.reveal()) < 8:
            raise ValueError("GitLab refuses a root password shorter than 8 characters")
        super().__init__(image, world=world, network=network, aliases=aliases)
        self.hostname = hostname
        self.http_port = http_port
        self.ssh_port = ssh_port
        self.root_password = root_password
        self.tls = tls
        self.startup_timeout_s = startup_timeout_s
        self.poll_interval_s = poll_interval_s

    @property
    def scheme(self) -> str:
        return "https" if self.tls is not None else "http"

    @property
    def external_url(self) -> str:
        return f"{self.scheme}://{self.hostname}:{self.http_port}"

    @property
    def url(self) -> str:
        """The web and API address from the host (the published port is the same as GitLab's own)."""
        return f"{self.scheme}://{LOOPBACK}:{self.http_port}"

    @property
    def ssh_url(self) -> str:
        return f"ssh://git@{LOOPBACK}:{self.ssh_port}"

    def omnibus_config(self) -> str:
        """``GITLAB_OMNIBUS_CONFIG`` (Ruby, one setting a line; the module says where each comes from)."""
        lines = [
            f"external_url '{self.external_url}'",
            f"gitlab_rails['gitlab_ssh_host'] = '{self.hostname}'",
            f"gitlab_rails['gitlab_shell_ssh_port'] = {self.ssh_port}",
            "gitlab_rails['monitoring_whitelist'] = ['0.0.0.0/0']",
            "prometheus_monitoring['enable'] = false",
            "grafana['enable'] = false",
            *(
                f"{service}['enable'] = false"
                for service in (
                    "prometheus",
                    "alertmanager",
                    "node_exporter",
                    "redis_exporter",
                    "postgres_exporter",
                    "pgbouncer_exporter",
                    "gitlab_exporter",
                    "registry",
                    "letsencrypt",
                )
            ),
            "puma['worker_processes'] = 0",
            "sidekiq['max_concurrency'] = 10",
        ]
        if self.tls is not None:
            lines += [
                f"nginx['ssl_certificate'] = '/etc/gitlab/ssl/{self.hostname}.crt'",
                f"nginx['ssl_certificate_key'] = '/etc/gitlab/ssl/{self.hostname}.key'",
            ]
        return "\n".join(lines) + "\n"

    def readiness(self) -> CompositeWaitStrategy:
        """The log line, then the health endpoints, each within the startup timeout."""
        ca_pem = None if self.tls is None else self.tls.ca_pem
        checks = [http_check(self.http_port, f"/-/{name}", ca_pem) for name in HEALTH_CHECKS]
        strategy = CompositeWaitStrategy(LogMessageWaitStrategy(RECONFIGURED), *checks)
        timeout = math.ceil(self.startup_timeout_s)
        return strategy.with_startup_timeout(timeout).with_poll_interval(self.poll_interval_s)

    def _configure(self) -> None:
        self.with_env("GITLAB_OMNIBUS_CONFIG", self.omnibus_config())
        self.with_env("GITLAB_ROOT_PASSWORD", self.root_password.reveal())
        if self.tls is not None:
            self.with_copy_into_container(self.tls.cert_pem, f"/etc/gitlab/ssl/{self.hostname}.crt")
            self.with_copy_into_container(self.tls.key_pem, f"/etc/gitlab/ssl/{self.hostname}.key", 0o600)
            self.with_copy_into_container(self.tls.ca_pem, "/etc/gitlab/trusted-certs/nautes-e2e-ca.crt")
        self.publish(self.http_port, self.http_port)
        self.publish(CONTAINER_SSH_PORT, self.ssh_port)
        self.waiting_for(self.readiness())
        super()._configure()

    def mint_token(self) -> Secret:
        """A new root API token (scopes api, sudo, read/write_repository), made inside with
        ``gitlab-rails runner``; local webhooks are allowed in the same run (see the module)."""
        token = Secret("glpat-" + secrets.token_urlsafe(15))
        result = self.get_wrapped_container().exec_run(
            ["gitlab-rails", "runner", "-e", "production", RUNNER_SCRIPT],
            environment={RUNNER_TOKEN_ENV: token.reveal()},
        )
        output = redact(result.output.decode(errors="replace"))
        if result.exit_code != 0:
            raise ContainerError(
                f"gitlab-rails runner in the GitLab container {self.short_id} exited with "
                f"{result.exit_code}: {output[-2000:]}"
            )
        return token
