"""The files of the GitLab "replay" image: a stand-in that boots like GitLab CE's image, for tests only.

GitLab CE boots for minutes and its image cannot be pulled here, yet the readiness of
:class:`~nautes_e2e.containers.gitlab.GitLabContainer` must be tested against a real container. The replay
image does what the checks look at and nothing else:

- it prints the start-up log of GitLab's Docker image (``docker/assets/wrapper`` in gitlabhq/omnibus-gitlab:
  the banner, "Configuring GitLab...", then ``gitlab-ctl reconfigure``'s closing "gitlab Reconfigured!"),
  after ``REPLAY_DELAY_S`` seconds; ``REPLAY_RECONFIGURED=false`` leaves that last line out;
- it answers ``/-/health``, ``/-/readiness`` and ``/-/liveness`` (GitLab's health check endpoints,
  docs.gitlab.com administration/monitoring/health_check) on the port of ``external_url`` in
  ``GITLAB_OMNIBUS_CONFIG``, as omnibus' nginx listens on that port;
- a fake ``gitlab-rails runner SCRIPT`` keeps the script and the token it found in the environment under
  ``/replay/`` so that a test can check what token minting sends, and what it keeps out of argv.

Everything is busybox (Debian's ``busybox-static``): ``sh``, ``sed``, ``sleep`` and ``httpd``.
"""

from __future__ import annotations

from nautes_e2e.containers.gitlab import RUNNER_TOKEN_ENV

WRAPPER = r"""#!/bin/sh
# Replays GitLab CE's start-up (docker/assets/wrapper of omnibus-gitlab), then serves its health checks.
port=$(printf '%s\n' "$GITLAB_OMNIBUS_CONFIG" \
  | sed -n "s/^external_url '[a-z]*:\/\/[^:'/]*:\([0-9][0-9]*\).*/\1/p")
cat /assets/boot.log
sleep "${REPLAY_DELAY_S:-1}"
cat /assets/reconfigure.log
if [ "${REPLAY_RECONFIGURED:-true}" = true ]; then
  echo "gitlab Reconfigured!"
fi
exec httpd -f -p "${port:-80}" -h /assets/www
"""

GITLAB_RAILS = r"""#!/bin/sh
# Fake gitlab-rails: records what "gitlab-rails runner SCRIPT" was given.
if [ "$1" != runner ]; then
  echo "replay gitlab-rails only knows: runner [-e ENV] SCRIPT" >&2
  exit 64
fi
shift
if [ "$1" = -e ]; then
  shift 2
fi
mkdir -p /replay
printf '%s' "$1" > /replay/runner-script.rb
printf '%s' "$@TOKEN_ENV@" > /replay/runner-token
echo "nautes-e2e: token ready"
""".replace("@TOKEN_ENV@", RUNNER_TOKEN_ENV)

BOOT_LOG = """\
Thank you for using GitLab Docker Image!
Current version: gitlab-ce=15.10.8-ce.0

Configure GitLab for your system by editing /etc/gitlab/gitlab.rb file
And restart this container to reload settings.
To do it use docker exec:

  docker exec -it gitlab editor /etc/gitlab/gitlab.rb
  docker restart gitlab

For a comprehensive list of configuration options please see the Omnibus GitLab readme
https://gitlab.com/gitlab-org/omnibus-gitlab/blob/master/README.md

If this container fails to start due to permission problems try to fix it by executing:

  docker exec -it gitlab update-permissions
  docker restart gitlab

Cleaning stale PIDs & sockets
Installing gitlab.rb config...
Generating ssh_host_rsa_key...
Preparing services...
Starting services...
Configuring GitLab...
"""

RECONFIGURE_LOG = """\
[2026-01-01T00:00:00+00:00] INFO: Started Cinc Zero at chefzero://localhost:1 with repository at /opt/gitlab
Starting Cinc Client, version 17.10.0
[2026-01-01T00:00:01+00:00] INFO: Run List expands to [gitlab]
Recipe: gitlab::default
  * directory[/etc/gitlab] action create (up to date)
Running handlers:
[2026-01-01T00:01:40+00:00] INFO: Running report handlers
Running handlers complete
Cinc Client finished, 612/1633 resources updated in 01 minutes 40 seconds
"""

#: The health endpoints' answers (GitLab's health check documentation).
HEALTH = {
    "health": "GitLab OK",
    "readiness": '{"status":"ok","master_check":[{"status":"ok"}]}',
    "liveness": '{"status":"ok"}',
}
