"""A throw-away git clone made with the caller's credentials, as ``internal/data/git.go`` makes one.

The real server clones ``http(s)://<gitlab user>:<token>@...`` into a temporary directory, commits as the
GitLab user with the message ``[API] Save operator`` and pushes (``biz/resource.go PushToGit``). The
credentials here travel in git's environment-only configuration (an ``Authorization: Basic`` header with
the same ``user:token`` pair), so they never appear in a URL, in ``.git/config``, in argv or in an error
text; GitLab sees the same HTTP Basic authentication.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import shutil
import tempfile
from pathlib import Path
from types import TracebackType

from nautes_refstack.children import die_with_stack
from nautes_refstack.nautes import errors

COMMIT_MESSAGE = "[API] Save operator"
BRANCH = "main"
_REPO_NAME = re.compile(r"^.+/(.+)\.git$")


class GitFailed(Exception):
    """A git command exited non-zero; ``output`` is its combined output with the token removed."""

    def __init__(self, output: str) -> None:
        super().__init__(output)
        self.output = output


class WorkingCopy:
    """A clone of one repository; use ``async with await WorkingCopy.clone(...)`` to have it removed."""

    def __init__(self, scratch: Path, root: Path, env: dict[str, str], secret: str) -> None:
        self._scratch = scratch
        self.root = root
        self._env = env
        self._secret = secret

    @classmethod
    async def clone(cls, url: str, auth_user: str, token: str, author: str, email: str) -> WorkingCopy:
        """Clone ``url`` as ``auth_user``; commits will be authored by ``author <email>``.

        Failures read like the real server's (``failed to clone repository: <git output>``).
        """
        if not token:
            raise errors.plain(
                f"failed to clone repository, the repository url: {url}, "
                "err: failed to get authorization, the token is not found"
            )
        scratch = Path(tempfile.mkdtemp(prefix="product"))
        env = git_environment(auth_user, token, scratch)
        copy = cls(scratch, scratch, env, token)
        try:
            await copy.git("clone", "--verbose", url, cwd=scratch)
        except GitFailed as failure:
            copy.close()
            raise errors.plain(
                f"failed to clone repository, the repository url: {url}, "
                f"err: failed to clone repository: {failure.output}"
            ) from None
        match = _REPO_NAME.match(url)
        if match is None:
            copy.close()
            raise errors.plain(f'failed to extract repo name from URL "{url}"')
        copy.root = scratch / match.group(1).strip()
        await copy.git("config", "user.name", author)
        await copy.git("config", "user.email", email)
        return copy

    async def __aenter__(self) -> WorkingCopy:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        shutil.rmtree(self._scratch, ignore_errors=True)

    async def git(self, *args: str, cwd: Path | None = None) -> str:
        process = await asyncio.create_subprocess_exec(
            "git",
            *args,
            cwd=cwd or self.root,
            env=self._env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            preexec_fn=die_with_stack(),
        )
        raw, _ = await process.communicate()
        output = raw.decode(errors="replace").replace(self._secret, "***")
        if process.returncode != 0:
            raise GitFailed(output)
        return output

    def path(self, relative: str) -> Path:
        return self.root / relative

    def write(self, relative: str, text: str) -> None:
        target = self.path(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)

    async def push(self) -> None:
        """``PushToGit``: commit whatever changed and push it to ``main``; nothing changed, nothing pushed."""
        try:
            await self.git("fetch", "origin")
            if await self._remote_has_branch():
                ahead = await self.git("diff", BRANCH, f"remotes/origin/{BRANCH}")
                if ahead:
                    await self._merge_and_push()
                    return
            if not (await self.git("status", "--porcelain")).strip():
                return
            await self._commit()
            await self._push()
        except GitFailed as failure:
            raise errors.plain(failure.output) from None

    async def _remote_has_branch(self) -> bool:
        try:
            await self.git("rev-parse", "--verify", "--quiet", f"remotes/origin/{BRANCH}")
        except GitFailed:
            return False
        return True

    async def _commit(self) -> None:
        await self.git("add", ".")
        try:
            await self.git("commit", "-m", COMMIT_MESSAGE)
        except GitFailed as failure:
            raise GitFailed(f"commit output: {failure.output}, err: exit status 1") from None

    async def _push(self) -> None:
        try:
            await self.git("push", "origin", f"HEAD:{BRANCH}")
        except GitFailed as failure:
            raise GitFailed(f"push data: {failure.output}, err: exit status 1") from None

    async def _merge_and_push(self, attempt: int = 1) -> None:
        """``retryAutoMerge``: the remote moved since the clone; merge it and push, three attempts."""
        await self.git("fetch")
        if (await self.git("status", "--porcelain")).strip():
            await self._commit()
        try:
            await self.git("merge", f"origin/{BRANCH}")
        except GitFailed as failure:
            raise GitFailed(
                "when the save configuration cannot be merge automatically, manual approval may be required, "
                f"err: merge data: {failure.output}, err: exit status 1"
            ) from None
        try:
            await self._push()
        except GitFailed as failure:
            if attempt >= 3:
                raise GitFailed(f"failed to save config, err: {failure.output}") from None
            await asyncio.sleep(3)
            await self._merge_and_push(attempt + 1)


def git_environment(username: str, token: str, home: Path) -> dict[str, str]:
    """A clean environment for git over HTTP as ``username``: the credentials go through git's
    environment-only config, never argv, the remote URL or a config file; no user or system config."""
    basic = base64.b64encode(f"{username}:{token}".encode()).decode()
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_COUNT": "2",
        "GIT_CONFIG_KEY_0": "http.extraHeader",
        "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
        "GIT_CONFIG_KEY_1": "init.defaultBranch",
        "GIT_CONFIG_VALUE_1": BRANCH,
    }
