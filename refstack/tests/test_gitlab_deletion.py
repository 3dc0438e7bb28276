"""Deleting projects and groups under the ``real`` pace: GitLab CE 15.10 answers ``202`` and destroys them
in a Sidekiq job a little later (:mod:`nautes_refstack.gitlab.deletion`), driven with python-gitlab."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import gitlab
import pytest
import requests
from nautes_refstack.gitlab import GitLab
from nautes_refstack.gitlab.deletion import GROUP_DESTROY_SECONDS, PROJECT_DESTROY_SECONDS
from nautes_refstack.pace import Pace
from support.gitlab import unique
from support.loop import BackgroundLoop
from support.wait import wait_for

SCALE = 0.05  # the project job runs 0.25 s after the DELETE, the group job 0.5 s after


@pytest.fixture(scope="module")
def real_gitlab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GitLab, gitlab.Gitlab]]:
    with BackgroundLoop("gitlab-deletion-tests") as loop:
        emulated = GitLab(tmp_path_factory.mktemp("gitlab"), pace=Pace(real=True, scale=SCALE))
        loop.run(emulated.start())
        try:
            user_id = emulated.create_user("owner", "Owner", "owner@example.com")
            token = emulated.create_personal_access_token(user_id, "tests", ["api"])
            yield emulated, gitlab.Gitlab(emulated.url, private_token=token)
        finally:
            loop.run(emulated.stop())


def _repository(emulated: GitLab, path_with_namespace: str) -> Path:
    return emulated.data_dir / "repositories" / f"{path_with_namespace}.git"


def test_a_deleted_project_is_not_found_at_once_but_holds_its_path_until_the_job_runs(
    real_gitlab: tuple[GitLab, gitlab.Gitlab],
) -> None:
    emulated, api = real_gitlab
    group = api.groups.create({"name": "Product", "path": unique("product")})
    project = api.projects.create({"name": "repo", "namespace_id": group.id, "initialize_with_readme": True})
    headers = {"PRIVATE-TOKEN": api.private_token or ""}

    started = time.monotonic()
    deleted = requests.delete(f"{emulated.url}/api/v4/projects/{project.id}", headers=headers, timeout=10)
    assert (deleted.status_code, deleted.json()) == (202, {"message": "202 Accepted"})
    gone = requests.get(f"{emulated.url}/api/v4/projects/{project.id}", headers=headers, timeout=10)
    assert (gone.status_code, gone.json()) == (404, {"message": "404 Project Not Found"})
    with pytest.raises(gitlab.GitlabCreateError) as taken:
        api.projects.create({"name": "repo", "namespace_id": group.id})
    assert taken.value.response_code == 400
    assert "has already been taken" in str(taken.value.error_message)
    assert _repository(emulated, project.path_with_namespace).is_dir()
    again = requests.delete(f"{emulated.url}/api/v4/projects/{project.id}", headers=headers, timeout=10)
    assert again.status_code == 404

    wait_for(lambda: not _repository(emulated, project.path_with_namespace).exists(), 5)
    assert time.monotonic() - started >= PROJECT_DESTROY_SECONDS * SCALE
    assert api.projects.create({"name": "repo", "namespace_id": group.id}).path == "repo"


def test_a_deleted_group_stays_readable_with_its_projects_until_the_job_runs(
    real_gitlab: tuple[GitLab, gitlab.Gitlab],
) -> None:
    emulated, api = real_gitlab
    group = api.groups.create({"name": "Doomed", "path": unique("doomed")})
    project = api.projects.create({"name": "repo", "namespace_id": group.id})

    started = time.monotonic()
    api.groups.delete(group.id)  # 202 Accepted (python-gitlab raises on anything else)
    assert api.groups.get(group.id).full_path == group.full_path
    assert api.projects.get(project.id).path_with_namespace == project.path_with_namespace
    api.groups.delete(group.id)  # CE marks nothing: a second DELETE queues a second job

    wait_for(lambda: emulated.find_group(group.full_path) is None, 5)
    assert time.monotonic() - started >= GROUP_DESTROY_SECONDS * SCALE
    with pytest.raises(gitlab.GitlabGetError):
        api.groups.get(group.id)
    with pytest.raises(gitlab.GitlabGetError):
        api.projects.get(project.id)
    assert not _repository(emulated, project.path_with_namespace).exists()
