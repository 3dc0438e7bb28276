"""A repository's tags, read and made with the real ``git``: lightweight ones point at a commit, annotated
ones at a tag object (``git mktag``) carrying a message and its tagger."""

from __future__ import annotations

import datetime as dt
import subprocess
from dataclasses import dataclass

from nautes_refstack.gitlab.repository import BareRepository, Signature, clean_git_environment

_FIELD = "%1f"
_RECORD = "%1e"
_FORMAT = _FIELD.join(
    ("%(refname:strip=2)", "%(objectname)", "%(objecttype)", "%(*objectname)", "%(contents)")
)


@dataclass(frozen=True)
class Tag:
    name: str
    #: What the ref points at: the tag object of an annotated tag, else the commit.
    target: str
    commit_id: str
    message: str


def list_tags(repository: BareRepository) -> list[Tag]:
    out = repository.git("for-each-ref", f"--format={_FORMAT}{_RECORD}", "refs/tags/").decode(
        errors="replace"
    )
    tags = []
    for record in out.split("\x1e"):
        fields = record.lstrip("\n").split("\x1f")
        if len(fields) != 5:
            continue
        name, target, kind, peeled, contents = fields
        annotated = kind == "tag"
        tags.append(Tag(name, target, peeled if annotated else target, contents.strip() if annotated else ""))
    return tags


def make_annotated_tag(
    repository: BareRepository, name: str, commit_id: str, message: str, tagger: Signature
) -> str:
    """Write (not reference) a tag object for ``commit_id``; its id."""
    stamp = int(dt.datetime.now(dt.UTC).timestamp())
    body = (
        f"object {commit_id}\ntype commit\ntag {name}\n"
        f"tagger {tagger.name} <{tagger.email}> {stamp} +0000\n\n{message}\n"
    )
    return repository.git("mktag", stdin=body.encode()).decode().strip()


def valid_tag_name(name: str) -> bool:
    """``Gitlab::GitRefValidator.validate``: what ``git check-ref-format`` accepts, and no leading dash."""
    result = subprocess.run(
        ["git", "check-ref-format", f"refs/tags/{name}"],
        env=clean_git_environment(),
        capture_output=True,
        check=False,
    )
    return not name.startswith("-") and result.returncode == 0
