"""Translation between the names users give and the IDs the CRs store (NAUTES ``internal/biz/common.go``).

CRs refer to a product as ``product-<group id>`` and to a repository as ``repo-<project id>``; requests and
replies use the GitLab group name and repository path/name. Failures are wrapped exactly as the real
server wraps them, typed GitLab errors included (``... err: error: code = 404 reason = ...``).
"""

from __future__ import annotations

from nautes_refstack.nautes import errors
from nautes_refstack.nautes.scope import RequestScope

PRODUCT_PREFIX = "product-"
REPO_PREFIX = "repo-"


def extract_number(prefix: str, text: str) -> int:
    """``utilstrings.ExtractNumber``; raises a plain error with Go's text."""
    if not text.startswith(prefix):
        raise errors.plain(f"string {text} does not have the expected prefix {prefix}")
    digits = text[len(prefix) :]
    if not digits.lstrip("+-").isdigit():
        raise errors.plain(f'strconv.Atoi: parsing "{digits}": invalid syntax')
    return int(digits)


async def repository_id_to_name(scope: RequestScope, code_repo: str) -> str:
    """``ConvertCodeRepoToRepoName``: ``repo-<id>`` -> the GitLab project's *name*."""
    try:
        project_id = extract_number(REPO_PREFIX, code_repo)
    except errors.NautesError:
        raise errors.plain(
            f"the codeRepo name {code_repo} is illegal and must be in the format 'repo-ID'"
        ) from None
    try:
        project = await scope.gitlab.project(project_id)
    except errors.NautesError as failure:
        raise errors.wrapped(
            f"failed to convert codeRepo name {code_repo} to repository name, err: ", failure
        ) from None
    return str(project["name"])


async def repository_path_to_id(scope: RequestScope, product: str, repository: str) -> str:
    """``ConvertRepoNameToCodeRepoName``: ``<product>/<repository>`` -> ``repo-<id>``."""
    try:
        project = await scope.gitlab.project(f"{product}/{repository}")
    except errors.NautesError as failure:
        raise errors.wrapped(
            f"failed to convert repository name {repository} to codeRepo name, err: ", failure
        ) from None
    return f"{REPO_PREFIX}{project['id']}"


async def product_id_to_name(scope: RequestScope, product: str) -> str:
    """``ConvertProductToGroupName``: ``product-<id>`` -> the GitLab group's name (typed errors pass)."""
    group = await scope.gitlab.group(extract_number(PRODUCT_PREFIX, product))
    return str(group["name"])


async def product_name_to_id(scope: RequestScope, product: str) -> str:
    """``ConvertGroupToProductName``: a group name or path -> ``product-<id>`` (typed errors pass)."""
    group = await scope.gitlab.group(product)
    return f"{PRODUCT_PREFIX}{group['id']}"
