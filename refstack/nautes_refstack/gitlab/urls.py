"""The URLs GitLab prints for its objects (``web_url``, ``http_url_to_repo``, ``ssh_url_to_repo``, ...)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class GitLabUrls:
    """``base`` is ``http://127.0.0.1:P`` (no trailing slash); ``ssh_base`` is ``ssh://git@127.0.0.1:Q``."""

    base: str
    ssh_base: str

    @property
    def api(self) -> str:
        return f"{self.base}/api/v4"

    def project_web(self, path_with_namespace: str) -> str:
        return f"{self.base}/{path_with_namespace}"

    def project_http(self, path_with_namespace: str) -> str:
        return f"{self.base}/{path_with_namespace}.git"

    def project_ssh(self, path_with_namespace: str) -> str:
        return f"{self.ssh_base}/{path_with_namespace}.git"

    def group_web(self, full_path: str) -> str:
        return f"{self.base}/groups/{full_path}"

    def user_web(self, username: str) -> str:
        return f"{self.base}/{username}"

    def commit_web(self, path_with_namespace: str, sha: str) -> str:
        return f"{self.base}/{path_with_namespace}/-/commit/{sha}"

    def avatar(self, email: str) -> str:
        """GitLab's default avatar: a Gravatar URL (never fetched by anything in the stack)."""
        digest = hashlib.md5(email.strip().lower().encode(), usedforsecurity=False).hexdigest()
        return f"https://www.gravatar.com/avatar/{digest}?s=80&d=identicon"
