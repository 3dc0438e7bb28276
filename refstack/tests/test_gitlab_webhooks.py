"""Push webhooks and ``on_push``: what Argo Events and the runtime controllers get after a ``git push``."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from gitlab.v4.objects import Project
from nautes_refstack.gitlab import PushEvent
from nautes_refstack.http import RunningSite, serve
from support.gitlab import Account, RunningGitLab, commit_file, git, gitlab_server, owner, unique

__all__ = ["gitlab_server", "owner"]  # module-scoped fixtures from the shared harness


@dataclass
class Delivery:
    at: float
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Receiver:
    """An aiohttp webhook receiver on the emulation's loop, recording every delivery with its arrival time."""

    site: RunningSite | None = None
    deliveries: list[Delivery] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle(self, request: web.Request) -> web.Response:
        delivery = Delivery(time.monotonic(), request.path, dict(request.headers), await request.json())
        with self.arrived:
            self.deliveries.append(delivery)
            self.arrived.notify_all()
        return web.json_response({})

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Delivery]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.deliveries) >= count, timeout)
            return list(self.deliveries)


@pytest.fixture(scope="module")
def receiver(gitlab_server: RunningGitLab) -> Iterator[Receiver]:
    found = Receiver()
    app = web.Application()
    app.router.add_post("/{tail:.*}", found.handle)
    found.site = gitlab_server.loop.run(serve(app))
    yield found
    gitlab_server.loop.run(found.site.stop())


@pytest.fixture(scope="module")
def pushes(gitlab_server: RunningGitLab) -> list[tuple[float, PushEvent]]:
    seen: list[tuple[float, PushEvent]] = []

    async def record(event: PushEvent) -> None:
        seen.append((time.monotonic(), event))

    gitlab_server.gitlab.on_push(record)
    return seen


@pytest.fixture
def project(gitlab_server: RunningGitLab, owner: Account) -> Project:
    api = gitlab_server.client(owner.token)
    group = api.groups.create({"name": "Hooks", "path": unique("hooks")})
    return api.projects.create({"name": "sc", "namespace_id": group.id, "initialize_with_readme": True})


def test_push_delivers_gitlab_push_hook_and_fires_on_push(
    tmp_path: Path,
    gitlab_server: RunningGitLab,
    owner: Account,
    project: Project,
    receiver: Receiver,
    pushes: list[tuple[float, PushEvent]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert receiver.site is not None
    project.hooks.create(
        {
            "url": f"{receiver.site.url}/product-42-pr/repo-{project.id}",
            "token": "hook-secret",
            "push_events": True,
        }
    )
    url = project.http_url_to_repo.replace("http://", f"http://oauth2:{owner.token}@")
    checkout = tmp_path / "c"
    assert git("clone", url, str(checkout)).returncode == 0
    before = git("rev-parse", "HEAD", cwd=checkout).stdout.strip()
    after = commit_file(
        checkout, "pipelines/main.yaml", "kind: PipelineRun\n", "submit the pipeline configurations."
    )
    started = time.monotonic()
    pushed = git("push", "origin", "main", cwd=checkout)
    push_done = time.monotonic()
    assert pushed.returncode == 0, pushed.stderr
    delivery = receiver.wait_for(1)[-1]
    assert delivery.at - started < 5
    assert delivery.path == f"/product-42-pr/repo-{project.id}"
    assert delivery.headers["X-Gitlab-Event"] == "Push Hook"
    assert delivery.headers["X-Gitlab-Token"] == "hook-secret"
    assert delivery.headers["Content-Type"] == "application/json"
    body = delivery.body
    assert (body["object_kind"], body["event_name"], body["ref"]) == ("push", "push", "refs/heads/main")
    assert (body["before"], body["after"], body["checkout_sha"]) == (before, after, after)
    assert (body["user_username"], body["project_id"], body["total_commits_count"]) == (
        owner.username,
        project.id,
        1,
    )
    assert body["project"] == {
        **body["project"],
        "id": project.id,
        "name": "sc",
        "path_with_namespace": project.path_with_namespace,
        "git_ssh_url": project.ssh_url_to_repo,
        "git_http_url": project.http_url_to_repo,
        "default_branch": "main",
        "web_url": project.web_url,
    }
    assert body["repository"]["git_http_url"] == project.http_url_to_repo
    [commit] = body["commits"]
    assert (commit["id"], commit["title"], commit["added"]) == (
        after,
        "submit the pipeline configurations.",
        ["pipelines/main.yaml"],
    )
    assert commit["url"] == f"{project.web_url}/-/commit/{after}"
    mine = [(at, e) for at, e in pushes if e.project_id == project.id and e.after == after]
    assert len(mine) == 1
    at, event = mine[0]
    assert event == PushEvent(
        project.id, project.path_with_namespace, "refs/heads/main", before, after, owner.username
    )
    with capsys.disabled():
        print(
            f"\n[gitlab] git push {push_done - started:.3f}s; from push start: webhook "
            f"{delivery.at - started:.3f}s, on_push {at - started:.3f}s"
        )


def test_hook_filters_by_event_and_branch(
    tmp_path: Path, owner: Account, project: Project, receiver: Receiver
) -> None:
    assert receiver.site is not None
    project.hooks.create(
        {
            "url": f"{receiver.site.url}/filtered/{project.id}",
            "push_events": True,
            "push_events_branch_filter": "release/*",
            "tag_push_events": True,
        }
    )
    url = project.http_url_to_repo.replace("http://", f"http://oauth2:{owner.token}@")
    checkout = tmp_path / "c"
    assert git("clone", url, str(checkout)).returncode == 0
    baseline = len(receiver.deliveries)
    commit_file(checkout, "a.txt", "a\n")
    assert git("push", "origin", "main", "HEAD:refs/heads/release/1.0", cwd=checkout).returncode == 0
    assert git("tag", "v1.0", cwd=checkout).returncode == 0
    assert git("push", "origin", "v1.0", cwd=checkout).returncode == 0
    seen = receiver.wait_for(baseline + 2)
    mine = [(d.headers["X-Gitlab-Event"], d.body["ref"]) for d in seen if d.path == f"/filtered/{project.id}"]
    assert sorted(mine) == [("Push Hook", "refs/heads/release/1.0"), ("Tag Push Hook", "refs/tags/v1.0")]
    assert "X-Gitlab-Token" not in seen[-1].headers
