"""The quickstart against registries a real Nautes meets: under a path, over HTTPS with a private CA.

Each case starts the reference stack with its registry options (``nautes_refstack up --registry-path``,
``--registry-tls``), then runs the main job against it as the ``existing`` target, as
``test_standalone_world.py`` does; the "neither" case removes the CA from the target file and must fail
before anything is created, naming the untrusted certificate and both ways to trust it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.warm_stack import start_warm_stack

ROOT = Path(__file__).resolve().parents[2]


def _run(directory: Path, stack_args: list[str], edit: dict[str, Any] | None = None) -> dict[str, Any]:
    """Start the stack, optionally change target.yaml's ``registry``, run the main job; its report."""
    stack = start_warm_stack(directory, *stack_args)
    try:
        target = yaml.safe_load((directory / "target.yaml").read_text())
        for key, value in (edit or {}).items():
            if value is None:
                target["registry"].pop(key, None)
            else:
                target["registry"][key] = value
        (directory / "edited.yaml").write_text(yaml.safe_dump(target))
        environ = {**os.environ, **stack.credentials}
        subprocess.run(
            [sys.executable, "-m", "pytest", "suites/quickstart", "-q", "-p", "no:cacheprovider",
             "--target", "existing", "--target-file", str(directory / "edited.yaml"),
             "--reports-dir", str(directory / "reports")],
            cwd=ROOT, env=environ, capture_output=True, text=True, check=False, timeout=120,
        )  # fmt: skip
        (report,) = (directory / "reports").glob("*/report.json")
        return {"target": target, **json.loads(report.read_text())}
    finally:
        stack.stop()


def _statuses(report: dict[str, Any]) -> dict[str, str]:
    return {stage["name"]: stage["status"] for stage in report["stages"]}


@pytest.mark.faults
@pytest.mark.parametrize(
    ("stack_args", "edit", "prefix"),
    [
        (["--registry-path", "org/team"], None, r"127.0.0.1:\d+/org/team/"),
        (["--registry-tls", "ca", "--registry-path", "nautes-labs"], None, r"127.0.0.2:\d+/nautes-labs/"),
        (["--registry-tls", "insecure"], None, r"127.0.0.2:\d+/"),
        (["--registry-tls", "ca"], {"caBundle": None, "insecure": True}, r"127.0.0.2:\d+/"),
    ],
    ids=["path", "https-private-ca", "https-insecure", "ca-replaced-by-insecure"],
)
def test_the_quickstart_passes(
    tmp_path: Path, stack_args: list[str], edit: dict[str, Any] | None, prefix: str
) -> None:
    report = _run(tmp_path, stack_args, edit)
    statuses = _statuses(report)
    assert set(statuses.values()) == {"passed"}, statuses
    image_url = report["facts"]["image_url"]
    assert re.fullmatch(prefix + r"devops-sample:0\.0\.1-[0-9a-f]{40}", image_url), image_url


@pytest.mark.faults
def test_an_untrusted_registry_fails_before_anything_is_created(tmp_path: Path) -> None:
    report = _run(tmp_path, ["--registry-tls", "ca"], {"caBundle": None})
    statuses = _statuses(report)
    assert statuses["preflight"] == "failed", statuses
    (preflight,) = [stage for stage in report["stages"] if stage["name"] == "preflight"]
    text = json.dumps(preflight)
    assert "its TLS certificate is not trusted" in text
    assert "registry.caBundle" in text
    assert "registry.insecure: true" in text
