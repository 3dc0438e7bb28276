"""The GitLab behaviours added for python-gitlab's own functional tests (tests/fidelity/gitlab), pinned down
where those tests only touch them: exact headers, messages and side effects as GitLab CE 15.10 has them."""

from __future__ import annotations

import base64
import stat

import gitlab
import pytest
import requests
from nautes_refstack.gitlab.root_user import TOKEN_FILE
from support.gitlab import Account, RunningGitLab, gitlab_server, owner, unique

__all__ = ["gitlab_server", "owner"]


@pytest.fixture(scope="module")
def root_token(gitlab_server: RunningGitLab) -> str:
    return (gitlab_server.data_dir / TOKEN_FILE).read_text().strip()


@pytest.fixture(scope="module")
def api(gitlab_server: RunningGitLab, owner: Account) -> gitlab.Gitlab:
    return gitlab_server.client(owner.token)


def _raw(
    server: RunningGitLab,
    method: str,
    path: str,
    token: str,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
) -> requests.Response:
    return requests.request(
        method,
        f"{server.gitlab.url}/api/v4{path}",
        headers={"PRIVATE-TOKEN": token, **(headers or {})},
        params=params,
        timeout=10,
    )


def test_root_is_the_first_user_an_administrator_with_a_private_token_file(
    gitlab_server: RunningGitLab, root_token: str
) -> None:
    mode = stat.S_IMODE((gitlab_server.data_dir / TOKEN_FILE).stat().st_mode)
    assert mode == 0o600
    root = gitlab_server.client(root_token)
    root.auth()
    assert root.user is not None
    assert (root.user.id, root.user.username, root.user.name, root.user.is_admin) == (
        1,
        "root",
        "Administrator",
        True,
    )


def test_sudo_is_for_administrator_tokens_with_the_sudo_scope(
    gitlab_server: RunningGitLab, owner: Account, root_token: str
) -> None:
    as_owner = _raw(gitlab_server, "GET", "/user", root_token, headers={"Sudo": owner.username})
    assert as_owner.json()["username"] == owner.username
    refused = _raw(gitlab_server, "GET", "/user", owner.token, headers={"Sudo": "root"})
    assert (refused.status_code, refused.json()) == (
        403,
        {"message": "403 Forbidden - Must be admin to use sudo"},
    )
    admin = gitlab_server.account(is_admin=True, scopes=("api",))
    no_scope = _raw(gitlab_server, "GET", "/user", admin.token, headers={"Sudo": owner.username})
    assert (no_scope.status_code, no_scope.json()["error"]) == (403, "insufficient_scope")
    nobody = _raw(gitlab_server, "GET", "/user", root_token, headers={"Sudo": "nobody-here"})
    assert nobody.json() == {"message": "404 User with ID or username 'nobody-here' Not Found"}


def test_file_metadata_comes_as_x_gitlab_headers_on_head_and_json_is_plain_application_json(
    gitlab_server: RunningGitLab, api: gitlab.Gitlab, owner: Account
) -> None:
    project = api.projects.create({"name": unique("files"), "initialize_with_readme": True})
    project.files.create(
        {"file_path": "dir/a.txt", "branch": "main", "content": "hello", "commit_message": "add"}
    )
    path = f"/projects/{project.id}/repository/files/dir%2Fa.txt"
    head = _raw(gitlab_server, "HEAD", path, owner.token, params={"ref": "main"})
    commit = project.commits.list(ref_name="main")[0].id
    assert head.status_code == 200
    assert {k: v for k, v in head.headers.items() if k.startswith("X-Gitlab-")} == {
        "X-Gitlab-File-Name": "a.txt",
        "X-Gitlab-File-Path": "dir/a.txt",
        "X-Gitlab-Size": "5",
        "X-Gitlab-Encoding": "base64",
        "X-Gitlab-Content-Sha256": "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
        "X-Gitlab-Ref": "main",
        "X-Gitlab-Blob-Id": head.headers["X-Gitlab-Blob-Id"],
        "X-Gitlab-Commit-Id": commit,
        "X-Gitlab-Last-Commit-Id": commit,
        "X-Gitlab-Execute-Filemode": "false",
    }
    raw = _raw(gitlab_server, "GET", path + "/raw", owner.token)
    assert (raw.text, raw.headers["X-Gitlab-Ref"]) == ("hello", "")
    assert _raw(gitlab_server, "GET", path, owner.token, params={"ref": "main"}).headers["Content-Type"] == (
        "application/json"
    )
    blame = project.files.blame(file_path="dir/a.txt", ref="main")
    assert [(b["commit"]["id"], b["lines"]) for b in blame] == [(commit, ["hello"])]


def test_a_commit_of_several_actions_and_its_refusals(api: gitlab.Gitlab) -> None:
    project = api.projects.create({"name": unique("actions"), "initialize_with_readme": True})
    actions = [
        {"action": "create", "file_path": "a", "content": "one"},
        {
            "action": "create",
            "file_path": "b",
            "content": base64.b64encode(b"two").decode(),
            "encoding": "base64",
        },
        {"action": "move", "file_path": "c", "previous_path": "README.md"},
        {"action": "chmod", "file_path": "a", "execute_filemode": True},
    ]
    commit = project.commits.create({"branch": "main", "commit_message": "several", "actions": actions})
    tree = {entry["path"]: entry["mode"] for entry in project.repository_tree(ref="main")}
    assert tree == {"a": "100755", "b": "100644", "c": "100644"}
    assert project.files.raw(file_path="b", ref="main") == b"two"
    assert {d["new_path"] for d in commit.diff()} == {"a", "b", "c", "README.md"}
    with pytest.raises(gitlab.GitlabCreateError) as exists:
        project.commits.create(
            {"branch": "main", "commit_message": "x", "actions": [{"action": "create", "file_path": "a"}]}
        )
    assert (exists.value.response_code, exists.value.error_message) == (
        400,
        "A file with this name already exists",
    )
    with pytest.raises(gitlab.GitlabCreateError) as unknown:
        project.commits.create(
            {"branch": "main", "commit_message": "x", "actions": [{"action": "rename", "file_path": "a"}]}
        )
    assert unknown.value.error_message == "actions[0][action] does not have a valid value"
    side = project.commits.create(
        {
            "branch": "side",
            "start_branch": "main",
            "commit_message": "side",
            "actions": [{"action": "delete", "file_path": "a"}],
        }
    )
    assert side.id not in {c.id for c in project.commits.list(get_all=True)}
    assert side.id in {c.id for c in project.commits.list(get_all=True, all=True)}
    assert project.commits.get(side.id).refs() == [{"type": "branch", "name": "side"}]


def test_a_branch_on_an_empty_project_first_commits_an_empty_readme(api: gitlab.Gitlab) -> None:
    project = api.projects.create({"name": unique("empty")})
    branch = project.branches.create({"branch": "feature", "ref": "main"})
    assert branch.commit["message"] == "Add README.md"
    assert project.files.raw(file_path="README.md", ref="main") == b""
    with pytest.raises(gitlab.GitlabGetError) as unsigned:
        project.commits.get(branch.commit["id"]).signature()
    assert unsigned.value.error_message == "404 Signature Not Found"


def test_tags_lightweight_and_annotated(api: gitlab.Gitlab) -> None:
    project = api.projects.create({"name": unique("tags"), "initialize_with_readme": True})
    light = project.tags.create({"tag_name": "v1", "ref": "main"})
    annotated = project.tags.create({"tag_name": "v2", "ref": "main", "message": "  Release 2  "})
    assert (light.message, light.target) == ("", light.commit["id"])
    assert annotated.message == "Release 2"
    assert annotated.target != annotated.commit["id"] == light.commit["id"]
    with pytest.raises(gitlab.GitlabCreateError) as twice:
        project.tags.create({"tag_name": "v1", "ref": "main"})
    assert (twice.value.response_code, twice.value.error_message) == (400, "Tag v1 already exists")
    project.tags.delete("v1")
    assert [t.name for t in project.tags.list()] == ["v2"]


def test_sharing_a_group_gives_the_other_groups_members_capped_access(
    gitlab_server: RunningGitLab, api: gitlab.Gitlab
) -> None:
    shared = api.groups.create({"name": unique("shared"), "path": unique("shared")})
    project = api.projects.create({"name": unique("inside"), "namespace_id": shared.id})
    team = api.groups.create({"name": unique("team"), "path": unique("team")})
    member = gitlab_server.account()
    team.members.create({"user_id": member.user_id, "access_level": 50})
    as_member = gitlab_server.client(member.token)
    with pytest.raises(gitlab.GitlabGetError):
        as_member.projects.get(project.id)
    shared.share(team.id, 20)
    assert as_member.projects.get(project.id).id == project.id  # readable through the share now
    with pytest.raises(gitlab.GitlabCreateError):  # Reporter, capped from Owner: no push
        as_member.projects.get(project.id, lazy=True).files.create(
            {"file_path": "x", "branch": "main", "content": "x", "commit_message": "x"}
        )
    assert [g["group_id"] for g in api.groups.get(shared.id).shared_with_groups] == [team.id]
    shared.unshare(team.id)
    with pytest.raises(gitlab.GitlabGetError):
        as_member.projects.get(project.id)


def test_deleting_a_user_keeps_the_groups_they_alone_own_unless_hard_deleted(
    gitlab_server: RunningGitLab, root_token: str
) -> None:
    root = gitlab_server.client(root_token)
    user = root.users.create(
        {
            "email": f"{unique('u')}@example.com",
            "username": unique("u"),
            "name": "U",
            "password": "long-enough-1",
        }
    )
    as_user = gitlab_server.client(root_token)
    group = as_user.groups.create({"name": unique("solo"), "path": unique("solo")}, sudo=user.id)
    root.users.delete(user.id)
    assert root.users.get(user.id).id == user.id
    root.users.delete(user.id, hard_delete=True)
    with pytest.raises(gitlab.GitlabGetError):
        root.users.get(user.id)
    with pytest.raises(gitlab.GitlabGetError):
        root.groups.get(group.id)
    with pytest.raises(gitlab.GitlabCreateError) as taken:
        root.users.create(
            {"email": "admin@example.com", "username": unique("u"), "name": "U", "password": "long-enough-1"}
        )
    assert (taken.value.response_code, taken.value.error_message) == (409, "Email has already been taken")


def test_pushes_and_project_creation_are_events(
    gitlab_server: RunningGitLab, api: gitlab.Gitlab, owner: Account
) -> None:
    project = api.projects.create({"name": unique("events"), "initialize_with_readme": True})
    project.files.create({"file_path": "a", "branch": "main", "content": "a", "commit_message": "add a"})
    project.branches.create({"branch": "side", "ref": "main"})
    events = [e.attributes for e in project.events.list(get_all=True)]
    assert [e["action_name"] for e in events] == ["pushed new", "pushed to", "pushed new", "created"]
    side, update, first, _ = (e.get("push_data") for e in events)
    assert (side["ref"], side["action"], side["commit_count"]) == ("side", "created", 0)
    assert (update["ref"], update["action"], update["commit_count"], update["commit_title"]) == (
        "main",
        "pushed",
        1,
        "add a",
    )
    assert (first["commit_from"], first["commit_count"]) == (None, 1)
    assert {e["author_username"] for e in events} == {owner.username}
    assert [e.action_name for e in project.events.list(action="created")] == ["created"]
    stranger = gitlab_server.client(gitlab_server.account().token)
    assert not stranger.users.get(owner.user_id, lazy=True).events.list()
