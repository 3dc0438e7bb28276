"""What the Nautes installer leaves behind in GitLab, recreated through GitLab's own API and real git.

The installer (contract §3.1, §5.1) creates the GitLab group ``nautes`` with the tenant configuration
repository ``management`` holding the ``CodeRepoProvider``; the quickstart then asks for a GitLab account
with a personal access token that may push to that repository's ``main``. Doing this through the REST API
and ``git push`` (rather than writing emulator state directly) means a broken GitLab emulation breaks the
bootstrap too, instead of hiding behind it.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import aiohttp
import yaml

from nautes_refstack.gitlab import GitLab
from nautes_refstack.nautes.workcopy import git_environment

USERNAME = "quickstart-user"
TOKEN_SCOPES = ["api", "read_api", "read_repository", "write_repository"]
PROVIDER_FILE = "nautes/overlays/production/code-repo-providers/provider.yaml"


class BootstrapError(RuntimeError):
    """The emulated GitLab refused a step of the installation."""


class TenantBootstrap:
    """Creates the quickstart user, its token and the tenant repository; returns the token."""

    def __init__(self, gitlab: GitLab, tenant_repo: str) -> None:
        self.gitlab = gitlab
        self.group_path, self.project_path = tenant_repo.split("/", 1)

    async def run(self, scratch: Path) -> str:
        user_id = self.gitlab.create_user(USERNAME, "Quickstart User", f"{USERNAME}@example.test")
        token = self.gitlab.create_personal_access_token(user_id, "nautes-e2e", TOKEN_SCOPES)
        headers = {"PRIVATE-TOKEN": token}
        async with aiohttp.ClientSession(base_url=self.gitlab.url, headers=headers) as http:
            group = await _post(http, "/api/v4/groups", {"name": self.group_path, "path": self.group_path})
            await _post(
                http,
                "/api/v4/projects",
                {"name": self.project_path, "path": self.project_path, "namespace_id": group["id"]},
            )
        await self._push_initial_content(token, scratch)
        return token

    def _provider(self) -> str:
        provider = {
            "apiVersion": "nautes.resource.nautes.io/v1alpha1",
            "kind": "CodeRepoProvider",
            "metadata": {"name": "gitlab-nautes", "namespace": "nautes"},
            "spec": {
                "httpAddress": self.gitlab.url,
                "sshAddress": self.gitlab.ssh_url_base,
                "apiServer": self.gitlab.url,
                "providerType": "gitlab",
            },
        }
        return yaml.safe_dump(provider, sort_keys=True)

    async def _push_initial_content(self, token: str, scratch: Path) -> None:
        remote = f"{self.gitlab.url}/{self.group_path}/{self.project_path}.git"
        with tempfile.TemporaryDirectory(dir=scratch, prefix="tenant-") as work:
            target = Path(work) / PROVIDER_FILE
            target.parent.mkdir(parents=True)
            target.write_text(self._provider())
            env = git_environment("oauth2", token, scratch)
            for args in (
                ("init", "-q", "-b", "main"),
                ("add", "-A"),
                (
                    "-c",
                    "user.name=Nautes Installer",
                    "-c",
                    "user.email=installer@example.test",
                    "commit",
                    "-q",
                    "-m",
                    "Initialize the tenant configuration repository",
                ),
                ("push", "-q", remote, "main"),
            ):
                await _git(work, env, *args)


async def _git(cwd: str, env: dict[str, str], *args: str) -> None:
    process = await asyncio.create_subprocess_exec(
        "git", *args, cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await process.communicate()
    if process.returncode != 0:
        raise BootstrapError(f"git {args[0]} failed: {stderr.decode(errors='replace').strip()}")


async def _post(http: aiohttp.ClientSession, path: str, body: dict[str, object]) -> dict[str, object]:
    async with http.post(path, json=body) as resp:
        payload = await resp.json()
        if resp.status != 201:
            raise BootstrapError(f"POST {path} answered {resp.status}: {payload}")
        if not isinstance(payload, dict):
            raise BootstrapError(f"POST {path} answered a non-object: {payload!r}")
        return payload
