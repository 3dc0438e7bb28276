"""The names of everything the quickstart creates, derived from one suffix."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class QuickstartNames:
    """Every name the quickstart uses, derived from one suffix as the CLI v0.4.2 examples do."""

    suffix: str

    @property
    def product(self) -> str:
        return f"demo-{self.suffix}"

    @property
    def project(self) -> str:
        return f"project-demo-{self.suffix}"

    @property
    def cluster(self) -> str:
        return f"physical-worker-{self.suffix}"

    @property
    def source_repo(self) -> str:
        return f"coderepo-sc-demo-{self.suffix}"

    @property
    def deploy_repo(self) -> str:
        return f"coderepo-deploy-demo-{self.suffix}"

    @property
    def pipeline_repo(self) -> str:
        return f"coderepo-pipeline-demo-{self.suffix}"

    @property
    def code_repos(self) -> tuple[str, str, str]:
        return (self.source_repo, self.deploy_repo, self.pipeline_repo)

    @property
    def pipeline_runtime(self) -> str:
        """The runtime's name is also its namespace and service account (no destination.namespace/account)."""
        return f"pr-demo-{self.suffix}"

    @property
    def image_repository(self) -> str:
        return "devops-sample"
