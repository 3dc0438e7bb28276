"""A repository's own credentials: its two deploy keys and its project access token (biz/coderepo.go).

Each repository ``repo-<id>`` owns a ``repo-<id>-readonly`` and a ``repo-<id>-readwrite`` deploy key and a
project access token ``accesstoken-api``; the private halves live in Vault next to GitLab's id for them.
Saving is idempotent: an existing key is reused while GitLab still has it with the stored public key,
otherwise a new pair replaces it (contract §3.3).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from nautes_refstack.nautes import errors
from nautes_refstack.nautes.scope import RequestScope
from nautes_refstack.nautes.sshkeys import generate_deploy_key

READONLY = "readonly"
READWRITE = "readwrite"
ACCESS_TOKEN_NAME = "accesstoken-api"
MAINTAINER = 40
PAGE_SIZE = 10

JsonObject = dict[str, Any]


def repo_name(project_id: int) -> str:
    return f"repo-{project_id}"


def key_title(project_id: int, permission: str) -> str:
    return f"repo-{project_id}-{permission}"


async def _all_pages(fetch: Callable[[int, int], Awaitable[list[JsonObject]]]) -> list[JsonObject]:
    """``getAllItems``: pages of ten until a page is not full."""
    items: list[JsonObject] = []
    page = 1
    while True:
        batch = await fetch(page, PAGE_SIZE)
        items.extend(batch)
        page += 1
        if len(batch) != PAGE_SIZE:
            return items


async def all_deploy_keys(scope: RequestScope, project_id: int) -> list[JsonObject]:
    return await _all_pages(lambda page, size: scope.gitlab.deploy_keys(project_id, page, size))


async def save_deploy_key(scope: RequestScope, project_id: int, can_push: bool) -> JsonObject:
    """``CodeRepoUsecase.saveDeployKey``: reuse the stored key while GitLab still has it, else make one."""
    permission = READWRITE if can_push else READONLY
    try:
        secret = await scope.vault.deploy_key(repo_name(project_id), permission)
    except errors.NautesError as failure:
        if failure.reason != "SECRET_NOT_FOUND":
            raise
        await _delete_keys_titled(scope, project_id, key_title(project_id, permission))
        return await _new_deploy_key(scope, project_id, can_push, permission)
    try:
        existing = await scope.gitlab.deploy_key(project_id, secret.key_id)
    except errors.NautesError as failure:
        if failure.reason != "DEPLOYKEY_NOT_FOUND":
            raise
        return await _new_deploy_key(scope, project_id, can_push, permission)
    if existing.get("key") == secret.fingerprint:
        return existing
    return await _new_deploy_key(scope, project_id, can_push, permission)


async def _delete_keys_titled(scope: RequestScope, project_id: int, title: str) -> None:
    """``clearDeployKeyWithSameName``: stale keys of the same title go before a new one is added."""
    for key in await all_deploy_keys(scope, project_id):
        if key.get("title") == title:
            await scope.gitlab.delete_deploy_key(project_id, int(key["id"]))


async def _new_deploy_key(
    scope: RequestScope, project_id: int, can_push: bool, permission: str
) -> JsonObject:
    """``saveDeployKeyToGitAndSecretRepo``: add the public key to GitLab, keep the private key in Vault."""
    title = key_title(project_id, permission)
    pair = generate_deploy_key(title)
    created: JsonObject = await scope.gitlab.plain(
        "POST",
        f"projects/{project_id}/deploy_keys",
        body={"title": title, "key": pair.public, "can_push": can_push},
    )
    secret = {"deploykey": pair.private, "fingerprint": str(created.get("key", "")), "id": str(created["id"])}
    await scope.vault.save_git_secret(repo_name(project_id), permission, secret)
    return created


async def remove_other_keys_with_same_title(scope: RequestScope, project_id: int, *valid: JsonObject) -> None:
    """``removeInvalidDeploykey``: drop keys titled like a valid one but with another id."""
    valid_ids = {key["id"] for key in valid}
    valid_titles = {key.get("title") for key in valid}
    for key in await all_deploy_keys(scope, project_id):
        if key["id"] not in valid_ids and key.get("title") in valid_titles:
            await scope.gitlab.delete_deploy_key(project_id, int(key["id"]))


async def delete_all_deploy_keys(scope: RequestScope, project_id: int) -> None:
    """``deleteDeployKeys``: every key enabled on the project is removed from it."""
    for key in await all_deploy_keys(scope, project_id):
        await scope.gitlab.delete_deploy_key(project_id, int(key["id"]))


async def save_access_token(scope: RequestScope, project_id: int) -> JsonObject:
    """``saveAccessToken``: reuse the stored project access token while GitLab still has it."""
    try:
        token_id = await scope.vault.access_token_id(repo_name(project_id), ACCESS_TOKEN_NAME)
    except errors.NautesError as failure:
        if failure.reason != "ACCESSTOKEN_NOT_FOUND":
            raise
        return await _new_access_token(scope, project_id)
    try:
        return await scope.gitlab.access_token(project_id, token_id)
    except errors.NautesError as failure:
        if failure.reason != "ACCESSTOKEN_NOT_FOUND":
            raise
        return await _new_access_token(scope, project_id)


async def _new_access_token(scope: RequestScope, project_id: int) -> JsonObject:
    created: JsonObject = await scope.gitlab.plain(
        "POST",
        f"projects/{project_id}/access_tokens",
        body={"name": ACCESS_TOKEN_NAME, "scopes": ["api"], "access_level": MAINTAINER},
    )
    secret = {"accesstoken": str(created.get("token", "")), "id": str(created["id"])}
    await scope.vault.save_git_secret(repo_name(project_id), ACCESS_TOKEN_NAME, secret)
    return created


async def remove_other_access_tokens(scope: RequestScope, project_id: int, valid: JsonObject) -> None:
    """``removeInvalidProjectAccessTokens``: other tokens with the same name are revoked."""
    tokens = await _all_pages(lambda page, size: scope.gitlab.access_tokens(project_id, page, size))
    for token in tokens:
        if token["id"] != valid["id"] and token.get("name") == valid.get("name"):
            await scope.gitlab.plain("DELETE", f"projects/{project_id}/access_tokens/{token['id']}")


async def delete_secrets(scope: RequestScope, project_id: int) -> None:
    """A deleted repository's Vault secrets and policies: readonly, readwrite, then the access token."""
    for permission in (READONLY, READWRITE, ACCESS_TOKEN_NAME):
        await scope.vault.delete_git_secret(repo_name(project_id), permission)
