"""Fixtures and helpers shared by the GitLab emulation tests.

The emulated GitLab runs on a :class:`~support.loop.BackgroundLoop`, as it would on the reference stack's
loop, while the tests drive it from the outside with real clients: python-gitlab, ``git`` over
HTTP and SSH, and an aiohttp webhook receiver.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import gitlab
import pytest
from nautes_refstack.gitlab import GitLab

from support.loop import BackgroundLoop


@dataclass(frozen=True)
class Account:
    user_id: int
    username: str
    token: str


@dataclass
class RunningGitLab:
    gitlab: GitLab
    loop: BackgroundLoop
    data_dir: Path

    def account(
        self, username: str = "", is_admin: bool = False, scopes: tuple[str, ...] = ("api",)
    ) -> Account:
        username = username or f"user-{uuid.uuid4().hex[:8]}"
        user_id = self.gitlab.create_user(
            username, username.title(), f"{username}@example.com", is_admin=is_admin
        )
        token = self.gitlab.create_personal_access_token(user_id, "tests", list(scopes))
        return Account(user_id, username, token)

    def client(self, token: str, oauth: bool = False) -> gitlab.Gitlab:
        if oauth:
            return gitlab.Gitlab(self.gitlab.url, oauth_token=token)
        return gitlab.Gitlab(self.gitlab.url, private_token=token)


@pytest.fixture(scope="module")
def gitlab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningGitLab]:
    data_dir = tmp_path_factory.mktemp("gitlab")
    with BackgroundLoop("gitlab-tests") as loop:
        emulated = GitLab(data_dir)
        loop.run(emulated.start())
        try:
            yield RunningGitLab(emulated, loop, data_dir)
        finally:
            loop.run(emulated.stop())


@pytest.fixture(scope="module")
def owner(gitlab_server: RunningGitLab) -> Account:
    """A regular user who creates the groups and projects of a test module (and so owns them)."""
    return gitlab_server.account()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def git(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real git with no user or system configuration and no prompts; never raises on failure."""
    base = {
        "PATH": os.environ["PATH"],
        "HOME": str(cwd or Path.cwd()),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_AUTHOR_NAME": "Tester",
        "GIT_AUTHOR_EMAIL": "tester@example.com",
        "GIT_COMMITTER_NAME": "Tester",
        "GIT_COMMITTER_EMAIL": "tester@example.com",
    }
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def commit_file(checkout: Path, name: str, content: str | bytes, message: str = "change") -> str:
    """Write a file in a checkout, commit it, and return the new commit id."""
    path = checkout / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    assert git("add", name, cwd=checkout).returncode == 0
    assert git("commit", "-q", "-m", message, cwd=checkout).returncode == 0
    return git("rev-parse", "HEAD", cwd=checkout).stdout.strip()
