"""Proof that a read-only deploy key cannot push: a real ``git push`` over GitLab's SSH, made with it.

GitLab's ``can_push`` says what a deploy key should be allowed; only the SSH server's answer to a push
shows what it is allowed. The push carries one empty commit to a branch of its own, so that a key that
wrongly can push changes nothing anyone uses (and deletes it again, with the same key). GitLab refuses it with
gitlab-shell's "This deploy key does not have write access to this project." (GitLab
``lib/gitlab/git_access.rb``, ``:deploy_key_upload``).

The private key lives only in a 0600 file of a 0700 temporary directory for the push and goes with it;
git's output is shown only redacted. ``ssh`` runs with no user configuration and no known-hosts file: the
probe sends a signature, never the key, and expects a refusal.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from nautes_e2e.secrets import redact
from nautes_e2e.suite import Secret

PROBE_BRANCH = "nautes-e2e-readonly-push-probe"
#: gitlab-shell's words when a deploy key without write access pushes.
REFUSAL = "deploy key does not have write access"
#: ssh's words when it reached no server (the SSH port is closed or filtered from where the run is).
_NO_ANSWER = re.compile(r"ssh: (?:connect to host \S+ port \d+|Could not resolve hostname \S+): .+")
PUSH_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class PushAttempt:
    """What the push did: ``pushed`` (exit 0), else refused by GitLab as read-only, or no SSH answer at all;
    ``output`` is git's redacted stderr, for a diagnosis."""

    pushed: bool
    refused_read_only: bool
    unreachable: bool
    output: str


def push_with_key(ssh_url: str, private_key: Secret) -> PushAttempt:
    """``git push <ssh_url> HEAD:refs/heads/<PROBE_BRANCH>`` of one empty commit, authenticated with
    ``private_key`` alone."""
    with tempfile.TemporaryDirectory(prefix="nautes-e2e-deploykey-") as scratch:
        key_file = Path(scratch) / "deploy_key"
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(private_key.reveal().rstrip("\n") + "\n")
        ssh = (
            f"ssh -F /dev/null -i {key_file} -o IdentitiesOnly=yes -o BatchMode=yes -o LogLevel=ERROR "
            "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
        )
        env = {**os.environ, "GIT_SSH_COMMAND": ssh, "GIT_TERMINAL_PROMPT": "0"}
        repository = Path(scratch) / "probe"
        identity = ["-c", "user.name=nautes-e2e", "-c", "user.email=nautes-e2e@example.test"]
        steps = [
            ["git", "init", "--quiet", str(repository)],
            ["git", "-C", str(repository), *identity, "commit", "--quiet", "--allow-empty", "-m", "probe"],
        ]
        for step in steps:
            subprocess.run(step, check=True, capture_output=True, env=env, timeout=PUSH_TIMEOUT_S)
        push = _git_push(repository, env, ssh_url, f"HEAD:refs/heads/{PROBE_BRANCH}")
        if push.returncode == 0:  # the key could push: it can delete what it pushed the same way
            _git_push(repository, env, ssh_url, f":refs/heads/{PROBE_BRANCH}")
    output = redact(push.stderr.strip())
    return PushAttempt(
        pushed=push.returncode == 0,
        refused_read_only=push.returncode != 0 and REFUSAL in output,
        unreachable=push.returncode != 0 and _NO_ANSWER.search(output) is not None,
        output=" ".join(output.split())[-300:],
    )


def _git_push(
    repository: Path, env: dict[str, str], url: str, refspec: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(repository), "push", "--quiet", url, refspec],
        capture_output=True,
        text=True,
        env=env,
        timeout=PUSH_TIMEOUT_S,
    )
