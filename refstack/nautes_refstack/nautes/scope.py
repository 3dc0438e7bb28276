"""Everything one API request works with: the caller's identity and the backends bound to it.

The API server keeps no state: each request authenticates to GitLab with the caller's token, clones what
it needs and forgets it. A :class:`RequestScope` carries that token to the GitLab client, the git working
copies and the tenant-repository reads, plus the Vault store (which uses the server's own identity).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from nautes_refstack.nautes import errors
from nautes_refstack.nautes.gitlab_api import GitLabApi, GitLabCallError
from nautes_refstack.nautes.tenant import TenantView
from nautes_refstack.nautes.vault_store import VaultStore
from nautes_refstack.nautes.workcopy import WorkingCopy
from nautes_refstack.pace import INSTANT, Pace


@dataclass
class RequestScope:
    token: str
    oauth2: bool
    gitlab: GitLabApi
    vault: VaultStore
    tenant_repo: str
    #: Where clones go: the server's ``/tmp`` (:class:`WorkingCopy` names its per-second directories there).
    clone_root: Path
    tenant_ref: str = "main"
    pace: Pace = INSTANT
    tenant: TenantView = field(init=False)

    def __post_init__(self) -> None:
        self.tenant = TenantView(self.gitlab, self.tenant_repo, self.tenant_ref)

    async def clone(self, url: str) -> WorkingCopy:
        """``ResourcesUsecase.CloneCodeRepo``: who the caller is, then a clone with their credentials."""
        try:
            user = await self.gitlab.current_user()
        except GitLabCallError as failure:
            raise errors.plain(f"failed to get current user, err: {failure.text}") from None
        except errors.NautesError as failure:
            raise errors.plain(f"failed to get current user, err: {failure.message}") from None
        username = str(user.get("username", ""))
        auth_user = "oauth2" if self.oauth2 else username
        email = str(user.get("email", ""))
        return await WorkingCopy.clone(
            url, auth_user, self.token, username, email, into=self.clone_root, pace=self.pace
        )
