"""Implementations of the catalog ClusterTasks, registered under their names when this package is imported.

``kubernetes-actions`` (the Nautes init pipeline's ``pipeline-run`` task) is registered by the runtime
controllers, which own what its script does.
"""

from __future__ import annotations

from nautes_refstack.tekton.task_api import register_cluster_task
from nautes_refstack.tekton.tasks import git_cli, git_clone, kaniko, maven

register_cluster_task("git-clone", git_clone.run)
register_cluster_task("git-cli", git_cli.run)
register_cluster_task("maven", maven.run)
register_cluster_task("kaniko", kaniko.run)
