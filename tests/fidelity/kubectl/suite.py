"""The kubectl set (``checks/``) as one suite: run in a pytest process of its own against a standalone
stack's runtime cluster, with the outcome in the shape every fidelity suite reports
(:class:`tests.fidelity.runner.SuiteResult`), so ``benchmarks/fidelity.py`` counts it beside the upstream
suites."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.fidelity.kubectl.checks.kubectl_stack import (
    KUBECONFIG_ENV,
    MANAGEMENT_KUBECONFIG_ENV,
    QUICKSTART_ENV,
)
from tests.fidelity.runner import SuiteResult, run_upstream_suite

SUITE = "kubectl"
CHECKS = Path(__file__).with_name("checks")
PLUGIN = CHECKS / "kubectl_stack.py"
QUICKSTART = Path(__file__).resolve().parents[3] / "scenarios" / "quickstart"
# The tenant management cluster's kubeconfig in a stack's directory (``nautes-e2e refstack up --dir``).
MANAGEMENT_KUBECONFIG = "kubeconfig-management.yaml"


def check_files() -> list[str]:
    """Every module of the set (``checks/kubectl_*.py`` but the plugin), relative to ``checks/``."""
    return sorted(path.name for path in CHECKS.glob("kubectl_*.py") if path != PLUGIN)


def runtime_kubeconfig(stack_directory: Path) -> Path:
    """The kubeconfig of the stack's first runtime cluster, as its ``target.yaml`` names it."""
    target = yaml.safe_load((stack_directory / "target.yaml").read_text())
    return stack_directory / str(target["clusters"][0]["kubeconfig"])


def run_kubectl_set(stack_directory: Path, *, log_path: Path | None = None) -> SuiteResult:
    """Run the whole set against the stack in ``stack_directory`` (``nautes-e2e refstack up --dir``)."""
    environment = {
        KUBECONFIG_ENV: str(runtime_kubeconfig(stack_directory)),
        MANAGEMENT_KUBECONFIG_ENV: str(stack_directory / MANAGEMENT_KUBECONFIG),
        QUICKSTART_ENV: str(QUICKSTART),
    }
    return run_upstream_suite(
        SUITE, CHECKS, check_files(), plugins=[PLUGIN], env=environment, log_path=log_path
    )
