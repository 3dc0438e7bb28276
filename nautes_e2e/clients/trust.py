"""Private certificate authorities ADDED to the trust store every client already has, never replacing it.

Each library the harness uses takes one CA file that replaces its default store (requests' and hvac's
``verify=PATH``, python-gitlab's ``ssl_verify=PATH``, git's ``http.sslCAInfo``). A world whose GitLab has a
private CA may still send the harness to public services (a ghcr.io registry, a redirect), so each client
gets one combined file: certifi's bundle (the store these libraries use when given none) followed by the
target's PEM files. The file is named by its content, so every worker of a session shares one copy.
"""

from __future__ import annotations

import hashlib
import os
import ssl
import tempfile
from collections.abc import Sequence
from pathlib import Path

import certifi

#: Where combined bundles are written (one per distinct content; they hold only public certificates).
BUNDLE_DIR = Path(tempfile.gettempdir()) / "nautes-e2e-ca-bundles"


def check_pem(path: Path) -> None:
    """Raise ValueError unless ``path`` holds at least one PEM certificate that OpenSSL can load."""
    try:
        ssl.create_default_context(cafile=str(path))
    except (ssl.SSLError, OSError):
        raise ValueError(f"file {path} holds no PEM certificate") from None


def combined_bundle(pems: Sequence[Path]) -> Path | None:
    """certifi's CAs plus ``pems``, as one file; None when ``pems`` is empty (each library's default)."""
    if not pems:
        return None
    content = Path(certifi.where()).read_bytes().rstrip(b"\n") + b"\n"
    for pem in pems:
        content += pem.read_bytes().rstrip(b"\n") + b"\n"
    path = BUNDLE_DIR / f"{hashlib.sha256(content).hexdigest()[:32]}.pem"
    if not path.is_file():
        BUNDLE_DIR.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_bytes(content)
        partial.replace(path)  # atomic: a parallel worker never reads half a bundle
    return path
