"""OCI distribution error codes with the HTTP statuses and messages of Distribution 2.8 (``registry:2``).

Clients (docker, kaniko, go-containerregistry, the harness) branch on ``errors[].code`` and on the status,
so both copy the reference registry rather than the looser wording of the OCI spec.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

API_VERSION_HEADER = {"Docker-Distribution-API-Version": "registry/2.0"}

# code -> (HTTP status, message): github.com/distribution/distribution/registry/api/v2/errors.go (v2.8.2).
ERROR_CODES: dict[str, tuple[int, str]] = {
    "BLOB_UNKNOWN": (404, "blob unknown to registry"),
    "BLOB_UPLOAD_INVALID": (400, "blob upload invalid"),
    "BLOB_UPLOAD_UNKNOWN": (404, "blob upload unknown to registry"),
    "DIGEST_INVALID": (400, "provided digest did not match uploaded content"),
    "MANIFEST_BLOB_UNKNOWN": (400, "blob unknown to registry"),
    "MANIFEST_INVALID": (400, "manifest invalid"),
    "MANIFEST_UNKNOWN": (404, "manifest unknown"),
    "NAME_INVALID": (400, "invalid repository name"),
    "NAME_UNKNOWN": (404, "repository name not known to registry"),
    "RANGE_INVALID": (416, "invalid content range"),
    "SIZE_INVALID": (400, "provided length did not match content length"),
    "UNAUTHORIZED": (401, "authentication required"),
    "UNSUPPORTED": (405, "The operation is unsupported."),
    "PAGINATION_NUMBER_INVALID": (400, "invalid number of results requested"),
}


class RegistryError(Exception):
    """One OCI error; ``detail`` is the structured detail Distribution attaches (or None)."""

    def __init__(self, code: str, detail: Any = None) -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail

    @property
    def status(self) -> int:
        return ERROR_CODES[self.code][0]

    def response(self, extra_headers: dict[str, str] | None = None) -> web.Response:
        message = ERROR_CODES[self.code][1]
        body = {"errors": [{"code": self.code, "message": message, "detail": self.detail}]}
        headers = {**API_VERSION_HEADER, **(extra_headers or {})}
        return web.Response(
            status=self.status,
            body=json.dumps(body).encode() + b"\n",
            content_type="application/json",
            charset="utf-8",
            headers=headers,
        )
