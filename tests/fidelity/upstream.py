"""The released source of a client this project pins, fetched by pip into a cache outside the repository.

The fidelity tests run a client's own tests (python-gitlab's functional suite, the kubernetes client's e2e
tests) exactly as released at the version ``pyproject.toml`` pins: nothing of theirs is copied into this
repository, so what they assert is theirs, unedited. The cache is ``$NAUTES_E2E_CACHE/upstream`` (default
``~/.cache/nautes-e2e/upstream``); each release is downloaded and unpacked once, atomically, so parallel test
workers share it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import zipfile
from pathlib import Path
from typing import Literal

import pytest

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
PIP_TIMEOUT_S = 300.0

Kind = Literal["sdist", "wheel"]


class UpstreamUnavailable(RuntimeError):
    """pip could not fetch the release (no index reachable, or the release is not there)."""


def pinned_version(distribution: str) -> str:
    """The version ``pyproject.toml`` pins ``distribution`` to (``name==version``), in any dependency list."""
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    extras = project["optional-dependencies"].values()
    requirements = [*project["dependencies"], *(requirement for extra in extras for requirement in extra)]
    wanted = _normalise(distribution)
    for requirement in requirements:
        match = re.fullmatch(r"\s*([A-Za-z0-9_.-]+)\s*==\s*([^\s;]+)\s*", requirement)
        if match and _normalise(match.group(1)) == wanted:
            return match.group(2)
    raise LookupError(f"{PYPROJECT}: no 'name==version' pin for {distribution!r}")


def cache_root() -> Path:
    base = os.environ.get("NAUTES_E2E_CACHE")
    root = Path(base) if base else Path.home() / ".cache" / "nautes-e2e"
    return root / "upstream"


def upstream_tree(distribution: str, version: str, kind: Kind) -> Path:
    """The unpacked sdist (its top directory) or wheel (its root) of ``distribution==version``, fetched and
    unpacked on first use. Raises :class:`UpstreamUnavailable` when pip cannot fetch it."""
    target = cache_root() / f"{_normalise(distribution)}-{version}" / kind
    if target.is_dir():
        return _root_of(target, kind)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".fetch-") as scratch:
        archive = _download(distribution, version, kind, Path(scratch) / "download")
        unpacked = Path(scratch) / "unpacked"
        _unpack(archive, unpacked)
        try:
            unpacked.rename(target)
        except OSError:
            if not target.is_dir():  # another worker's rename won the race: theirs is as good as ours
                raise
    return _root_of(target, kind)


def upstream_tree_or_skip(distribution: str, kind: Kind) -> Path:
    """:func:`upstream_tree` at the pinned version, or the calling test skipped saying why (never a silent
    pass): where no package index is reachable the upstream tests cannot be had."""
    version = pinned_version(distribution)
    try:
        return upstream_tree(distribution, version, kind)
    except UpstreamUnavailable as error:
        pytest.skip(f"upstream tests unavailable: {error}")


def _download(distribution: str, version: str, kind: Kind, dest: Path) -> Path:
    only = ["--no-binary", ":all:"] if kind == "sdist" else ["--only-binary", ":all:"]
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-q"]
    try:
        result = subprocess.run(
            [*command, *only, "--dest", str(dest), f"{distribution}=={version}"],
            capture_output=True,
            text=True,
            timeout=PIP_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise UpstreamUnavailable(
            f"pip download {distribution}=={version} ({kind}) took over {PIP_TIMEOUT_S:g} s"
        ) from None
    archives = sorted(dest.glob("*")) if dest.is_dir() else []
    if result.returncode != 0 or len(archives) != 1:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise UpstreamUnavailable(f"pip download {distribution}=={version} ({kind}) failed: {last}")
    return archives[0]


def _unpack(archive: Path, into: Path) -> None:
    if archive.suffix in {".whl", ".zip"}:
        with zipfile.ZipFile(archive) as wheel:
            wheel.extractall(into)
        return
    with tarfile.open(archive) as sdist:
        sdist.extractall(into, filter="data")


def _root_of(target: Path, kind: Kind) -> Path:
    """A wheel's files sit at its root; an sdist's under its one top directory (``name-version/``)."""
    if kind == "wheel":
        return target
    (top,) = [entry for entry in target.iterdir() if entry.is_dir()]
    return top


def _normalise(name: str) -> str:
    """PEP 503's normal form: ``python_gitlab`` and ``Python.GitLab`` are ``python-gitlab``."""
    return re.sub(r"[-_.]+", "-", name).lower()
