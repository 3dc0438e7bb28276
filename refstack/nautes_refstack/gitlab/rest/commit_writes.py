"""Writing a commit from the REST API (the files API and ``POST /repository/commits``), as GitLab's
``Commits::CreateService`` does: built on the branch's tip (or ``start_branch`` for a new branch), then moved
in through the same checks and post-receive path as a ``git push``, so protected branches apply and
``on_push``/webhooks fire.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Sequence

from nautes_refstack.gitlab import git_access
from nautes_refstack.gitlab.git_access import GitActor
from nautes_refstack.gitlab.model import ZERO_SHA, Project, RefChange, User
from nautes_refstack.gitlab.repository import BareRepository, FileChange, Signature
from nautes_refstack.gitlab.rest import errors
from nautes_refstack.gitlab.rest.context import ApiContext
from nautes_refstack.gitlab.rest.params import Params
from nautes_refstack.gitlab.rest.ref_updates import move_ref


async def parent_of(
    repository: BareRepository, branch: str, start_branch: str | None
) -> tuple[str | None, str | None]:
    """The branch's current tip (``None`` for a new branch) and the commit to build on. ``start_branch``
    naming another branch while ``branch`` exists is refused (``validate_branch_existence!``)."""
    branches = await asyncio.to_thread(repository.branches)
    if branch in branches:
        if start_branch and start_branch != branch:
            raise errors.bad_request(
                f"A branch called '{branch}' already exists. Switch to that branch in order to make changes"
            )
        return branches[branch], branches[branch]
    if start_branch:
        if start_branch not in branches:
            raise errors.bad_request(f"Cannot find start_branch {start_branch}")
        return None, branches[start_branch]
    if branches:
        raise errors.bad_request("You can only create or edit files when you are on a branch")
    return None, None


def author_of(user: User, params: Params) -> Signature:
    return Signature(params.get_str("author_name") or user.name, params.get_str("author_email") or user.email)


def decoded(content: str, encoding: str | None) -> bytes:
    """``content`` as sent: plain text, or base64 with ``encoding=base64``."""
    if (encoding or "text") == "base64":
        try:
            return base64.b64decode(content, validate=True)
        except binascii.Error as error:
            raise errors.bad_request("Invalid base64 content") from error
    return content.encode()


async def commit_to_branch(
    ctx: ApiContext,
    user: User,
    project: Project,
    branch: str,
    tips: tuple[str | None, str | None],
    changes: Sequence[FileChange],
    message: str,
    author: Signature,
) -> str:
    """Commit ``changes`` on ``tips``' parent and move ``branch`` from its tip to it; the new commit's id."""
    tip, parent = tips
    if not git_access.can_push_to_branch(ctx.state, GitActor(user), project, branch, parent is None):
        raise errors.bad_request("You are not allowed to push into this branch")
    repository = ctx.state.repository(project)
    commit = await asyncio.to_thread(
        repository.write_commit, parent, changes, message, author, Signature(user.name, user.email)
    )
    change = RefChange(tip or ZERO_SHA, commit, f"refs/heads/{branch}")
    await move_ref(ctx, user, project, change, refusal_status=400)
    return commit
