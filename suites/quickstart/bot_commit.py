"""What the pipeline bot's commit changed in the deploy repository, against what the quickstart pushed.

The quickstart's ``manifest-update`` task rewrites one line, the Deployment's image (``sed`` over the
``ghcr.io/lanbingcloud/devops-sample`` reference, EXP ``pipelines/main.yaml``), and commits with
``git commit -a`` and pushes with ``--force``: a checkout that lost or gained a file, or a stale one,
would commit or push more than that line. So the deploy repository after the bot's commit must hold
exactly the files the quickstart pushed, byte for byte, except that one line, which names the new image
with the indentation it had.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

#: An image line of a container in a manifest: indentation, ``image:``, the reference.
IMAGE_LINE = re.compile(r"^(?P<indent>\s*)image:\s*\S+\s*$")


def tree_files(root: Path) -> dict[str, bytes]:
    """Every file of a working copy (not ``.git``), by its POSIX path relative to ``root``."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(root).parts
    }


def unexpected_changes(
    pushed: dict[str, bytes], now: dict[str, bytes], manifest: str, image: str
) -> list[str]:
    """Every difference between the files ``pushed`` and the files there ``now`` besides ``manifest``'s
    image line becoming ``image: <image>``: deleted, added and changed files, changed lines by number."""
    problems = [f"deletes {path}" for path in sorted(set(pushed) - set(now))]
    problems += [f"adds {path}" for path in sorted(set(now) - set(pushed))]
    for path in sorted(set(pushed) & set(now)):
        if path == manifest:
            problems += _other_line_changes(path, pushed[path], now[path], image)
        elif pushed[path] != now[path]:
            problems.append(f"changes {path}")
    return problems


def _other_line_changes(path: str, before: bytes, after: bytes, image: str) -> list[str]:
    old = before.decode(errors="replace").splitlines(keepends=True)
    new = after.decode(errors="replace").splitlines(keepends=True)
    problems = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if tag == "replace" and _image_rewrite(old[i1], new[j1], image):
            i1, j1 = i1 + 1, j1 + 1  # the one allowed change; what else this block changed is said
        if (i1, j1) == (i2, j2) or tag == "equal":
            continue
        what = "inserts" if i1 == i2 else "deletes" if j1 == j2 else "replaces"
        lines = f"line {i1 + 1}" if i2 - i1 <= 1 else f"lines {i1 + 1}-{i2}"
        shown = " | ".join(line.strip() for line in (new[j1:j2] or old[i1:i2])[:2])
        problems.append(f"{what} {path} {lines}: {shown[:200]}")
    return problems


def _image_rewrite(old_line: str, new_line: str, image: str) -> bool:
    match = IMAGE_LINE.match(old_line)
    ending = old_line[len(old_line.rstrip("\r\n")) :]
    return match is not None and new_line == f"{match['indent']}image: {image}{ending}"
