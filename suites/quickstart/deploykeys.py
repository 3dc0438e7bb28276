"""The deploy keys Nautes made for the product's repositories work, and grant exactly what they stand for.

A CodeRepo save gives the repository two deploy keys, ``repo-<id>-readonly`` and ``repo-<id>-readwrite``
(can_push), and keeps each private half in Vault at ``git/data/gitlab/repo-<id>/default/<permission>``
with GitLab's id for it (contract §3.3, §3.4). A CodeRepoBinding (coderepo X, projects P, permission p)
enables on X the ``repo-<Y>-<p>`` key of every repository Y of a project in P (of the whole product when P
is empty), with can_push for ``readwrite`` (§3.3). The pipeline clones and pushes with these keys, so a key
Vault holds that GitLab does not know, or a read-only key that can push, only shows (or never shows) much
later; here each is checked where Nautes creates it:

* the Vault secret (both keys of each code repository; the readonly key the Product save adds to
  ``default.project``) is a valid SSH private key, whose public half is the key GitLab has under that id
  on the repository, with can_push true for readwrite and false for readonly;
* each binding's keys are enabled on the bound repository with the push permission the binding implies.

Private keys are :class:`Secret` s: only their public halves (derived here) and GitLab's ids appear in a
diagnosis.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from nautes_e2e.clients import Document
from nautes_e2e.suite import GitLabClient, Secret, StageContext, VaultClient
from suites.quickstart.probes import DEPLOY_KEY_PERMISSIONS, deploy_key_path

READWRITE = "readwrite"
#: The product's metadata repository (``git.defaultProductName``, contract §3.2).
DEFAULT_PROJECT = "default.project"
#: How many broken promises a diagnosis spells out before it counts the rest.
SHOWN_PROBLEMS = 3


@dataclass(frozen=True)
class VaultDeployKey:
    """One repository's deploy key as Vault holds it: GitLab's id for it and the public half of the private
    key (None when the private key is not a valid SSH private key)."""

    repo: str
    permission: str
    path: str
    key_id: int | None
    public: str | None


def public_half(private: Secret) -> str | None:
    """``<type> <base64>`` of a private key in OpenSSH or PEM form (what ``ssh-keygen -y`` prints, without
    a comment); None when it is not an unencrypted SSH private key."""
    data = private.reveal().encode()
    for load in (serialization.load_ssh_private_key, serialization.load_pem_private_key):
        try:
            key = load(data, None)
            public = key.public_key().public_bytes(
                serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
            )
        except (ValueError, TypeError, UnsupportedAlgorithm, AttributeError):
            continue
        return _key_material(public.decode())
    return None


def _key_material(authorized_key: str) -> str:
    """An ``authorized_keys`` line without its comment: what identifies the key."""
    return " ".join(authorized_key.split()[:2])


#: Deploy key secrets the stage has read, by their path in the ``git`` engine (None: Vault has none there).
ReadSecrets = Mapping[str, dict[str, Secret] | None]


def vault_deploy_keys(
    vault: VaultClient,
    repo_ids: Mapping[str, int],
    permissions: Mapping[str, Sequence[str]],
    already_read: ReadSecrets,
) -> list[VaultDeployKey]:
    """The deploy keys of each repository (``permissions`` of it, both when it is not named), as Vault
    holds them; those in ``already_read`` are not read again."""
    found = []
    for repo, repo_id in repo_ids.items():
        for permission in permissions.get(repo, DEPLOY_KEY_PERMISSIONS):
            path = deploy_key_path(repo_id, permission)
            secret = (already_read[path] if path in already_read else vault.kv_secret("git", path)) or {}
            private = secret.get("deploykey")
            key_id = secret.get("id")
            found.append(
                VaultDeployKey(
                    repo=repo,
                    permission=permission,
                    path=f"git/data/{path}",
                    key_id=int(key_id.reveal()) if key_id and key_id.reveal().isdigit() else None,
                    public=public_half(private) if private else None,
                )
            )
    return found


def deploy_key_problems(
    keys: Sequence[VaultDeployKey],
    gitlab_keys: Mapping[str, Sequence[dict[str, Any]]],
    documents: Sequence[Document],
) -> list[str]:
    """What is wrong with the repositories' own keys and with the keys the bindings enable.

    ``gitlab_keys`` maps each repository path to the deploy keys GitLab has enabled on it."""
    problems = [problem for key in keys if (problem := _own_key_problem(key, gitlab_keys[key.repo]))]
    by_repo = {(key.repo, key.permission): key for key in keys}
    for binding in (d for d in documents if d.kind == "CodeRepoBinding"):
        problems += _binding_problems(binding, documents, by_repo, gitlab_keys)
    return problems


def _own_key_problem(key: VaultDeployKey, enabled: Sequence[dict[str, Any]]) -> str | None:
    what = f"the {key.permission} deploy key of {key.repo} ({key.path})"
    if key.public is None:
        return f"{what} is not a valid SSH private key"
    if key.key_id is None:
        return f"{what} has no GitLab key id (field id)"
    gitlab_key = next((k for k in enabled if k.get("id") == key.key_id), None)
    if gitlab_key is None:
        titles = sorted(str(k.get("title")) for k in enabled)
        return (
            f"{what} names GitLab key {key.key_id}, which is not a deploy key of {key.repo} (it has {titles})"
        )
    if _key_material(str(gitlab_key.get("key", ""))) != key.public:
        return (
            f"{what} is not the key GitLab has as {gitlab_key.get('title')} (id {key.key_id}) on {key.repo}: "
            f"Vault's is {_short(key.public)}, GitLab's {_short(str(gitlab_key.get('key')))}"
        )
    should_push = key.permission == READWRITE
    if gitlab_key.get("can_push") is not should_push:
        return (
            f"{what}: GitLab's {gitlab_key.get('title')} on {key.repo} has can_push="
            f"{gitlab_key.get('can_push')}, a {key.permission} key must {'' if should_push else 'not '}push"
        )
    return None


def _binding_problems(
    binding: Document,
    documents: Sequence[Document],
    by_repo: Mapping[tuple[str, str], VaultDeployKey],
    gitlab_keys: Mapping[str, Sequence[dict[str, Any]]],
) -> list[str]:
    """The keys ``binding`` grants (contract §3.3): present on the bound repository, push as it says."""
    bound = str(binding.spec.get("coderepo", ""))
    projects = set(binding.spec.get("projects") or [])
    permission = str(binding.spec.get("permissions", ""))
    enabled = {key.get("id"): key for key in gitlab_keys.get(bound, [])}
    problems = []
    for repo in _granted_repos(documents, projects):
        key = by_repo.get((repo, permission))
        if repo == bound or key is None or key.key_id is None:
            continue  # a repository's own keys are checked as such; a missing one was reported
        what = f"binding {binding.name} grants {permission} on {bound} to {repo}"
        gitlab_key = enabled.get(key.key_id)
        if gitlab_key is None:
            problems.append(
                f"{what}, but {repo}'s {permission} key (id {key.key_id}) is not enabled on {bound}"
            )
        elif gitlab_key.get("can_push") is not (permission == READWRITE):
            problems.append(
                f"{what}, but its key is enabled there with can_push={gitlab_key.get('can_push')}"
            )
    return problems


def _granted_repos(documents: Iterable[Document], projects: set[str]) -> list[str]:
    """The GitLab paths of the CodeRepos of ``projects`` (of every CodeRepo when it is empty)."""
    return [
        str(((d.spec.get("git") or {}).get("gitlab") or {}).get("path") or d.name)
        for d in documents
        if d.kind == "CodeRepo" and (not projects or d.spec.get("project") in projects)
    ]


def _short(public: str) -> str:
    """The key's SHA256 fingerprint, as ``ssh-keygen -l`` and GitLab (``fingerprint_sha256``) show it."""
    material = public.split()
    try:
        blob = base64.b64decode(material[1], validate=True)
    except (IndexError, binascii.Error):
        return "(no key)"
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return f"{material[0]} SHA256:{digest}"


def verify_deploy_keys(
    stage: StageContext,
    gitlab: GitLabClient,
    vault: VaultClient,
    repo_ids: Mapping[str, int],
    documents: Sequence[Document],
    already_read: ReadSecrets,
) -> None:
    """Fail the stage if a deploy key breaks a promise (the first few named, the rest counted).

    ``repo_ids`` maps GitLab paths to project ids: the code repositories, which have both keys, and
    ``default.project``, which has only a readonly one (the Product save adds it, contract §3.3). The keys
    in ``already_read`` (the stage read them to see they exist) are not read again."""
    keys = vault_deploy_keys(vault, repo_ids, {DEFAULT_PROJECT: ("readonly",)}, already_read)
    gitlab_keys = {repo: gitlab.project_deploy_keys(repo_id) for repo, repo_id in repo_ids.items()}
    stage.evidence(
        "deploy-keys.json",
        {
            repo: [{k: key.get(k) for k in ("id", "title", "can_push")} for key in enabled]
            for repo, enabled in gitlab_keys.items()
        },
    )
    problems = deploy_key_problems(keys, gitlab_keys, documents)
    if problems:
        hidden = len(problems) - SHOWN_PROBLEMS
        stage.fail("; ".join(problems[:SHOWN_PROBLEMS]) + (f"; and {hidden} more" if hidden > 0 else ""))
    stage.fact("deploy_keys_checked", len(keys))
