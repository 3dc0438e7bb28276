"""Image overrides: the images the installed Nautes pins that can no longer be pulled, and their mirrors.

Where an override goes depends on who names the image:

* The installer's own variables name the Nautes images and vault-proxy (``nautes_image_name``,
  ``image_version``, ``docker_repository``, ``vault_proxy_image``: installer v0.3.8, vars.yaml.sample);
  those are :class:`~nautes_e2e.worlds.installer.settings.InstallerSettings` fields, written to vars.yaml.
* Everything else is pinned in the tenant repo template's manifests, which no installer variable reaches.
  Those are rewritten in the installer container between cloning the template (``clone-repos`` clones it to
  ``/opt/management``: nautes/clone-roles.yaml) and rendering it (nautes/roles/repo-init/tasks/main.yml
  copies ``/opt/management`` to the tenant repo and templates the files its index.yaml lists), so the
  tenant repo the installer pushes, and every cluster Argo CD syncs from it, pulls the mirror. The runtime
  clusters' Tekton comes from the same tenant repo (nautes-labs/cluster-templates,
  runtimes/_RUNTIME_/tekton/overlays/production/kustomization.yaml:
  ``../../../../../tekton/overlays/production``).

A key is a reference or a prefix of one, replaced wherever it occurs; mapping a key to itself keeps the
original image.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from types import MappingProxyType

#: Where ``clone-repos`` clones the tenant repo template (installer v0.3.8, nautes/clone-roles.yaml).
TEMPLATE_DIR = "/opt/management"

#: The defaults, each with its source:
#:
#: * ``gcr.io/kubebuilder/kube-rbac-proxy:v0.8.0``, the sidecar of every Nautes Deployment
#:   (tenant-repo-template v0.4.2, nautes/base/apps/base/manager_auth_proxy_patch.yaml). Kubebuilder's
#:   gcr.io images went away with Google Container Registry in 2025 (kubernetes-sigs/kubebuilder
#:   discussion #3907). ``quay.io/brancz/kube-rbac-proxy`` is the upstream project's own image, pushed for
#:   each release tag (brancz/kube-rbac-proxy v0.8.0: Makefile
#:   ``DOCKER_REPO?=quay.io/brancz/kube-rbac-proxy``, .travis.yml ``VERSION=$TRAVIS_TAG make push``).
#: * ``gcr.io/tekton-releases/``: Tekton Pipelines v0.37.5 and Dashboard v0.35.0 (tenant-repo-template
#:   v0.4.2, tekton/base/tekton-pipelines-v0.37.5.yaml and tekton-dashboard-v0.35.0.yaml: the
#:   controller's and webhook's ``image`` and the ``-entrypoint-image``, ``-nop-image``, ``-git-image`` ...
#:   arguments). Tekton copied every old release to ghcr.io and removed gcr.io access: "replace
#:   ``gcr.io/tekton-releases`` with ``ghcr.io/tektoncd`` in all your images including all image references
#:   in the manifests" (tektoncd/website, content/en/blog/2025/ghcr-migration/index.md; e.g.
#:   ``ghcr.io/tektoncd/github.com/tektoncd/pipeline/cmd/entrypoint``). The manifests pin digests
#:   (``:v0.37.5@sha256:...``); the blog calls the copies "the same images", which keeps the digests, but
#:   that cannot be checked offline: if a pull by digest fails, override the full reference.
#:
#: Not established from the sources, so not overridden by default (add them when a pull fails):
#: ``gcr.io/k8s-staging-multitenancy/hnc-manager:v1.0.0`` (hnc/base/hnc-v1.0.0-default.yaml) and
#: ``gcr.io/google.com/cloudsdktool/cloud-sdk@sha256:...`` (Tekton's ``-gsutil-image``, used only by GCS
#: storage resources).
DEFAULT_IMAGE_OVERRIDES: Mapping[str, str] = MappingProxyType(
    {
        "gcr.io/kubebuilder/kube-rbac-proxy:v0.8.0": "quay.io/brancz/kube-rbac-proxy:v0.8.0",
        "gcr.io/tekton-releases/": "ghcr.io/tektoncd/",
    }
)

#: An image reference or a prefix of one: registry host, path, tag, digest. Nothing a shell or sed could
#: read as syntax, so the commands below only ever see plain text.
_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/:@-]*")


def image_overrides(
    changes: Mapping[str, str], *, defaults: Mapping[str, str] = DEFAULT_IMAGE_OVERRIDES
) -> Mapping[str, str]:
    """``defaults`` with ``changes`` over them; a key mapped to itself is dropped (the image is kept)."""
    merged = {**defaults, **changes}
    return MappingProxyType({old: new for old, new in merged.items() if old != new})


def check_image(reference: str) -> str | None:
    """Why ``reference`` is no image reference, or ``None``."""
    if _REFERENCE.fullmatch(reference) and "//" not in reference:
        return None
    return f"{reference!r} is not an image reference"


def check_overrides(overrides: Mapping[str, str]) -> str | None:
    """Why ``overrides`` cannot be applied, or ``None``: every side must be a reference, and no replacement
    may contain a key (the rewrites run one after another; one would rewrite another's result)."""
    for old, new in overrides.items():
        for side in (old, new):
            if check_image(side) is not None:
                return f"{side!r} is not an image reference (or a prefix of one)"
        for key in overrides:
            if key in new:
                return f"the replacement {new!r} contains {key!r}, which is rewritten too"
    return None


def override_commands(overrides: Mapping[str, str], template_dir: str = TEMPLATE_DIR) -> list[str]:
    """Shell lines (one subshell) that rewrite ``overrides`` in the tracked files of ``template_dir``, then
    fail if any key is left: a rewrite that did not happen must not go unnoticed. ``git grep`` lists tracked
    files only, so ``.git`` is never touched."""
    if not overrides:
        return []
    lines = ["(", f"  cd {shlex.quote(template_dir)}"]
    for old, new in overrides.items():
        # A reference's only character special to sed's basic regular expressions is "." (see _REFERENCE);
        # "|", "&" and "\\" cannot occur in the replacement.
        pattern = old.replace(".", r"\.")
        expression = shlex.quote(f"s|{pattern}|{new}|g")
        lines.append(f"  git grep -lzF -e {shlex.quote(old)} | xargs -0 -r sed -i {expression}")
    keys = " ".join(f"-e {shlex.quote(old)}" for old in overrides)
    lines.append(f"  if git grep -qF {keys}; then echo 'image override not applied' >&2; exit 1; fi")
    lines.append(")")
    return lines
