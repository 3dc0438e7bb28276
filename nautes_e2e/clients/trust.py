"""Private certificate authorities ADDED to the trust store every client already has, never replacing it.

Each library the harness uses takes one CA file that replaces its default store (requests' and hvac's
``verify=PATH``, python-gitlab's ``ssl_verify=PATH``, git's ``http.sslCAInfo``). A world whose GitLab has a
private CA may still send the harness to public services (a ghcr.io registry, a redirect), so each client
gets one combined file: certifi's bundle (the store these libraries use when given none) followed by the
target's PEM files. The file is named by its content, so every worker of a session shares one copy.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import ssl
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import certifi

#: Where combined bundles are written: one folder per user, 0700, so no other local user can plant a CA the
#: harness would then trust (the files hold only public certificates, but what they trust is the point).
BUNDLE_DIR = Path(tempfile.gettempdir()) / f"nautes-e2e-ca-bundles-{os.getuid()}"
#: Bundles unused for this long are removed when a new one is written (they pile up over many runs).
STALE_AFTER_S = 24 * 3600


def check_pem(path: Path) -> None:
    """Raise ValueError unless ``path`` holds at least one PEM certificate that OpenSSL can load."""
    try:
        ssl.create_default_context(cafile=str(path))
    except (ssl.SSLError, OSError):
        raise ValueError(f"file {path} holds no PEM certificate") from None


def combined_bundle(pems: Sequence[Path], directory: Path | None = None) -> Path | None:
    """certifi's CAs plus ``pems``, as one file; None when ``pems`` is empty (each library's default).

    The file is named by its content and reused only when its bytes are that content; it is written to a
    private temporary file first and renamed, so a parallel worker never reads half a bundle.
    """
    if not pems:
        return None
    content = Path(certifi.where()).read_bytes().rstrip(b"\n") + b"\n"
    for pem in pems:
        content += pem.read_bytes().rstrip(b"\n") + b"\n"
    folder = _private_folder(directory or BUNDLE_DIR)
    path = folder / f"{hashlib.sha256(content).hexdigest()[:32]}.pem"
    if path.is_file() and not path.is_symlink() and path.read_bytes() == content:
        os.utime(path)  # in use: not stale
        return path
    _remove_stale(folder)
    descriptor, partial = tempfile.mkstemp(dir=folder, suffix=".tmp")
    with os.fdopen(descriptor, "wb") as file:
        file.write(content)
    os.replace(partial, path)
    return path


def _private_folder(folder: Path) -> Path:
    """``folder``, created 0700; one that another user owns or others may write to is refused."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    status = folder.lstat()
    if folder.is_symlink() or status.st_uid != os.getuid() or status.st_mode & 0o022:
        raise PermissionError(
            f"{folder} is not a private folder of this user (owner uid {status.st_uid}, mode "
            f"{status.st_mode & 0o777:o}): remove it, or set TMPDIR elsewhere"
        )
    return folder


def _remove_stale(folder: Path) -> None:
    cutoff = time.time() - STALE_AFTER_S
    for old in folder.glob("*"):
        with contextlib.suppress(OSError):
            if old.lstat().st_mtime < cutoff:
                old.unlink()
