"""The fixtures that point python-gitlab's functional tests at the reference stack's GitLab instead of the
GitLab container their conftest starts: its URL and an administrator's token, from the environment the
fidelity test sets (:data:`URL_ENV`, :data:`TOKEN_ENV`)."""

from __future__ import annotations

import os

import gitlab
import pytest

URL_ENV = "NAUTES_E2E_FIDELITY_GITLAB_URL"
TOKEN_ENV = "NAUTES_E2E_FIDELITY_GITLAB_TOKEN"


@pytest.fixture(scope="session")
def gitlab_url() -> str:
    return os.environ[URL_ENV]


@pytest.fixture(scope="session")
def gitlab_token() -> str:
    return os.environ[TOKEN_ENV]


@pytest.fixture(scope="session")
def gl(gitlab_url: str, gitlab_token: str) -> gitlab.Gitlab:
    """Theirs without ``reset_gitlab``: the stack is not a throwaway container (it deletes every project,
    group and user but root), and every fixture of theirs names what it creates with a fresh uuid."""
    instance = gitlab.Gitlab(gitlab_url, private_token=gitlab_token)
    instance.auth()
    return instance
