"""Clients of the world the quickstart runs in: each speaks the protocol the user's own tool would.

``NautesClient`` sends what the ``nautes`` CLI v0.4.2 sends; ``GitLabClient`` is python-gitlab;
``GitWorkingCopy`` is the real ``git``; ``KubeClient`` is the kubernetes client; ``VaultClient`` is hvac;
``RegistryClient`` speaks the OCI distribution API. None of them knows which target it talks to.

A service that answers and refuses raises that client's error; one that never answers raises the same
:class:`ServiceUnreachable` from every client (endpoint, what was tried, why: one line).
"""

from __future__ import annotations

from nautes_e2e.clients.errors import ServiceUnreachable
from nautes_e2e.clients.git import GitError, GitInvocation, GitWorkingCopy, git_invocation
from nautes_e2e.clients.gitlab import GitLabClient, GitLabError, GitLabNotFound
from nautes_e2e.clients.kube import KubeClient, KubeError
from nautes_e2e.clients.nautes import (
    ApplyResult,
    Document,
    DocumentError,
    NautesApiError,
    NautesClient,
    NautesClusterNotSynced,
    NautesConnectionError,
    NautesNotFound,
    NautesProductNotEmpty,
    NautesRequestCut,
    WireError,
    document_request,
    parse_documents,
)
from nautes_e2e.clients.registry import Manifest, RegistryClient, RegistryEndpoint, RegistryError
from nautes_e2e.clients.vault import VaultClient, VaultClientError

__all__ = [
    "ApplyResult",
    "Document",
    "DocumentError",
    "GitError",
    "GitInvocation",
    "GitLabClient",
    "GitLabError",
    "GitLabNotFound",
    "GitWorkingCopy",
    "KubeClient",
    "KubeError",
    "Manifest",
    "NautesApiError",
    "NautesClient",
    "NautesClusterNotSynced",
    "NautesConnectionError",
    "NautesNotFound",
    "NautesProductNotEmpty",
    "NautesRequestCut",
    "RegistryClient",
    "RegistryEndpoint",
    "RegistryError",
    "ServiceUnreachable",
    "VaultClient",
    "VaultClientError",
    "WireError",
    "document_request",
    "git_invocation",
    "parse_documents",
]
