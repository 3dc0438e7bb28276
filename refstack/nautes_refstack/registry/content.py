"""What the registry holds, in memory: content-addressed blobs, per-repository links, manifests and tags.

Blobs are stored once by digest but are only visible in the repositories that uploaded (or mounted) them,
as in Distribution, so a manifest cannot reference a layer pushed to another repository.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from nautes_refstack.registry.errors import RegistryError

# The repository name grammar of the distribution spec.
_NAME_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
NAME_PATTERN = rf"{_NAME_COMPONENT}(?:/{_NAME_COMPONENT})*"
_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
IMAGE_MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
INDEX_TYPES = (OCI_INDEX, DOCKER_MANIFEST_LIST)


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def is_digest(reference: str) -> bool:
    return ":" in reference


def check_digest(digest: str | None) -> str:
    """A well-formed sha256 digest, else DIGEST_INVALID (the only algorithm the registry verifies)."""
    if digest is None or not _DIGEST.match(digest):
        raise RegistryError("DIGEST_INVALID", {"digest": digest})
    return digest


@dataclass
class Manifest:
    media_type: str
    body: bytes
    digest: str


@dataclass
class Repository:
    blobs: set[str] = field(default_factory=set)
    manifests: dict[str, Manifest] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class Upload:
    name: str
    data: bytearray = field(default_factory=bytearray)


@dataclass
class RegistryContent:
    """All repositories of one registry; every method raises ``RegistryError`` with the real code."""

    blobs: dict[str, bytes] = field(default_factory=dict)
    repositories: dict[str, Repository] = field(default_factory=dict)
    uploads: dict[str, Upload] = field(default_factory=dict)

    # --- blobs -------------------------------------------------------------------------------------
    def blob(self, name: str, digest: str) -> bytes:
        repository = self.repositories.get(name)
        if repository is None or digest not in repository.blobs:
            raise RegistryError("BLOB_UNKNOWN", {"digest": digest})
        return self.blobs[digest]

    def start_upload(self, name: str) -> str:
        upload_id = str(uuid.uuid4())
        self.uploads[upload_id] = Upload(name)
        return upload_id

    def upload(self, name: str, upload_id: str) -> Upload:
        upload = self.uploads.get(upload_id)
        if upload is None or upload.name != name:
            raise RegistryError("BLOB_UPLOAD_UNKNOWN", {"uuid": upload_id})
        return upload

    def finish_upload(self, name: str, upload_id: str, digest: str | None) -> str:
        upload = self.upload(name, upload_id)
        digest = check_digest(digest)
        data = bytes(upload.data)
        if sha256_digest(data) != digest:
            raise RegistryError("DIGEST_INVALID", {"digest": digest})
        del self.uploads[upload_id]
        self.link_blob(name, digest, data)
        return digest

    def link_blob(self, name: str, digest: str, data: bytes) -> None:
        self.blobs[digest] = data
        self.repositories.setdefault(name, Repository()).blobs.add(digest)

    def mount_blob(self, name: str, digest: str, source: str) -> bool:
        """Cross-repository mount: True when ``source`` has the blob (then ``name`` has it too)."""
        source_repository = self.repositories.get(source)
        if source_repository is None or digest not in source_repository.blobs:
            return False
        self.repositories.setdefault(name, Repository()).blobs.add(digest)
        return True

    # --- manifests ---------------------------------------------------------------------------------
    def put_manifest(self, name: str, reference: str, media_type: str, body: bytes) -> str:
        digest = sha256_digest(body)
        if is_digest(reference) and reference != digest:
            raise RegistryError("DIGEST_INVALID", {"digest": reference})
        if not is_digest(reference) and not _TAG.match(reference):
            raise RegistryError("MANIFEST_INVALID", {"tag": reference})
        parsed = _parse_manifest(body)
        media_type = _effective_media_type(media_type, parsed)
        repository = self.repositories.setdefault(name, Repository())
        for referenced in _references(media_type, parsed):
            known = repository.manifests if media_type in INDEX_TYPES else repository.blobs
            if referenced not in known:
                raise RegistryError("MANIFEST_BLOB_UNKNOWN", {"digest": referenced})
        repository.manifests[digest] = Manifest(media_type, body, digest)
        if not is_digest(reference):
            repository.tags[reference] = digest
        return digest

    def manifest(self, name: str, reference: str) -> Manifest:
        repository = self.repositories.get(name)
        if repository is None or not repository.manifests:
            raise RegistryError("NAME_UNKNOWN", {"name": name})
        digest = reference if is_digest(reference) else repository.tags.get(reference)
        manifest = repository.manifests.get(digest) if digest else None
        if manifest is None:
            detail = {"Name": name, "Revision": reference} if is_digest(reference) else {"Tag": reference}
            raise RegistryError("MANIFEST_UNKNOWN", detail)
        return manifest

    def collect_layers(self, name: str, digest: str) -> None:
        """Fault ``image-blob-missing``: what distribution's ``garbage-collect`` does to the layers of an
        image pushed while it runs (distribution docs "Garbage collection": run it with the registry stopped
        or read-only, else an image uploaded meanwhile may have its layers deleted and be corrupted): the
        image manifest ``digest`` stays, its layers are gone from storage."""
        manifest = self.repositories[name].manifests[digest]
        if manifest.media_type in INDEX_TYPES:
            return
        for layer in _references(manifest.media_type, _parse_manifest(manifest.body))[1:]:
            self.blobs.pop(layer, None)
            for repository in self.repositories.values():
                repository.blobs.discard(layer)

    # --- listings ----------------------------------------------------------------------------------
    def tags(self, name: str) -> list[str]:
        repository = self.repositories.get(name)
        if repository is None or not repository.manifests:
            raise RegistryError("NAME_UNKNOWN", {"name": name})
        return sorted(repository.tags)

    def catalog(self) -> list[str]:
        return sorted(name for name, repository in self.repositories.items() if repository.manifests)


def _parse_manifest(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RegistryError("MANIFEST_INVALID", {"reason": f"invalid JSON: {exc}"}) from None
    if not isinstance(parsed, dict) or parsed.get("schemaVersion") != 2:
        raise RegistryError("MANIFEST_INVALID", {"reason": "schemaVersion must be 2"})
    return parsed


def _effective_media_type(content_type: str, parsed: dict[str, Any]) -> str:
    """The manifest's type: its ``mediaType`` field, else the request's Content-Type; must be known."""
    declared = parsed.get("mediaType")
    media_type = declared if isinstance(declared, str) and declared else content_type
    if media_type not in IMAGE_MANIFEST_TYPES + INDEX_TYPES:
        raise RegistryError("MANIFEST_INVALID", {"reason": f"unsupported manifest media type {media_type!r}"})
    return media_type


def _references(media_type: str, parsed: dict[str, Any]) -> list[str]:
    """Digests a manifest points at: config + layers of an image, child manifests of an index."""
    try:
        if media_type in INDEX_TYPES:
            return [check_digest(entry["digest"]) for entry in parsed["manifests"]]
        layers = [check_digest(layer["digest"]) for layer in parsed["layers"]]
        return [check_digest(parsed["config"]["digest"]), *layers]
    except (KeyError, TypeError) as exc:
        raise RegistryError("MANIFEST_INVALID", {"reason": f"missing field {exc}"}) from None
