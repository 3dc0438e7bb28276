"""A restarting GitLab (fault ``gitlab-502-first-request``) and the go-gitlab clients that ride it out.

The emulation answers Workhorse's 502 to the first request of each REST method and path, leaving git and
the internal API alone; the stack's go-gitlab clients send again as go-gitlab does (429 and any 5xx, at most
five resends), and take a 4xx as final.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import gitlab
import pytest
import requests
from nautes_refstack import go_gitlab
from nautes_refstack.faults import parse_faults
from nautes_refstack.gitlab import GitLab
from nautes_refstack.pace import INSTANT
from support.gitlab import Account, RunningGitLab, git
from support.loop import BackgroundLoop


@pytest.fixture(scope="module")
def restarting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningGitLab]:
    data_dir = tmp_path_factory.mktemp("gitlab-restarting")
    faults = parse_faults(["gitlab-502-first-request"])
    with BackgroundLoop("gitlab-restarting") as loop:
        emulated = GitLab(data_dir, faults)
        loop.run(emulated.start())
        faults.arm()
        try:
            yield RunningGitLab(emulated, loop, data_dir)
        finally:
            loop.run(emulated.stop())


def test_the_first_request_of_each_method_and_path_gets_workhorses_502(restarting: RunningGitLab) -> None:
    owner = restarting.account()
    headers = {"PRIVATE-TOKEN": owner.token}
    url = f"{restarting.gitlab.url}/api/v4/user"

    first = requests.get(url, headers=headers, timeout=5)
    again = requests.get(url, params={"page": "2"}, headers=headers, timeout=5)  # the query does not count

    assert (first.status_code, first.headers["Content-Type"], first.text) == (
        502,
        "text/plain",
        "GitLab is not responding",
    )
    assert again.status_code == 200
    assert (
        requests.post(f"{restarting.gitlab.url}/api/v4/user/keys", headers=headers, timeout=5).status_code
        == 502
    )


def test_git_over_http_is_not_touched(restarting: RunningGitLab, tmp_path: Path) -> None:
    owner, project = _owner_with_project(restarting)
    remote = restarting.gitlab.url.replace("://", f"://oauth2:{owner.token}@") + f"/{project}.git"

    for checkout in ("first", "second"):  # a 502 would fail the first clone: git does not send again
        cloned = git("clone", "-q", remote, checkout, cwd=tmp_path)
        assert cloned.returncode == 0, cloned.stderr
    pushed = git("push", "-q", "origin", "HEAD:refs/heads/other", cwd=tmp_path / "first")

    assert pushed.returncode == 0, pushed.stderr  # the push's internal API calls answer at once too


def _owner_with_project(restarting: RunningGitLab) -> tuple[Account, str]:
    """A user and a project of theirs, created through the fault by a client that sends again."""
    owner = restarting.account()
    api = gitlab.Gitlab(restarting.gitlab.url, private_token=owner.token, retry_transient_errors=True)
    group = api.groups.create({"name": "Restart", "path": f"restart-{uuid.uuid4().hex[:6]}"})
    project = api.projects.create({"name": "sc", "namespace_id": group.id, "initialize_with_readme": True})
    return owner, str(project.path_with_namespace)


def _answers(*statuses: int) -> tuple[list[int], go_gitlab.Answer]:
    """A scripted ``send_once``: each call answers the next status (then the last again)."""
    sent: list[int] = []

    async def once() -> go_gitlab.Answer:
        status = statuses[min(len(sent), len(statuses) - 1)]
        sent.append(status)
        return go_gitlab.Answer(status, b"{}")

    answer = asyncio.run(go_gitlab.send(once, INSTANT, "GET http://gitlab/api/v4/user"))
    return sent, answer


@pytest.mark.parametrize("transient", [502, 500, 429])
def test_go_gitlab_sends_again_on_a_429_or_any_5xx(transient: int) -> None:
    sent, answer = _answers(transient, 200)

    assert (sent, answer.status) == ([transient, 200], 200)


def test_go_gitlab_gives_up_after_five_resends_with_the_last_answer() -> None:
    sent, answer = _answers(502)

    assert (len(sent), answer.status) == (1 + go_gitlab.RETRY_MAX, 502)


def test_go_gitlab_takes_a_4xx_as_final() -> None:
    sent, answer = _answers(404, 200)

    assert (sent, answer.status) == ([404], 404)


def test_go_gitlab_pauses_grow_linearly_from_700_to_900_ms() -> None:
    for resend in range(go_gitlab.RETRY_MAX):
        assert 0.7 * (resend + 1) <= go_gitlab.pause_s(502, resend) < 0.9 * (resend + 1)
    assert 0.1 <= go_gitlab.pause_s(429, 3) < 0.4
