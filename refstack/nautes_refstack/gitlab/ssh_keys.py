"""Parsing SSH public keys the way GitLab validates them: a key is identified by its fingerprints."""

from __future__ import annotations

from dataclasses import dataclass

import asyncssh

# GitLab accepts these key types (``Gitlab::SSHPublicKey.supported_types``).
SUPPORTED_ALGORITHMS = (
    "ssh-rsa",
    "ssh-dss",
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "sk-ssh-ed25519@openssh.com",
)


@dataclass(frozen=True)
class PublicKey:
    text: str
    fingerprint_md5: str
    fingerprint_sha256: str


def parse_public_key(text: str) -> PublicKey | None:
    """The key's fingerprints, or ``None`` when GitLab would refuse it as invalid."""
    stripped = text.strip()
    if not stripped.startswith(SUPPORTED_ALGORITHMS):
        return None
    try:
        key = asyncssh.import_public_key(stripped)
    except (asyncssh.KeyImportError, ValueError):
        return None
    return PublicKey(
        text=stripped,
        fingerprint_md5=key.get_fingerprint("md5").removeprefix("MD5:"),
        fingerprint_sha256=key.get_fingerprint("sha256"),
    )
