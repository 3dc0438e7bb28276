"""Moving a branch from the REST API the way GitLab does it: through the same checks and events as a push.

GitLab's API writes (files API commits, branch creation and deletion) run the repository hooks too, so a
protected branch refuses them and a successful one fires the push webhooks; refusals become 400 (files API)
or 403 answers with GitLab's message.
"""

from __future__ import annotations

import asyncio

from nautes_refstack.gitlab.git_access import GitAccessDenied, GitActor
from nautes_refstack.gitlab.model import Project, RefChange, User
from nautes_refstack.gitlab.repository import GitCommandError
from nautes_refstack.gitlab.rest import errors
from nautes_refstack.gitlab.rest.context import ApiContext


async def move_ref(
    ctx: ApiContext, user: User, project: Project, change: RefChange, refusal_status: int
) -> None:
    actor = GitActor(user)
    try:
        await ctx.receiver.check(actor, project, [change], {})
    except GitAccessDenied as denied:
        raise errors.ApiError(refusal_status, {"message": denied.message}) from denied
    repository = ctx.state.repository(project)
    try:
        await asyncio.to_thread(repository.update_ref, change.ref, change.after, change.before)
    except GitCommandError as failure:
        raise errors.bad_request(
            f"Could not update {change.branch or change.ref}. Please refresh and try again."
        ) from failure
    await ctx.receiver.post_receive(actor, project, [change])
