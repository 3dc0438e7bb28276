"""An emulated GitLab CE 15.10 over real bare git repositories.

What python-gitlab and the Nautes API server use of the REST API v4, git over smart HTTP (``git
http-backend``) and over SSH (asyncssh, deploy keys), GitLab's push checks in server-side hooks (protected
branches, force push), and push webhooks. Start with :class:`GitLab`.
"""

from __future__ import annotations

from nautes_refstack.gitlab.emulator import GitLab, GroupInfo, ProjectInfo
from nautes_refstack.gitlab.events import PushEvent

__all__ = ["GitLab", "GroupInfo", "ProjectInfo", "PushEvent"]
