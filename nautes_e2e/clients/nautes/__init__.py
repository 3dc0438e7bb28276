"""The Nautes API client with ``nautes`` CLI v0.4.2 semantics, and the documents it sends."""

from __future__ import annotations

from nautes_e2e.clients.nautes.client import ApplyResult, NautesApiError, NautesClient, NautesConnectionError
from nautes_e2e.clients.nautes.documents import KINDS, Document, DocumentError, parse_documents
from nautes_e2e.clients.nautes.managers import KIND_ALIASES, ResourceManager, document_request, manager_class
from nautes_e2e.clients.nautes.wire import WireError

__all__ = [
    "KINDS",
    "KIND_ALIASES",
    "ApplyResult",
    "Document",
    "DocumentError",
    "NautesApiError",
    "NautesClient",
    "NautesConnectionError",
    "ResourceManager",
    "WireError",
    "document_request",
    "manager_class",
    "parse_documents",
]
