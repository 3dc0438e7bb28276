"""The ClusterTasks a Nautes runtime cluster gets from ``nautes-labs/tekton-catalog`` (contract §5.2).

Nautes' runtime app applies ``task/kustomization.yaml`` of that repository, which turns five catalog Tasks
into ClusterTasks: maven 0.2-nautes, git-clone 0.7, kaniko 0.6, kubernetes-actions 0.2 and git-cli 0.4.
The objects below carry their real interface -- params (types and defaults), results, workspaces and step
names/images -- because that is what Tekton validates a PipelineRun against. The step scripts are not
copied: each ClusterTask is executed by the implementation registered for its name (``tasks/``).
"""

from __future__ import annotations

from typing import Any

from nautes_refstack.kube import KubeError, ObjectStore

TEKTON_NAMESPACE = "tekton-pipelines"
CLUSTER_TASK_API_VERSION = "tekton.dev/v1beta1"
CATALOG_SOURCE = "https://github.com/nautes-labs/tekton-catalog"

JsonObject = dict[str, Any]


def _string(name: str, default: str | None = None) -> JsonObject:
    param: JsonObject = {"name": name, "type": "string"}
    if default is not None:
        param["default"] = default
    return param


def _array(name: str, default: list[str]) -> JsonObject:
    return {"name": name, "type": "array", "default": default}


def _workspace(name: str, *, optional: bool = False, mount_path: str | None = None) -> JsonObject:
    workspace: JsonObject = {"name": name}
    if optional:
        workspace["optional"] = True
    if mount_path:
        workspace["mountPath"] = mount_path
    return workspace


_GIT_INIT_IMAGE = "gcr.io/tekton-releases/github.com/tektoncd/pipeline/cmd/git-init:v0.29.0"
_MAVEN_IMAGE = (
    "gcr.io/cloud-builders/mvn@sha256:57523fc43394d6d9d2414ee8d1c85ed7a13460cbb268c3cd16d28cfb3859e641"
)
_KANIKO_IMAGE = (
    "gcr.io/kaniko-project/executor:v1.5.1"
    "@sha256:c6166717f7fe0b7da44908c986137ecfeab21f31ec3992f6e128fff8a94be8a5"
)
_BASH_IMAGE = (
    "docker.io/library/bash:5.1.4@sha256:c523c636b722339f41b6a431b44588ab2f762c5de5ec3bd7964420ff982fb1d9"
)
_KUBECTL_IMAGE = (
    "gcr.io/cloud-builders/kubectl@sha256:8ab94be8b2b4f3d117f02d868b39540fddd225447abf4014f7ba4765cb39f753"
)
_GIT_IMAGE = (
    "cgr.dev/chainguard/git:root-2.39@sha256:7759f87050dd8bacabe61354d75ccd7f864d6b6f8ec42697db7159eccd491139"
)

CLUSTER_TASK_SPECS: dict[str, tuple[str, JsonObject]] = {
    "git-clone": (
        "0.7",
        {
            "workspaces": [
                _workspace("output"),
                _workspace("ssh-directory", optional=True),
                _workspace("basic-auth", optional=True),
                _workspace("ssl-ca-directory", optional=True),
            ],
            "params": [
                _string("url"),
                _string("revision", ""),
                _string("refspec", ""),
                _string("submodules", "true"),
                _string("depth", "1"),
                _string("sslVerify", "true"),
                _string("crtFileName", "ca-bundle.crt"),
                _string("subdirectory", ""),
                _string("sparseCheckoutDirectories", ""),
                _string("deleteExisting", "true"),
                _string("httpProxy", ""),
                _string("httpsProxy", ""),
                _string("noProxy", ""),
                _string("verbose", "true"),
                _string("gitInitImage", _GIT_INIT_IMAGE),
                _string("userHome", "/tekton/home"),
            ],
            "results": [{"name": "commit"}, {"name": "url"}],
            "steps": [{"name": "clone", "image": "$(params.gitInitImage)"}],
        },
    ),
    "maven": (
        "0.2",
        {
            "workspaces": [
                _workspace("source"),
                _workspace("maven-settings"),
                _workspace("maven-repository", mount_path="/root/.m2/repository"),
            ],
            "params": [
                _string("MAVEN_IMAGE", _MAVEN_IMAGE),
                _array("GOALS", ["package"]),
                _string("MAVEN_MIRROR_URL", ""),
                _string("SERVERS", ""),
                _string("SERVER_USER", ""),
                _string("SERVER_PASSWORD", ""),
                _string("PROXY_USER", ""),
                _string("PROXY_PASSWORD", ""),
                _string("PROXY_PORT", ""),
                _string("PROXY_HOST", ""),
                _string("PROXY_NON_PROXY_HOSTS", ""),
                _string("PROXY_PROTOCOL", "http"),
                _string("CONTEXT_DIR", "."),
            ],
            "steps": [
                {"name": "mvn-settings", "image": "registry.access.redhat.com/ubi8/ubi-minimal:8.2"},
                {
                    "name": "mvn-goals",
                    "image": "$(params.MAVEN_IMAGE)",
                    "workingDir": "$(workspaces.source.path)/$(params.CONTEXT_DIR)",
                },
            ],
        },
    ),
    "kaniko": (
        "0.6",
        {
            "params": [
                _string("IMAGE"),
                _string("DOCKERFILE", "./Dockerfile"),
                _string("CONTEXT", "./"),
                _array("EXTRA_ARGS", []),
                _string("BUILDER_IMAGE", _KANIKO_IMAGE),
            ],
            "workspaces": [
                _workspace("source"),
                _workspace("dockerconfig", optional=True, mount_path="/kaniko/.docker"),
            ],
            "results": [{"name": "IMAGE_DIGEST"}, {"name": "IMAGE_URL"}],
            "steps": [
                {
                    "name": "build-and-push",
                    "image": "$(params.BUILDER_IMAGE)",
                    "workingDir": "$(workspaces.source.path)",
                },
                {"name": "write-url", "image": _BASH_IMAGE},
            ],
        },
    ),
    "kubernetes-actions": (
        "0.2",
        {
            "workspaces": [
                _workspace("manifest-dir", optional=True),
                _workspace("kubeconfig-dir", optional=True),
            ],
            "results": [{"name": "output-result"}],
            "params": [
                _string("script", "kubectl $@"),
                _array("args", ["help"]),
                _string("image", _KUBECTL_IMAGE),
            ],
            "steps": [{"name": "kubectl", "image": "$(params.image)"}],
        },
    ),
    "git-cli": (
        "0.4",
        {
            "workspaces": [
                _workspace("source"),
                _workspace("input", optional=True),
                _workspace("ssh-directory", optional=True),
                _workspace("basic-auth", optional=True),
            ],
            "params": [
                _string("BASE_IMAGE", _GIT_IMAGE),
                _string("GIT_USER_NAME", ""),
                _string("GIT_USER_EMAIL", ""),
                _string("GIT_SCRIPT", "git help\n"),
                _string("USER_HOME", "/root"),
                _string("VERBOSE", "true"),
            ],
            "results": [{"name": "commit"}],
            "steps": [
                {"name": "git", "image": "$(params.BASE_IMAGE)", "workingDir": "$(workspaces.source.path)"}
            ],
        },
    ),
}


def cluster_task_object(name: str) -> JsonObject:
    """The ClusterTask object for catalog task ``name``, as the kustomization applies it."""
    version, spec = CLUSTER_TASK_SPECS[name]
    return {
        "apiVersion": CLUSTER_TASK_API_VERSION,
        "kind": "ClusterTask",
        "metadata": {
            "name": name,
            "labels": {"app.kubernetes.io/version": version},
            "annotations": {"tekton.dev/source": f"{CATALOG_SOURCE}/tree/main/task/{name}"},
        },
        "spec": spec,
    }


def install_tekton(store: ObjectStore) -> None:
    """Install Tekton's namespace and the Nautes catalog ClusterTasks on a runtime cluster (idempotent)."""
    try:
        store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": TEKTON_NAMESPACE}})
    except KubeError as error:
        if error.code != 409:
            raise
    for name in CLUSTER_TASK_SPECS:
        try:
            store.create(cluster_task_object(name))
        except KubeError as error:
            if error.code != 409:
                raise
