"""A bare git repository on disk, read and written with the real ``git`` (plumbing commands only).

Everything here is synchronous and short-lived: REST handlers run it in a worker thread
(``asyncio.to_thread``), the in-process seam (``GitLab.read_file``) calls it directly. Commits made for the
repository files API are built on a temporary index, so the repository never needs a work tree.

What a full commit id names never changes (git objects are content-addressed and nothing here prunes them),
so reads by commit id are remembered per repository (:class:`_ObjectMemo`) instead of asking git again: the
operators re-read every product file after each push, at the commit Argo CD synced, and each read was three
processes started on the event loop. What a name (``main``, a tag) resolves to is remembered together with
the ref files git reads for that name (their contents, and ``packed-refs``' identity), and asked again as
soon as any of them differs: Argo CD asks every few hundred milliseconds, and the answer rarely changes.
Where a name's ref file or a full id names a loose commit, and no packed or replace ref can change that,
the commit is read off the object's header instead, and a loose blob's content off the object
(:meth:`BareRepository._loose`): pushes and the files API store what they write as loose objects. The branch
list and the smart HTTP ref advertisements are remembered the same way as names, against everything git
reads for them (:meth:`BareRepository._refs_state`): clients probe ``info/refs`` before every fetch, and
an unchanged repository's answer needs no process.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import re
import stat
import subprocess
import tempfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from nautes_refstack.gitlab.model import ZERO_SHA

_FIELD = "\x1f"
_RECORD = "\x1e"
_LOG_FORMAT = _RECORD + _FIELD.join(("%H", "%P", "%an", "%ae", "%aI", "%cn", "%ce", "%cI", "%B")) + _FIELD
_HOOK_NAMES = ("pre-receive", "post-receive")
_FULL_OBJECT_ID = re.compile(r"^[0-9a-f]{40}$")
#: A name git resolves through ref files only: no revision syntax, no (abbreviated) object id, not a
#: symbolic ref of the repository itself.
_PLAIN_NAME = re.compile(r"^(?!HEAD$)(?![0-9a-f]{4,40}$)(?!.*\.\.)[A-Za-z0-9_][A-Za-z0-9._/-]*$")
#: Where git looks for a name, in its order (``ref_rev_parse_rules`` in git's ``refs.c``).
_REF_RULES = ("{}", "refs/{}", "refs/tags/{}", "refs/heads/{}", "refs/remotes/{}", "refs/remotes/{}/HEAD")
#: Entries a repository's memo holds before it starts afresh (a bound, far above one run's reads).
_MEMO_LIMIT = 4096
#: Written into every new repository's ``config`` as ``git config`` would append it, what Gitaly configures
#: for the git commands it runs. ``uploadpack.allowFilter`` lets clients ask for partial clones. Gitaly
#: schedules housekeeping itself and turns git's automatic gc off: ``gc.auto=0`` in its global
#: configuration ("Disable automatic garbage collection as we handle scheduling of it ourselves",
#: ``internal/git/command_factory.go`` ``GlobalConfiguration``) and ``receive.autogc=false`` for
#: receive-pack ("We want to control the GC scheduling ourselves",
#: ``internal/git/gitcmd/command_description.go``), so no push starts ``gc --auto``
#: (``builtin/receive-pack.c`` runs it after every push unless ``receive.autogc`` is false). The same
#: description gives receive-pack ``core.alternateRefsCommand="exit 0 #"`` so that no alternate's refs are
#: read: a push's connectivity check (``rev-list --alternate-refs`` in its quarantine, whose alternate is
#: the repository itself) then no longer starts a ``for-each-ref`` of refs it already has. Replace refs are
#: ignored ("We thus globally disable this mechanism", ``core.useReplaceRefs=false`` in the same
#: ``GlobalConfiguration``): a pushed ``refs/replace/<id>`` never changes what an id reads as.
_REPOSITORY_CONFIG = (
    "[uploadpack]\n\tallowFilter = true\n[receive]\n\tautogc = false\n[gc]\n\tauto = 0\n"
    '[core]\n\talternateRefsCommand = "exit 0 #"\n\tuseReplaceRefs = false\n'
)
#: Files besides the refs whose content changes what ``upload-pack``/``receive-pack`` advertise: their
#: configuration (hidden refs, capabilities), a shallow repository's grafts (``shallow`` lines) and the
#: alternates whose refs receive-pack advertises as ``.have``.
_ADVERTISEMENT_INPUTS = ("config", "shallow", "objects/info/alternates")
#: A submodule's entry in a tree (``S_IFGITLINK`` in git's ``cache.h``).
_S_IFGITLINK = 0o160000
#: A tree entry's mode as git's ``get_mode()`` accepts it.
_OCTAL = re.compile(rb"[0-7]*")


class GitCommandError(RuntimeError):
    """A git command failed; the message carries git's own stderr (which never contains credentials),
    ``output`` what it had written to stdout by then."""

    def __init__(self, message: str, output: bytes = b"") -> None:
        super().__init__(message)
        self.output = output


def clean_git_environment() -> dict[str, str]:
    """An environment in which git ignores the user's and the system's configuration."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
        "LC_ALL": "C",
    }


def gitlab_date(git_iso_date: str) -> str:
    """Git's strict ISO date as GitLab prints commit dates: ``2023-03-22T10:20:30.000+01:00``."""
    return dt.datetime.fromisoformat(git_iso_date).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class CommitInfo:
    id: str
    parent_ids: list[str]
    author_name: str
    author_email: str
    authored_date: str
    committer_name: str
    committer_email: str
    committed_date: str
    message: str

    @property
    def title(self) -> str:
        return self.message.split("\n", 1)[0]


@dataclass(frozen=True)
class CommitWithChanges:
    """A commit as a push event lists it: with the paths it added, modified and removed."""

    commit: CommitInfo
    added: list[str]
    modified: list[str]
    removed: list[str]


@dataclass(frozen=True)
class TreeEntry:
    id: str
    name: str
    type: str
    path: str
    mode: str


@dataclass(frozen=True)
class Blob:
    id: str
    data: bytes
    executable: bool = False


@dataclass(frozen=True)
class FileChange:
    """One file written (``content`` set) or removed (``content`` None) by a files-API commit."""

    path: str
    content: bytes | None
    executable: bool = False


@dataclass(frozen=True)
class Signature:
    name: str
    email: str


class _NameState(NamedTuple):
    """What git reads to resolve a plain name (:meth:`BareRepository._ref_state`)."""

    #: Each candidate ref file's content, ``None`` where there is none, in ``_REF_RULES`` order.
    contents: tuple[bytes | None, ...]
    #: ``packed-refs``' inode, size and modification time; ``None`` when there is none.
    packed: tuple[int, int, int] | None


class _ObjectMemo:
    """Answers about one repository's objects: the commits that exist (with what ``<id>^{commit}`` peels
    to), each commit's whole file listing (one ``ls-tree -r`` answers every later read of any of its files,
    present or not), each blob's content by its id (a new commit re-reads only the files it changed), the
    last commit that changed a path in a commit's history, and the names resolved, the branch list and the
    ref advertisements, each with the ref files it was read from. Only answers git gave for an object that
    exists are kept, so a commit pushed later is never remembered as missing. Shared by worker threads: a
    race only makes two threads ask git the same question."""

    def __init__(self, identity: int) -> None:
        self.identity = identity
        self.commits: dict[str, str] = {}
        self.trees: dict[str, dict[str, tuple[str, str, str]]] = {}
        self.contents: dict[str, bytes] = {}
        self.last_commits: dict[tuple[str, str], str] = {}
        self.names: dict[str, tuple[_NameState, str | None]] = {}
        self.branches: tuple[object, dict[str, str]] | None = None
        self.advertisements: dict[tuple[str, str | None], tuple[object, bytes]] = {}

    def remember(self, table: dict[Any, Any], key: Any, value: Any) -> None:
        if len(table) >= _MEMO_LIMIT:
            table.clear()
        table[key] = value


#: Repository directory -> its memo; a repository created at a path that had one starts with a new memo.
_MEMOS: dict[Path, _ObjectMemo] = {}


def _memo(path: Path) -> _ObjectMemo | None:
    """The memo of the repository now at ``path`` (keyed by its directory's inode too: a project deleted and
    re-created under the same path is another repository); ``None`` when there is no repository."""
    try:
        identity = path.stat().st_ino
    except OSError:
        return None
    memo = _MEMOS.get(path)
    if memo is None or memo.identity != identity:
        memo = _MEMOS[path] = _ObjectMemo(identity)
    return memo


class BareRepository:
    """One ``<path_with_namespace>.git`` directory."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls, path: Path, default_branch: str, hook_source: str) -> BareRepository:
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["git", "init", "--quiet", "--bare", f"--initial-branch={default_branch}", str(path)],
            env=clean_git_environment(),
            check=True,
            capture_output=True,
        )
        _MEMOS.pop(path, None)
        with (path / "config").open("a") as config:
            config.write(_REPOSITORY_CONFIG)
        repository = cls(path)
        repository.install_hooks(hook_source)
        return repository

    def install_hooks(self, hook_source: str) -> None:
        """Write GitLab's server-side hooks (one script that dispatches on the name it was run as)."""
        hooks_dir = self.path / "hooks"
        hooks_dir.mkdir(exist_ok=True)
        for name in _HOOK_NAMES:
            hook = hooks_dir / name
            hook.write_text(hook_source)
            hook.chmod(0o700)  # run by this stack only (its files are private: world_dir)

    def git(
        self, *args: str, stdin: bytes | None = None, env: Mapping[str, str] | None = None, check: bool = True
    ) -> bytes:
        result = self._run(*args, stdin=stdin, env=env)
        if check and result.returncode != 0:
            stderr = result.stderr.decode(errors="replace").strip()
            raise GitCommandError(f"git {args[0]} failed in {self.path.name}: {stderr}")
        return result.stdout

    def _run(
        self, *args: str, stdin: bytes | None = None, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            ["git", *args],
            cwd=self.path,
            input=stdin,
            env={**clean_git_environment(), **(env or {})},
            capture_output=True,
            check=False,
        )

    def _text(self, *args: str, env: Mapping[str, str] | None = None) -> str:
        return self.git(*args, env=env).decode(errors="replace")

    # --- refs -------------------------------------------------------------------------------------

    def branches(self) -> dict[str, str]:
        """Branch name -> commit id; git's answer is reused while the refs are as they were before and
        after git was asked (every push moves one, and a project listing asks for each project)."""
        memo = _memo(self.path)
        state = self._refs_state()
        if memo is not None and memo.branches is not None and memo.branches[0] == state:
            return dict(memo.branches[1])
        out = self._text("for-each-ref", "--format=%(objectname) %(refname)", "refs/heads/")
        branches = {
            ref.removeprefix("refs/heads/"): sha
            for sha, ref in (line.split(" ", 1) for line in out.splitlines() if line)
        }
        if memo is not None and self._refs_state() == state:
            memo.branches = (state, dict(branches))
        return branches

    def advertisement(self, service: str, git_protocol: str | None) -> bytes:
        """What ``git <service> --advertise-refs`` writes for a client asking in ``git_protocol`` (the
        ``GIT_PROTOCOL`` value, ``None`` for none): the refs and capabilities of smart HTTP's ``info/refs``.
        ``--advertise-refs`` is the name older git knows for ``--http-backend-info-refs``, what git 2.34 and
        later's ``http-backend.c`` passes (``builtin/upload-pack.c`` and ``builtin/receive-pack.c`` declare
        one as the other's alias). Kept while the refs, HEAD and the other files git reads for it
        (``_ADVERTISEMENT_INPUTS``) are as they were before and after git was asked; what a failed run
        wrote is returned, never kept."""
        memo = _memo(self.path)
        key = (service, git_protocol)
        state = self._advertised_state()
        known = memo.advertisements.get(key) if memo is not None else None
        if known is not None and known[0] == state:
            return known[1]
        env = {"GIT_PROTOCOL": git_protocol} if git_protocol is not None else {}
        result = self._run(service.removeprefix("git-"), "--advertise-refs", ".", env=env)
        if result.returncode != 0:
            stderr = result.stderr.decode(errors="replace").strip()
            raise GitCommandError(f"git {service} failed in {self.path.name}: {stderr}", result.stdout)
        if memo is not None and self._advertised_state() == state:
            memo.remember(memo.advertisements, key, (state, result.stdout))
        return result.stdout

    def _advertised_state(self) -> object:
        return (self._refs_state(), *(self._read(name) for name in _ADVERTISEMENT_INPUTS))

    def _refs_state(self) -> object:
        """Everything git reads to list the refs: ``HEAD``, each loose ref file under ``refs/`` and
        ``packed-refs``, each by content, inode and modification time (git replaces these files whole, so a
        ref moved away and back between two looks still differs)."""
        loose: list[tuple[str, int, int, bytes | None]] = []
        pending = [str(self.path / "refs")]
        while pending:
            try:
                entries = list(os.scandir(pending.pop()))
            except OSError:
                continue
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)
                    continue
                try:
                    found = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                loose.append((entry.path, found.st_ino, found.st_mtime_ns, self._read(entry.path)))
        return (self._file_identity("HEAD"), tuple(sorted(loose)), self._file_identity("packed-refs"))

    def _read(self, name: str) -> bytes | None:
        """A file of the repository (``name`` relative to it, or absolute); ``None`` when absent."""
        try:
            return (self.path / name).read_bytes()
        except OSError:
            return None

    def _file_identity(self, name: str) -> tuple[int, int, bytes | None] | None:
        """A file's inode, modification time and content; ``None`` when absent."""
        try:
            found = (self.path / name).stat()
        except OSError:
            return None
        return (found.st_ino, found.st_mtime_ns, self._read(name))

    def is_empty(self) -> bool:
        """No branch yet. Read from the ref store directly: project listings ask this for every project."""
        loose = self.path / "refs" / "heads"
        if loose.is_dir() and any(p.is_file() and p.suffix != ".lock" for p in loose.rglob("*")):
            return False
        packed = self.path / "packed-refs"
        return not (packed.is_file() and " refs/heads/" in packed.read_text(errors="replace"))

    def resolve_commit(self, ref: str) -> str | None:
        """The commit a branch name, tag name, full ref or (abbreviated) id names; ``None`` if none."""
        if not ref or ref.startswith("-"):
            return None
        if _PLAIN_NAME.match(ref):
            return self._resolve_name(ref)
        memo = _memo(self.path) if _FULL_OBJECT_ID.match(ref) else None
        if memo is not None and ref in memo.commits:
            return memo.commits[ref]
        commit = (self._loose_commit(ref) if memo is not None else None) or self._rev_parse_commit(ref)
        if memo is not None and commit is not None:
            memo.remember(memo.commits, ref, commit)
        return commit

    def _rev_parse_commit(self, ref: str) -> str | None:
        out = self.git(
            "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}", check=False
        )
        return out.decode().strip() or None

    def _resolve_name(self, name: str) -> str | None:
        """:meth:`resolve_commit` for a plain name: git's answer is reused while the ref files it read for
        that name are as they were, before and after git was asked (a ref moving meanwhile is not kept)."""
        memo = _memo(self.path)
        state = self._ref_state(name)
        if memo is not None and state is not None:
            known = memo.names.get(name)
            if known is not None and known[0] == state:
                return known[1]
        commit = self._named_loose_commit(state) or self._rev_parse_commit(name)
        if memo is not None and state is not None and self._ref_state(name) == state:
            memo.remember(memo.names, name, (state, commit))
        return commit

    def _named_loose_commit(self, state: _NameState | None) -> str | None:
        """The commit a name resolves to, read off its ref file without git where that is certain: no
        ``packed-refs`` (whose entries could come first), the first ref file present holds an object id as
        git writes it, and that object is a loose commit (:meth:`_loose_commit`); ``None`` when git must
        be asked."""
        if state is None or state.packed is not None:
            return None
        first = next((content for content in state.contents if content is not None), None)
        if first is None or len(first) != 41 or first[40:] != b"\n":
            return None
        object_id = first[:40].decode("ascii", errors="replace")
        return self._loose_commit(object_id) if _FULL_OBJECT_ID.match(object_id) else None

    def _loose_parents(self, commit_id: str, object_env: Mapping[str, str]) -> tuple[str, ...]:
        """The parents a loose commit names (looked up where ``object_env`` puts a push's objects, then in
        its alternates); none where git must be asked, grafts and shallow history included."""
        if (self.path / "info" / "grafts").exists() or (self.path / "shallow").exists():
            return ()
        directories = [object_env.get("GIT_OBJECT_DIRECTORY") or str(self.path / "objects")]
        directories += object_env.get("GIT_ALTERNATE_OBJECT_DIRECTORIES", "").split(os.pathsep)
        for directory in filter(None, directories):
            content = self._loose(commit_id, b"commit", whole=True, objects=Path(directory))
            if content is not None:
                headers = content.split(b"\n")[1:]  # after "tree <id>": the parents, then the author
                parents = itertools.takewhile(lambda line: line.startswith(b"parent "), headers)
                return tuple(line[7:].decode("ascii", errors="replace") for line in parents)
        return ()

    def _loose_commit(self, object_id: str) -> str | None:
        """``object_id`` when ``rev-parse <id>^{commit}`` would answer it: a loose commit (:meth:`_loose`);
        ``None`` when git must be asked."""
        return object_id if self._loose(object_id, b"commit") is not None else None

    def _loose(
        self, object_id: str, kind: bytes, whole: bool = False, objects: Path | None = None
    ) -> bytes | None:
        """A loose object of type ``kind`` as git reads it: its content when ``whole``, else ``b""`` (it is
        one), looked up in ``objects`` (the repository's own object directory by default). ``None`` when git
        must be asked: packed, absent, of another type, damaged, or where replace refs could stand in for it
        (any under ``refs/replace`` or ``packed-refs``, in a repository created before
        ``core.useReplaceRefs=false``)."""
        if (self.path / "packed-refs").exists() or (self.path / "refs" / "replace").exists():
            return None
        try:
            stored = ((objects or self.path / "objects") / object_id[:2] / object_id[2:]).read_bytes()
            inflated = zlib.decompress(stored) if whole else zlib.decompressobj().decompress(stored, 32)
        except (OSError, zlib.error):
            return None
        header, _, content = inflated.partition(b"\0")
        if not header.startswith(kind + b" "):
            return None
        if not whole:
            return b""
        return content if header == kind + b" %d" % len(content) else None

    def _ref_state(self, name: str) -> _NameState | None:
        """What git reads to resolve ``name``: each candidate ref file's content (or its absence) and
        ``packed-refs``' inode, size and modification time (git replaces it whole). ``None`` when a
        candidate is a symbolic ref, whose target is another file: such names always ask git."""
        contents: list[bytes | None] = []
        for rule in _REF_RULES:
            try:
                content = (self.path / rule.format(name)).read_bytes()
            except OSError:  # absent (or a directory, like refs/heads/<a prefix>): git reads nothing there
                content = None
            if content is not None and content.startswith(b"ref:"):
                return None
            contents.append(content)
        try:
            packed = (self.path / "packed-refs").stat()
        except OSError:
            return _NameState(tuple(contents), None)
        return _NameState(tuple(contents), (packed.st_ino, packed.st_size, packed.st_mtime_ns))

    def update_ref(self, ref: str, new: str, old: str) -> None:
        """Move ``ref`` from ``old`` to ``new`` atomically (fails if someone moved it meanwhile)."""
        if new == ZERO_SHA:
            self.git("update-ref", "-d", ref, old)
        else:
            self.git("update-ref", ref, new, old)

    def set_head(self, branch: str) -> None:
        self.git("symbolic-ref", "HEAD", f"refs/heads/{branch}")

    def is_ancestor(self, ancestor: str, descendant: str, object_env: Mapping[str, str]) -> bool:
        """Whether ``descendant`` contains ``ancestor``; ``object_env`` shows a push's quarantined objects.
        A loose commit whose parent ``ancestor`` is (a push of commits on top of a branch: receive-pack has
        checked that all they reach exists) is read off the disk; git decides everything else."""
        if ancestor in self._loose_parents(descendant, object_env):
            return True
        result = subprocess.run(
            ["git", "merge-base", "--is-ancestor", ancestor, descendant],
            cwd=self.path,
            env={**clean_git_environment(), **object_env},
            capture_output=True,
            check=False,
        )
        return result.returncode == 0

    # --- commits ----------------------------------------------------------------------------------

    def log(self, ref: str, path: str = "") -> list[CommitInfo]:
        """Commits reachable from ``ref`` (newest first), only those touching ``path`` if given."""
        args = ["log", f"--format={_LOG_FORMAT}", ref, "--"]
        return [commit for commit, _ in _parse_log(self._text(*args, *([path] if path else [])))]

    def log_all(self) -> list[CommitInfo]:
        """Commits reachable from any ref, newest first (``git log --all``)."""
        return [
            commit for commit, _ in _parse_log(self._text("log", "--all", f"--format={_LOG_FORMAT}", "--"))
        ]

    def commits(self, ids: Sequence[str]) -> list[CommitInfo]:
        if not ids:
            return []
        out = self._text("log", "--no-walk=unsorted", f"--format={_LOG_FORMAT}", *ids, "--")
        return [commit for commit, _ in _parse_log(out)]

    def diff_stats(self, commit_id: str) -> tuple[int, int]:
        """Lines added and deleted by a commit (against its first parent)."""
        out = self._text("diff-tree", "--root", "--no-commit-id", "-r", "--numstat", commit_id)
        additions = deletions = 0
        for line in out.splitlines():
            added, deleted, _ = line.split("\t", 2)
            additions += int(added) if added.isdigit() else 0
            deletions += int(deleted) if deleted.isdigit() else 0
        return additions, deletions

    def pushed_commits(
        self, before: str, after: str, excluded_tips: Sequence[str], limit: int = 20
    ) -> tuple[list[CommitWithChanges], int]:
        """The commits a ref update brought in (oldest first, the last ``limit``) and how many there are.

        For a new branch, the commits not already on any of ``excluded_tips`` (the other branches).
        """
        if before == ZERO_SHA:
            revisions = [after, *(f"^{tip}" for tip in excluded_tips)]
        else:
            revisions = [f"{before}..{after}"]
        total = int(self._text("rev-list", "--count", *revisions, "--").strip() or 0)
        out = self._text(
            "-c",
            "core.quotePath=false",
            "log",
            "--reverse",
            f"--max-count={limit}",
            "--name-status",
            "--no-renames",
            f"--format={_LOG_FORMAT}",
            *revisions,
            "--",
        )
        return [_with_changes(commit, status) for commit, status in _parse_log(out)], total

    # --- trees and blobs --------------------------------------------------------------------------

    def read_blob(self, commit_id: str, path: str) -> Blob | None:
        """The file at ``path`` in a commit; ``None`` if there is none (or it is a directory)."""
        wanted = path.strip("/")
        memo = _memo(self.path) if _FULL_OBJECT_ID.match(commit_id) and _plain_path(wanted) else None
        listing = self._listing(memo, commit_id) if memo is not None else None
        if memo is None or listing is None:
            listed = self.git("ls-tree", "-z", commit_id, "--", wanted, check=False).decode(errors="replace")
            return _blob_listed(listed, self)
        entry = listing.get(wanted)
        if entry is None or entry[1] != "blob":
            return None
        mode, _, blob_id = entry
        data = memo.contents.get(blob_id)
        if data is None:
            data = self._loose(blob_id, b"blob", whole=True)
            if data is None:
                data = self.git("cat-file", "blob", blob_id)
            memo.remember(memo.contents, blob_id, data)
        return Blob(id=blob_id, data=data, executable=mode == "100755")

    def _listing(self, memo: _ObjectMemo, commit_id: str) -> dict[str, tuple[str, str, str]] | None:
        """Every file of a commit by path: (mode, type, id), as ``ls-tree -r`` lists them (blobs and
        submodule commits, no trees); ``None`` when the commit is not in the repository (not kept)."""
        if commit_id in memo.trees:
            return memo.trees[commit_id]
        listing = self._loose_listing(commit_id)
        if listing is None:
            listed = self._run("ls-tree", "-r", "-z", commit_id)
            if listed.returncode != 0:
                return None
            listing = {}
            for record in listed.stdout.decode(errors="replace").split("\0"):
                if record:
                    meta, _, entry_path = record.partition("\t")
                    mode, kind, object_id = meta.split(" ")
                    listing[entry_path] = (mode, kind, object_id)
        memo.remember(memo.trees, commit_id, listing)
        return listing

    def _loose_listing(self, commit_id: str) -> dict[str, tuple[str, str, str]] | None:
        """``ls-tree -r`` of a loose commit whose trees are all loose, read off the disk; ``None`` when git
        must be asked (:meth:`_loose`)."""
        commit = self._loose(commit_id, b"commit", whole=True)
        if commit is None or not commit.startswith(b"tree "):
            return None
        listing: dict[str, tuple[str, str, str]] = {}
        tree_id = commit[5:45].decode("ascii", errors="replace")
        return listing if self._list_loose_tree(tree_id, "", listing) else None

    def _list_loose_tree(self, tree_id: str, prefix: str, listing: dict[str, tuple[str, str, str]]) -> bool:
        """Add a loose tree's entries to ``listing`` as ``ls-tree -r`` prints them: in the tree's order,
        each subtree's files in its place, modes as git's ``canon_mode()`` reads them (``%06o``), gitlinks
        as ``commit``; False where an object is not a loose tree or not well formed."""
        data = self._loose(tree_id, b"tree", whole=True)
        if data is None:
            return False
        position = 0
        while position < len(data):
            space = data.find(b" ", position)
            end = data.find(b"\0", space + 1)
            if (
                space < 0
                or end <= space + 1
                or end + 21 > len(data)
                or not _OCTAL.fullmatch(data[position:space])
            ):
                return False  # git's decode_tree_entry() refuses it: git says why
            mode = _canon_mode(int(data[position:space] or b"0", 8))
            name = prefix + data[space + 1 : end].decode(errors="replace")
            object_id = data[end + 1 : end + 21].hex()
            position = end + 21
            if mode == stat.S_IFDIR:
                if not self._list_loose_tree(object_id, name + "/", listing):
                    return False
            else:
                listing[name] = (f"{mode:06o}", "commit" if mode == _S_IFGITLINK else "blob", object_id)
        return True

    def last_commit_touching(self, commit_id: str, path: str) -> str:
        """The newest commit in ``commit_id``'s history that changed ``path`` (``""`` if none). Remembered
        for a full id: a commit's history never changes (replace refs are ignored, server repositories
        are never shallow), and the files API reads the same file at the same commit again and again."""
        memo = _memo(self.path) if _FULL_OBJECT_ID.match(commit_id) else None
        if memo is not None and (commit_id, path) in memo.last_commits:
            return memo.last_commits[(commit_id, path)]
        last = self._text("log", "-1", "--format=%H", commit_id, "--", path).strip()
        if memo is not None:
            memo.remember(memo.last_commits, (commit_id, path), last)
        return last

    def list_tree(self, commit_id: str, path: str, recursive: bool) -> list[TreeEntry] | None:
        """Entries under directory ``path`` (``""`` = root); ``None`` if ``path`` is not a directory."""
        directory = path.strip("/")
        treeish = f"{commit_id}:{directory}" if directory else commit_id
        kind = self.git("cat-file", "-t", treeish, check=False).decode().strip()
        if kind not in ("tree", "commit"):
            return None
        args = ["ls-tree", "-z", *(["-r", "-t"] if recursive else []), treeish]
        entries = []
        for record in self.git(*args).decode(errors="replace").split("\0"):
            if not record:
                continue
            meta, entry_path = record.split("\t", 1)
            mode, kind, object_id = meta.split(" ")
            full_path = f"{directory}/{entry_path}" if directory else entry_path
            entries.append(
                TreeEntry(
                    id=object_id, name=full_path.rsplit("/", 1)[-1], type=kind, path=full_path, mode=mode
                )
            )
        return entries

    def list_files(self, commit_id: str) -> list[str]:
        memo = _memo(self.path) if _FULL_OBJECT_ID.match(commit_id) else None
        listing = self._listing(memo, commit_id) if memo is not None else None
        if listing is not None:
            return list(listing)
        out = self.git("ls-tree", "-r", "-z", "--name-only", commit_id)
        return [name for name in out.decode(errors="replace").split("\0") if name]

    # --- writing ----------------------------------------------------------------------------------

    def write_commit(
        self,
        parent: str | None,
        changes: Sequence[FileChange],
        message: str,
        author: Signature,
        committer: Signature,
    ) -> str:
        """Create (but do not reference) a commit applying ``changes`` on top of ``parent``."""
        with tempfile.TemporaryDirectory(prefix="gitlab-index-") as scratch:
            index_env = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
            if parent:
                self.git("read-tree", parent, env=index_env)
            entries = []
            for change in changes:
                if change.content is None:
                    entries.append(f"0 {ZERO_SHA}\t{change.path}")
                    continue
                blob_id = self.git("hash-object", "-w", "--stdin", stdin=change.content).decode().strip()
                mode = "100755" if change.executable else "100644"
                entries.append(f"{mode} {blob_id}\t{change.path}")
            self.git(
                "update-index", "-z", "--index-info", stdin="\0".join(entries).encode() + b"\0", env=index_env
            )
            tree = self._text("write-tree", env=index_env).strip()
        signature_env = {
            "GIT_AUTHOR_NAME": author.name,
            "GIT_AUTHOR_EMAIL": author.email,
            "GIT_COMMITTER_NAME": committer.name,
            "GIT_COMMITTER_EMAIL": committer.email,
        }
        parent_args = ["-p", parent] if parent else []
        out = self.git("commit-tree", tree, *parent_args, stdin=message.encode(), env=signature_env)
        return out.decode().strip()


def _canon_mode(mode: int) -> int:
    """A tree entry's mode as git reads it (``canon_mode()`` in git's ``cache.h``)."""
    if stat.S_ISREG(mode):
        return stat.S_IFREG | (0o755 if mode & 0o100 else 0o644)
    if stat.S_ISLNK(mode):
        return stat.S_IFLNK
    if stat.S_ISDIR(mode):
        return stat.S_IFDIR
    return _S_IFGITLINK


def _plain_path(path: str) -> bool:
    """A path ``ls-tree`` matches literally, component by component, as a listing's key would."""
    return (
        bool(path)
        and all(part not in ("", ".", "..") for part in path.split("/"))
        and not any(character in path for character in "*?[\\:")
    )


def _blob_listed(listing: str, repository: BareRepository) -> Blob | None:
    """The blob an ``ls-tree -z <commit> -- <path>`` line names, read; ``None`` for no line or a tree."""
    meta, _, _ = listing.partition("\t")
    if meta.count(" ") != 2:
        return None
    mode, kind, blob_id = meta.split(" ")
    if kind != "blob":
        return None
    return Blob(id=blob_id, data=repository.git("cat-file", "blob", blob_id), executable=mode == "100755")


def _parse_log(out: str) -> list[tuple[CommitInfo, str]]:
    """Split ``git log --format=_LOG_FORMAT`` output into commits and whatever git printed after each."""
    parsed = []
    for record in out.split(_RECORD)[1:]:
        fields = record.split(_FIELD)
        sha, parents, a_name, a_email, a_date, c_name, c_email, c_date, body = fields[:9]
        commit = CommitInfo(
            id=sha,
            parent_ids=parents.split(),
            author_name=a_name,
            author_email=a_email,
            authored_date=gitlab_date(a_date),
            committer_name=c_name,
            committer_email=c_email,
            committed_date=gitlab_date(c_date),
            message=body,
        )
        parsed.append((commit, _FIELD.join(fields[9:])))
    return parsed


def _with_changes(commit: CommitInfo, name_status: str) -> CommitWithChanges:
    added: list[str] = []
    modified: list[str] = []
    removed: list[str] = []
    buckets = {"A": added, "M": modified, "T": modified, "D": removed}
    for line in name_status.splitlines():
        status, _, path = line.partition("\t")
        if path and status[:1] in buckets:
            buckets[status[:1]].append(path)
    return CommitWithChanges(commit=commit, added=added, modified=modified, removed=removed)
