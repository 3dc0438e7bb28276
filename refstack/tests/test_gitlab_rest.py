"""The emulated GitLab's REST API, driven with python-gitlab 8.6 as the harness and Nautes drive it."""

from __future__ import annotations

import asyncio
import base64
import itertools

import asyncssh
import gitlab
import pytest
import requests
from gitlab.v4.objects import Project
from nautes_refstack.gitlab import PushEvent
from support.gitlab import Account, RunningGitLab, gitlab_server, owner, unique

__all__ = ["gitlab_server", "owner"]  # module-scoped fixtures shared with the other GitLab test modules

ECDSA_KEY = asyncssh.generate_private_key("ecdsa-sha2-nistp256").export_public_key("openssh").decode()


@pytest.fixture(scope="module")
def api(gitlab_server: RunningGitLab, owner: Account) -> gitlab.Gitlab:
    return gitlab_server.client(owner.token)


@pytest.fixture(scope="module")
def group_id(api: gitlab.Gitlab) -> int:
    return int(api.groups.create({"name": "Product", "path": unique("product")}).id)


def new_project(api: gitlab.Gitlab, group_id: int, readme: bool = True) -> Project:
    return api.projects.create(
        {"name": unique("repo"), "namespace_id": group_id, "initialize_with_readme": readme}
    )


def test_current_user_with_private_token_and_oauth_bearer(
    gitlab_server: RunningGitLab, owner: Account
) -> None:
    for client in (gitlab_server.client(owner.token), gitlab_server.client(owner.token, oauth=True)):
        client.auth()
        assert client.user is not None
        assert (client.user.id, client.user.username) == (owner.user_id, owner.username)
        assert client.user.email == f"{owner.username}@example.com"
    assert gitlab_server.client(owner.token).version()[0] == "15.10.0"


def test_wrong_token_is_401_and_unknown_project_is_404(
    gitlab_server: RunningGitLab, api: gitlab.Gitlab
) -> None:
    with pytest.raises(gitlab.GitlabAuthenticationError) as unauthorized:
        gitlab_server.client("glpat-wrongwrongwrongwron").projects.list()
    assert unauthorized.value.response_code == 401
    with pytest.raises(gitlab.GitlabGetError) as missing:
        api.projects.get("nowhere/nothing")
    assert missing.value.response_code == 404
    assert missing.value.error_message == "404 Project Not Found"
    raw = requests.get(
        f"{gitlab_server.gitlab.url}/api/v4/projects/999999",
        headers={"PRIVATE-TOKEN": api.private_token or ""},
        timeout=5,
    )
    assert raw.json() == {"message": "404 Project Not Found"}


def test_group_and_project_are_created_with_gitlab_attributes(
    gitlab_server: RunningGitLab, api: gitlab.Gitlab, group_id: int
) -> None:
    group = api.groups.get(group_id)
    project = new_project(api, group_id)
    path = f"{group.full_path}/{project.path}"
    assert project.path_with_namespace == path
    assert project.namespace == {
        **project.namespace,
        "id": group_id,
        "kind": "group",
        "full_path": group.full_path,
    }
    assert project.ssh_url_to_repo == f"{gitlab_server.gitlab.ssh_url_base}/{path}.git"
    assert project.http_url_to_repo == f"{gitlab_server.gitlab.url}/{path}.git"
    assert project.web_url == f"{gitlab_server.gitlab.url}/{path}"
    assert (project.default_branch, project.visibility, project.empty_repo) == ("main", "private", False)
    assert (gitlab_server.data_dir / "repositories" / f"{path}.git" / "HEAD").is_file()
    assert api.projects.get(path).id == project.id
    info = gitlab_server.gitlab.find_project(path)
    assert info is not None
    assert (info.id, info.namespace_id, info.default_branch) == (
        project.id,
        group_id,
        "main",
    )
    found_group = gitlab_server.gitlab.find_group(group.full_path)
    assert found_group is not None
    assert found_group.id == group_id
    assert [m.access_level for m in group.members.list()] == [50]


def test_taken_group_path_is_refused_like_gitlab(
    gitlab_server: RunningGitLab, owner: Account, api: gitlab.Gitlab, group_id: int
) -> None:
    taken = api.groups.get(group_id).path
    with pytest.raises(gitlab.GitlabCreateError) as refused:
        api.groups.create({"name": "Again", "path": taken})
    assert refused.value.response_code == 400
    assert refused.value.error_message == 'Failed to save group {:path=>["has already been taken"]}'
    missing = requests.post(
        f"{gitlab_server.gitlab.url}/api/v4/groups",
        json={"description": "no name"},
        headers={"PRIVATE-TOKEN": owner.token},
        timeout=5,
    )
    assert (missing.status_code, missing.json()) == (400, {"error": "name is missing, path is missing"})


def test_private_project_is_404_for_outsiders_and_admins_see_everything(
    gitlab_server: RunningGitLab, api: gitlab.Gitlab, group_id: int
) -> None:
    project = new_project(api, group_id, readme=False)
    outsider = gitlab_server.client(gitlab_server.account().token)
    with pytest.raises(gitlab.GitlabGetError) as hidden:
        outsider.projects.get(project.id)
    assert hidden.value.response_code == 404
    with pytest.raises(gitlab.GitlabGetError):
        outsider.groups.get(group_id)
    admin = gitlab_server.client(gitlab_server.account(is_admin=True).token)
    assert admin.projects.get(project.id).path == project.path
    reporter = gitlab_server.account()
    api.groups.get(group_id).members.create({"user_id": reporter.user_id, "access_level": 20})
    as_reporter = gitlab_server.client(reporter.token)
    assert as_reporter.projects.get(project.id).id == project.id
    with pytest.raises(gitlab.GitlabCreateError) as forbidden:
        as_reporter.projects.get(project.id).hooks.create({"url": "http://127.0.0.1:1/hook"})
    assert forbidden.value.response_code == 403


def test_pagination_headers_and_get_all(gitlab_server: RunningGitLab) -> None:
    account = gitlab_server.account()
    client = gitlab_server.client(account.token)
    group = client.groups.create({"name": "Many", "path": unique("many")})
    for index in range(23):
        client.projects.create({"name": f"p{index:02d}", "namespace_id": group.id})
    first_page = client.projects.list(owned=True, get_all=False)
    assert len(first_page) == 20
    everything = client.projects.list(owned=True, get_all=True)
    assert sorted(p.name for p in everything) == [f"p{i:02d}" for i in range(23)]
    iterator = client.projects.list(owned=True, iterator=True, per_page=10)
    assert len(list(iterator)) == 23
    assert (iterator.total, iterator.total_pages, iterator.per_page) == (23, 3, 10)
    assert len(group.projects.list(get_all=True, search="p1")) == 10
    raw = requests.get(
        f"{gitlab_server.gitlab.url}/api/v4/groups/{group.id}/projects",
        params={"per_page": 5, "page": 2},
        headers={"PRIVATE-TOKEN": account.token},
        timeout=5,
    )
    headers = {
        name: raw.headers[name]
        for name in ("x-total", "x-total-pages", "x-page", "x-next-page", "x-prev-page")
    }
    assert headers == {
        "x-total": "23",
        "x-total-pages": "5",
        "x-page": "2",
        "x-next-page": "3",
        "x-prev-page": "1",
    }
    assert raw.links["next"]["url"].startswith(
        f"{gitlab_server.gitlab.url}/api/v4/groups/{group.id}/projects?"
    )


def test_deploy_key_is_one_key_enabled_on_many_projects(
    gitlab_server: RunningGitLab, api: gitlab.Gitlab, group_id: int
) -> None:
    first, second, third = (new_project(api, group_id) for _ in range(3))
    key = first.keys.create({"title": "repo-1-readonly", "key": ECDSA_KEY, "can_push": False})
    assert (key.can_push, key.fingerprint_sha256.startswith("SHA256:")) == (False, True)
    second.keys.enable(key.id)
    enabled = second.keys.get(key.id)
    assert enabled.can_push is False
    enabled.can_push = True
    enabled.save()
    assert second.keys.get(key.id).can_push is True
    assert first.keys.get(key.id).can_push is False
    again = third.keys.create({"title": "same key", "key": ECDSA_KEY, "can_push": True})
    assert again.id == key.id
    admin = gitlab_server.client(gitlab_server.account(is_admin=True).token)
    listed = next(k for k in admin.deploykeys.list(get_all=True) if k.id == key.id)
    assert sorted(p["id"] for p in listed.projects_with_write_access) == sorted([second.id, third.id])
    with pytest.raises(gitlab.GitlabListError) as not_admin:
        api.deploykeys.list()
    assert not_admin.value.response_code == 403
    for project in (first, second, third):
        project.keys.delete(key.id)
    with pytest.raises(gitlab.GitlabProjectDeployKeyError) as gone:
        first.keys.enable(key.id)
    assert gone.value.error_message == "404 Deploy Key Not Found"


def test_project_access_token_is_a_bot_member_of_one_project(
    gitlab_server: RunningGitLab, api: gitlab.Gitlab, group_id: int
) -> None:
    project, other = new_project(api, group_id), new_project(api, group_id)
    created = project.access_tokens.create(
        {"name": "accesstoken-api", "scopes": ["api"], "access_level": 40, "expires_at": "2099-01-01"}
    )
    assert created.token.startswith("glpat-")
    assert created.access_level == 40
    as_bot = gitlab_server.client(created.token)
    as_bot.auth()
    assert as_bot.user is not None
    assert as_bot.user.bot is True
    assert as_bot.projects.get(project.id).id == project.id
    assert as_bot.projects.get(project.id).hooks.list() == []
    with pytest.raises(gitlab.GitlabGetError):
        as_bot.projects.get(other.id)
    assert [t.name for t in project.access_tokens.list()] == ["accesstoken-api"]
    project.access_tokens.delete(created.id)
    with pytest.raises(gitlab.GitlabAuthenticationError):
        as_bot.projects.get(project.id)


def test_hooks_are_stored_without_revealing_their_token(api: gitlab.Gitlab, group_id: int) -> None:
    project = new_project(api, group_id)
    hook = project.hooks.create({"url": "http://127.0.0.1:9/hook", "token": "s3cret", "push_events": True})
    assert (hook.push_events, hook.tag_push_events, hook.enable_ssl_verification) == (True, False, True)
    assert "token" not in hook.attributes
    hook.enable_ssl_verification = False
    hook.save()
    assert project.hooks.get(hook.id).enable_ssl_verification is False
    with pytest.raises(gitlab.GitlabCreateError) as invalid:
        project.hooks.create({"url": "ftp://127.0.0.1/hook"})
    assert invalid.value.response_code == 422
    hook.delete()
    assert project.hooks.list() == []


def test_default_branch_is_protected_and_force_push_can_be_allowed(api: gitlab.Gitlab, group_id: int) -> None:
    project = new_project(api, group_id)
    protected = project.protectedbranches.get("main")
    assert protected.allow_force_push is False
    assert [level["access_level"] for level in protected.push_access_levels] == [40]
    protected.allow_force_push = True
    protected.save()
    assert project.protectedbranches.get("main").allow_force_push is True
    with pytest.raises(gitlab.GitlabCreateError) as exists:
        project.protectedbranches.create({"name": "main"})
    assert (exists.value.response_code, exists.value.error_message) == (
        409,
        "Protected branch 'main' already exists",
    )
    assert project.branches.get("main").protected is True


def test_files_api_reads_and_commits_and_fires_on_push(
    gitlab_server: RunningGitLab, owner: Account, api: gitlab.Gitlab, group_id: int
) -> None:
    events: list[PushEvent] = []

    async def record(event: PushEvent) -> None:
        events.append(event)

    gitlab_server.gitlab.on_push(record)
    project = new_project(api, group_id)
    readme = project.files.get("README.md", ref="main")
    assert (readme.encoding, readme.file_name, base64.b64decode(readme.content)) == (
        "base64",
        "README.md",
        f"# {project.name}\n".encode(),
    )
    project.files.create(
        {
            "file_path": "production/kustomization.yaml",
            "branch": "main",
            "content": "kind: Kustomization\n",
            "commit_message": "[API] Save operator",
        }
    )
    stored = project.files.get("production/kustomization.yaml", ref="main")
    assert stored.decode() == b"kind: Kustomization\n"
    stored.content = "kind: Kustomization\nresources: []\n"
    stored.save(branch="main", commit_message="update")
    assert (
        project.files.raw("production/kustomization.yaml", ref="main")
        == b"kind: Kustomization\nresources: []\n"
    )
    with pytest.raises(gitlab.GitlabCreateError) as exists:
        project.files.create(
            {"file_path": "README.md", "branch": "main", "content": "x", "commit_message": "x"}
        )
    assert exists.value.error_message == "A file with this name already exists"
    with pytest.raises(gitlab.GitlabGetError) as missing:
        project.files.get("nope.yaml", ref="main")
    assert missing.value.error_message == "404 File Not Found"
    commits = project.commits.list(ref_name="main", get_all=True)
    assert [c.title for c in commits] == ["update", "[API] Save operator", "Initial commit"]
    detail = project.commits.get(commits[0].id)
    assert detail.parent_ids == [commits[1].id]
    assert detail.stats["additions"] == 1
    tree = project.repository_tree(path="production", ref="main", get_all=True)
    assert [(t["name"], t["type"]) for t in tree] == [("kustomization.yaml", "blob")]
    assert gitlab_server.gitlab.read_file(project.id, "main", "production/kustomization.yaml") == (
        b"kind: Kustomization\nresources: []\n"
    )
    assert gitlab_server.gitlab.list_files(project.id, "main", "production/") == [
        "production/kustomization.yaml"
    ]
    project.files.delete(file_path="production/kustomization.yaml", branch="main", commit_message="remove")
    assert gitlab_server.gitlab.read_file(project.id, "main", "production/kustomization.yaml") is None
    gitlab_server.loop.run(asyncio.sleep(0.2))
    mine = [e for e in events if e.project_id == project.id]
    assert [e.ref for e in mine] == ["refs/heads/main"] * 4
    assert mine[0].before == "0" * 40
    assert all(later.before == earlier.after for earlier, later in itertools.pairwise(mine))
    assert {e.user_username for e in mine} == {owner.username}


def test_deleting_a_group_removes_its_projects_and_repositories(
    gitlab_server: RunningGitLab, api: gitlab.Gitlab
) -> None:
    group = api.groups.create({"name": "Doomed", "path": unique("doomed")})
    project = api.projects.create({"name": "repo", "namespace_id": group.id, "initialize_with_readme": True})
    repository = gitlab_server.data_dir / "repositories" / f"{project.path_with_namespace}.git"
    assert repository.is_dir()
    api.groups.delete(group.id)
    assert not repository.exists()
    with pytest.raises(gitlab.GitlabGetError):
        api.projects.get(project.id)
    assert gitlab_server.gitlab.find_project(project.path_with_namespace) is None
