"""The Nautes API client with ``nautes`` CLI v0.4.2 semantics, and the documents it sends."""

from __future__ import annotations

from nautes_e2e.clients.nautes.client import NautesClient
from nautes_e2e.clients.nautes.documents import Document, DocumentError, document_request, parse_documents
from nautes_e2e.clients.nautes.errors import (
    NautesApiError,
    NautesClusterNotSynced,
    NautesConcurrentUse,
    NautesConnectionError,
    NautesNotFound,
    NautesProductNotEmpty,
    NautesRequestCut,
)
from nautes_e2e.clients.nautes.managers import KIND_ALIASES, KINDS, NautesHttp, ResourceManager, manager_class
from nautes_e2e.clients.nautes.resend import Collision, ResendPolicy
from nautes_e2e.clients.nautes.results import ApplyResult
from nautes_e2e.clients.nautes.wire import WireError

__all__ = [
    "KINDS",
    "KIND_ALIASES",
    "ApplyResult",
    "Collision",
    "Document",
    "DocumentError",
    "NautesApiError",
    "NautesClient",
    "NautesClusterNotSynced",
    "NautesConcurrentUse",
    "NautesConnectionError",
    "NautesHttp",
    "NautesNotFound",
    "NautesProductNotEmpty",
    "NautesRequestCut",
    "ResendPolicy",
    "ResourceManager",
    "WireError",
    "document_request",
    "manager_class",
    "parse_documents",
]
