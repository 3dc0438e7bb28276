"""GitLab's ``root``: the administrator every installation starts with, and a personal access token of
theirs for the tools that need an administrator (user creation, ``sudo``).

GitLab seeds ``root`` ("Administrator", ``admin@example.com``; gitlab ``db/fixtures/production/
003_admin.rb``) as its first user. A real installation's token for it is minted inside the instance
(``gitlab-rails runner``: python-gitlab's functional tests do it with their ``set_token.rb``, scopes ``api``
and ``sudo``; a real world's bring-up does it too); the emulation's counterpart is :data:`TOKEN_FILE` in its
data directory, written at start, readable by its owner only.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from nautes_refstack.gitlab.state import GitLabState

USERNAME = "root"
TOKEN_FILE = "root-personal-access-token"
SCOPES = ["api", "sudo"]


def seed_root(state: GitLabState, data_dir: Path) -> None:
    """Create ``root`` and write its token to ``data_dir/TOKEN_FILE`` (mode 0600)."""
    root = state.create_user(USERNAME, "Administrator", "admin@example.com", is_admin=True)
    expires = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=365)
    _, plaintext = state.issue_token(root, "default", SCOPES, expires_at=expires)
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / TOKEN_FILE
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(plaintext + "\n")
