"""Run a selection of an upstream client's own tests in one pytest process of their own, and report which
passed, failed and were skipped: generic for any suite (python-gitlab, kubernetes, ...).

The upstream tree is the suite's rootdir, so its own ``pyproject.toml``/``setup.cfg`` settings (markers,
``xfail_strict``) apply and its assertions run untouched; its own conftests are not loaded
(``--noconftest``: they start GitLab or a cluster in Docker) and ``plugins`` of ours provide the fixtures its
tests take instead, pointed at our stack through ``env``. The ratio counts a skipped test as not passed: a
skip is no evidence that the stack behaves.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.fidelity.plugins import fidelity_outcomes

PLUGINS = Path(fidelity_outcomes.__file__).parent
SUITE_TIMEOUT_S = 900.0
#: pytest's exit codes for a session that did not run the selection at all (interrupted, internal error,
#: usage error such as a node id that is not there, nothing collected).
BROKEN_SESSION = {2, 3, 4, 5}
#: Settings meant for our own pytest session (``-n``, plugins), which the upstream session must not take.
_OUR_PYTEST_SETTINGS = ("PYTEST_ADDOPTS", "PYTEST_PLUGINS")


@dataclass(frozen=True)
class SuiteResult:
    """One suite's outcome: node ids (relative to the upstream root) by outcome."""

    suite: str
    passed: tuple[str, ...]
    failed: tuple[str, ...]
    skipped: tuple[str, ...]

    @property
    def total(self) -> int:
        return len(self.passed) + len(self.failed) + len(self.skipped)

    @property
    def ratio(self) -> float:
        """Passed over all that were selected (0 when none were)."""
        return len(self.passed) / self.total if self.total else 0.0

    def summary(self) -> str:
        lines = [f"{self.suite}: {len(self.passed)}/{self.total} passed ({self.ratio:.1%})"]
        lines += [f"  FAILED {node_id}" for node_id in self.failed]
        lines += [f"  SKIPPED {node_id}" for node_id in self.skipped]
        return "\n".join(lines)

    def to_json(self) -> dict[str, object]:
        return {
            "suite": self.suite,
            "ratio": self.ratio,
            "passed": list(self.passed),
            "failed": list(self.failed),
            "skipped": list(self.skipped),
        }

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n")

    @classmethod
    def read(cls, path: Path) -> SuiteResult:
        data = json.loads(path.read_text())
        return cls(data["suite"], tuple(data["passed"]), tuple(data["failed"]), tuple(data["skipped"]))


class SuiteDidNotRun(RuntimeError):
    """The upstream pytest session broke down (bad selection, internal error): no outcome to count."""


def run_upstream_suite(
    suite: str,
    upstream_root: Path,
    selection: Sequence[str],
    *,
    plugins: Sequence[Path] = (),
    env: Mapping[str, str] | None = None,
    redact: Sequence[str] = (),
    log_path: Path | None = None,
    timeout_s: float = SUITE_TIMEOUT_S,
) -> SuiteResult:
    """Run ``selection`` (node ids or files relative to ``upstream_root``) with ``plugins`` (files of ours,
    each loaded as ``-p <stem>`` from its directory) and ``env`` added to this process's environment.

    The session's output goes to ``log_path`` (if given) with every ``redact`` value masked: it names the
    failures' causes and must not carry the stack's token."""
    with tempfile.TemporaryDirectory(prefix="fidelity-") as scratch:
        outcomes_file = Path(scratch) / "outcomes.json"
        command = [sys.executable, "-m", "pytest", "--rootdir", str(upstream_root), "--noconftest"]
        command += ["-p", "no:cacheprovider", "-p", "no:xdist", "-p", "no:nautes_e2e", "-q", "--tb=short"]
        # route_trace notes each test's stretch of the stack's route log, when benchmarks/fidelity.py asks.
        for plugin in (PLUGINS / "fidelity_outcomes.py", PLUGINS / "route_trace.py", *plugins):
            command += ["-p", plugin.stem]
        paths = [str(PLUGINS), *{str(plugin.parent) for plugin in plugins}]
        inherited = {k: v for k, v in os.environ.items() if k not in _OUR_PYTEST_SETTINGS}
        environment = {**inherited, **(env or {}), fidelity_outcomes.OUTCOMES_ENV: str(outcomes_file)}
        environment["PYTHONPATH"] = os.pathsep.join(paths)
        try:
            result = subprocess.run(
                [*command, *selection],
                cwd=upstream_root,
                env=environment,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise SuiteDidNotRun(f"{suite}: the upstream session took over {timeout_s:g} s") from None
        output = _redacted(result.stdout + result.stderr, redact)
        if log_path is not None:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            log_path.write_text(output)
        if result.returncode in BROKEN_SESSION or not outcomes_file.exists():
            tail = "\n".join(output.strip().splitlines()[-15:])
            raise SuiteDidNotRun(f"{suite}: upstream pytest exited {result.returncode}:\n{tail}")
        outcomes: dict[str, str] = json.loads(outcomes_file.read_text())
    by_outcome = {kind: tuple(sorted(i for i, o in outcomes.items() if o == kind)) for kind in _KINDS}
    return SuiteResult(suite, by_outcome["passed"], by_outcome["failed"], by_outcome["skipped"])


_KINDS = ("passed", "failed", "skipped")


def _redacted(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
