"""A working copy driven by the real ``git`` binary, as a user pushing the quickstart's repos would.

The token never appears in argv (visible in ``/proc/<pid>/cmdline``), in a remote URL (stored in
``.git/config`` and echoed by git's messages) or in an error: it travels in the environment as a
``http.extraHeader`` config entry (``GIT_CONFIG_COUNT``/``GIT_CONFIG_KEY_0``/``GIT_CONFIG_VALUE_0``, git ≥
2.31), the way GitLab accepts a token over HTTP Basic auth with the user name ``oauth2``. A GitLab with a
private CA is trusted through the environment too: ``GIT_SSL_CAINFO``, which git-config(1) documents as
overriding ``http.sslCAInfo`` (so an inherited one, as CI images set, cannot win over the target's), naming
a combined bundle from :mod:`nautes_e2e.clients.trust` (the setting replaces git's default CA file); no
command line and no ``.git/config`` ever differs from a user's.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from nautes_e2e.clients.errors import ServiceUnreachable
from nautes_e2e.secrets import Secret, redact

_URL_CREDENTIALS = re.compile(r"(?<=://)[^/@\s]+@")
GIT_TIMEOUT_S = 120.0


#: git's words when curl got no HTTP answer (an HTTP answer reads "The requested URL returned error").
_HTTP_NO_ANSWER = re.compile(r"unable to access '(?P<endpoint>[^']+)': (?P<reason>(?!The requested URL).+)")
#: ssh's words when it reached no server.
_SSH_NO_ANSWER = re.compile(
    r"ssh: (?:connect to host (?P<host>\S+) port (?P<port>\d+)|Could not resolve hostname (?P<name>[^:\s]+))"
    r": (?P<reason>.+)"
)
TLS_HINT = "give its CA as gitlab.caBundle (or caBundle) in the target file"


class GitError(Exception):
    """A git command failed; the text holds the command (no credentials) and its redacted stderr. A remote
    that never answered raises :class:`~nautes_e2e.clients.errors.ServiceUnreachable` instead."""


@dataclass(frozen=True)
class GitInvocation:
    """Exactly what is executed: argv and the environment additions (the only place credentials live)."""

    argv: tuple[str, ...]
    env: Mapping[str, str]


def git_invocation(args: Sequence[str], token: Secret | None, ca_bundle: Path | None = None) -> GitInvocation:
    """The argv and environment for ``git <args>``; with a token, an ``Authorization: Basic`` extra header;
    with a CA bundle, ``GIT_SSL_CAINFO``."""
    env = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "SSH_ASKPASS": ""}
    if token is not None:
        basic = base64.b64encode(f"oauth2:{token.reveal()}".encode()).decode()
        Secret(basic)  # registers the encoded form with the redactor too
        env.update(
            GIT_CONFIG_COUNT="1",
            GIT_CONFIG_KEY_0="http.extraHeader",
            GIT_CONFIG_VALUE_0=f"Authorization: Basic {basic}",
        )
    if ca_bundle is not None:
        env["GIT_SSL_CAINFO"] = str(ca_bundle)
    return GitInvocation(argv=("git", *args), env=env)


def scrub(text: str) -> str:
    """Text safe to show: registered secrets masked, credentials in URLs removed."""
    return _URL_CREDENTIALS.sub("***@", redact(text))


class GitWorkingCopy:
    """A local clone (or fresh repository) with one remote, ``origin``; ``ca_bundle`` is the complete CA
    file to check the remote's certificate with (the world's ``gitlab_ca_bundle``), None for git's own."""

    def __init__(self, path: Path, token: Secret | None, ca_bundle: Path | None = None) -> None:
        self.path = path
        self._token = token
        self._ca_bundle = ca_bundle

    @classmethod
    def clone(
        cls,
        url: str,
        dest: Path,
        token: Secret | None,
        *,
        branch: str | None = None,
        ca_bundle: Path | None = None,
    ) -> GitWorkingCopy:
        """``git clone [--branch <branch>] <url> <dest>``; ``url`` must not carry credentials."""
        copy = cls(dest, token, ca_bundle)
        dest.parent.mkdir(parents=True, exist_ok=True)
        copy._git(["clone", *(["--branch", branch] if branch else []), "--", url, str(dest)], cwd=dest.parent)
        return copy

    @classmethod
    def init(
        cls,
        dest: Path,
        remote_url: str,
        token: Secret | None,
        branch: str = "main",
        *,
        ca_bundle: Path | None = None,
    ) -> GitWorkingCopy:
        """A new repository on ``branch`` whose ``origin`` is ``remote_url`` (the quickstart force-pushes)."""
        dest.mkdir(parents=True, exist_ok=True)
        copy = cls(dest, token, ca_bundle)
        copy._git(["init", "--quiet", f"--initial-branch={branch}"])
        copy._git(["remote", "add", "origin", remote_url])
        return copy

    def write_files(self, files: Mapping[str, bytes]) -> None:
        """Write files at relative POSIX paths inside the working copy (never outside it)."""
        for relative, content in files.items():
            parts = PurePosixPath(relative).parts
            if not parts or PurePosixPath(relative).is_absolute() or ".." in parts or parts[0] == ".git":
                raise ValueError(f"refusing to write {relative!r}: not a plain path inside the working copy")
            target = self.path.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)

    def commit_all(self, message: str, author_name: str, author_email: str) -> str:
        """Stage everything and commit (empty commits allowed, so a re-push still triggers a webhook)."""
        identity = {
            "GIT_AUTHOR_NAME": author_name,
            "GIT_AUTHOR_EMAIL": author_email,
            "GIT_COMMITTER_NAME": author_name,
            "GIT_COMMITTER_EMAIL": author_email,
        }
        self._git(["add", "--all"])
        self._git(
            ["commit", "--quiet", "--allow-empty", "--no-verify", "--no-gpg-sign", "-m", message],
            extra_env=identity,
        )
        return self.head()

    def push(self, branch: str = "main", *, force: bool = False) -> None:
        """Push HEAD to ``origin``'s ``branch``; raises GitError (redacted stderr) when refused."""
        self._git(["push", *(["--force"] if force else []), "origin", f"HEAD:refs/heads/{branch}"])

    def head(self) -> str:
        return self._git(["rev-parse", "HEAD"]).strip()

    def read(self, path: str) -> str:
        """A file of the working tree."""
        return self.path.joinpath(*PurePosixPath(path).parts).read_text()

    def log_message(self, rev: str = "HEAD") -> str:
        """The full commit message of ``rev``."""
        return self._git(["log", "-1", "--format=%B", rev, "--"]).rstrip("\n")

    def _git(
        self, args: Sequence[str], *, cwd: Path | None = None, extra_env: Mapping[str, str] | None = None
    ) -> str:
        invocation = git_invocation(args, self._token, self._ca_bundle)
        env = {**os.environ, **invocation.env, **(extra_env or {})}
        try:
            completed = subprocess.run(
                invocation.argv,
                cwd=cwd or self.path,
                env=env,
                capture_output=True,
                text=True,
                timeout=GIT_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise GitError(scrub(f"git {' '.join(args)}: no answer after {GIT_TIMEOUT_S:.0f}s")) from None
        if completed.returncode != 0:
            detail = (completed.stderr or completed.stdout).strip()
            unreachable = _unreachable(args, detail)
            if unreachable is not None:
                raise unreachable
            raise GitError(scrub(f"git {' '.join(args)} failed ({completed.returncode}): {detail}"))
        return completed.stdout


def _unreachable(args: Sequence[str], detail: str) -> ServiceUnreachable | None:
    """The remote git could not reach, as git (curl, ssh) said it; None when the remote answered."""
    http = _HTTP_NO_ANSWER.search(detail)
    if http is not None:
        reason = http.group("reason").strip()
        if "certificate" in reason.lower():
            reason += f": {TLS_HINT}"
        return ServiceUnreachable(
            "git remote", scrub(http.group("endpoint")), f"git {args[0]}", scrub(reason)
        )
    ssh = _SSH_NO_ANSWER.search(detail)
    if ssh is not None:
        host = ssh.group("name") or f"{ssh.group('host')}:{ssh.group('port')}"
        return ServiceUnreachable("git remote", f"ssh://{host}", f"git {args[0]}", scrub(ssh.group("reason")))
    return None
