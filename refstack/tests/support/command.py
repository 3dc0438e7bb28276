"""Running ``python -m nautes_refstack up`` as a user would, for the tests of its command line."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path


def refused_start(directory: Path, arguments: Sequence[str], environment: Mapping[str, str]) -> str:
    """Run ``up --dir directory`` with ``arguments`` and ``environment`` (nothing else of this process's),
    check that it refused to start (exit 2, nothing created) and return what it said on stderr."""
    result = subprocess.run(
        [sys.executable, "-m", "nautes_refstack", "up", "--dir", str(directory), *arguments],
        env={"PATH": "/usr/bin:/bin", **environment},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert not directory.exists()  # no data, no logs, no target files: nothing was started
    return result.stderr
