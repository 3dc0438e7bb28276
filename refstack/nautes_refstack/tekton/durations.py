"""How long a TaskRun's pod and steps take on a real runtime cluster, waited under the ``real`` pace.

Nothing here was measured on a Nautes installation: every figure is an estimate for the quickstart's small
repositories on a modest cluster with the images already on the node, stated so that a run at ``real``
pace keeps the order and rough proportions of a real one (a Maven build dwarfs a clone). The step is
"running" for its duration first, then does its work, as a real step's effects (a push, a commit) land at
its end.
"""

from __future__ import annotations

# Estimate: scheduling, Tekton's init containers (``prepare``, ``place-scripts``) and container start
# with cached images, from the pod's creation until its first container (or the vault-agent init) runs.
POD_START_SECONDS = 8.0

# Estimates per (ClusterTask, step), tekton-catalog task versions as in :mod:`.catalog`.
STEP_SECONDS: dict[tuple[str, str], float] = {
    # git-init starts, then a shallow fetch of one small repository from the cluster's GitLab.
    ("git-clone", "clone"): 6.0,
    # Writes settings.xml from the workspace/params.
    ("maven", "mvn-settings"): 2.0,
    # ``mvn package`` of the small Spring Boot sample; the first run fills an empty maven-repository
    # workspace with plugins and dependencies from Maven Central.
    ("maven", "mvn-goals"): 120.0,
    # kaniko pulls the base image, copies the jar, snapshots the filesystem and pushes the layers.
    ("kaniko", "build-and-push"): 90.0,
    ("kaniko", "write-url"): 1.0,
    # Clone, edit, commit and push of the small deployment manifests repository.
    ("git-cli", "git"): 5.0,
    # ``kubectl kustomize`` and ``kubectl create`` of one PipelineRun (Nautes' hooks run).
    ("kubernetes-actions", "kubectl"): 3.0,
}

# Estimate for a step of a task not listed above: a container that starts and runs one short command.
DEFAULT_STEP_SECONDS = 2.0


def step_seconds(cluster_task: str, step: str) -> float:
    """The real duration of ``step`` of ClusterTask ``cluster_task`` (an estimate, see above)."""
    return STEP_SECONDS.get((cluster_task, step), DEFAULT_STEP_SECONDS)
