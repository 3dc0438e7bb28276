"""Faults armed on a running stack for one run: the control directory ``DIR/faults.d``.

Starting a stack per fault costs seconds; a warm stack that several runs share (each with its own suffix,
each on a runtime cluster of its own) costs them once. So faults can also be armed while the stack runs,
for one run only: ``python -m nautes_refstack.fault_control arm --dir DIR --run SUFFIX NAME[=ARG] ...``
(or ``nautes-e2e refstack arm ...``) writes ``DIR/faults.d/SUFFIX``, one ``NAME[=ARG]`` per line, and
``disarm --dir DIR --run SUFFIX`` removes it. The stack looks at the directory whenever a component asks
whether a fault acts (one ``stat``, a read only when the directory changed), so an armed fault acts from
the next question on, and a run never sees another run's faults: a fault armed for ``SUFFIX`` acts only
on what carries that run's names (:func:`.faults.carries`).

Only the stack's own user arms faults: the stack creates the directory 0700 and ignores (logging why) a
file another user owns or that others may write. A file that names an unknown fault or a bad argument is
ignored as a whole and logged, as ``--fault`` would refuse it; ``arm`` refuses it before writing anything.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from nautes_refstack.faults import FaultError, parse_selection
from nautes_refstack.world_dir import FAULT_CONTROL_DIR, READY_FILE

log = logging.getLogger(__name__)

#: A suffix as the harness accepts it (``--suffix``): it ends up in namespaces and GitLab paths.
_SUFFIX = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
#: The directory's mtime is kept at a clock tick's resolution: a change within this time after the mtime
#: read may leave it unchanged, so a read that recent is repeated at the next question.
_SETTLE_NS = 50_000_000

#: Faults armed per run: suffix -> fault name -> arguments (empty for a fault that takes none).
Arms = Mapping[str, Mapping[str, frozenset[str]]]


class FaultControl:
    """The stack's side of ``DIR/faults.d``: what is armed now, re-read whenever the directory changed."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._seen: tuple[int, int] | None = None
        self._settled = False
        self._arms: Arms = {}

    def create(self) -> None:
        """Make the (empty, private) directory; the stack calls this before it writes ``ready``."""
        self.directory.mkdir(mode=0o700, exist_ok=True)
        for leftover in self.directory.iterdir():
            leftover.unlink()

    def arms(self) -> Arms:
        with self._lock:
            try:
                status = os.stat(self.directory)
            except FileNotFoundError:
                return {}
            key = (status.st_mtime_ns, status.st_ino)
            if key != self._seen or not self._settled:
                settled = time.time_ns() - status.st_mtime_ns > _SETTLE_NS
                self._arms = self._read()
                self._seen, self._settled = key, settled
            return self._arms

    def _read(self) -> Arms:
        arms: dict[str, Mapping[str, frozenset[str]]] = {}
        for path in sorted(self.directory.iterdir()):
            if path.name.startswith("."):
                continue  # a file being written (arm writes a hidden file and renames it)
            selection = _read_file(path)
            if selection is not None:
                arms[path.name] = selection
        return arms


def _read_file(path: Path) -> Mapping[str, frozenset[str]] | None:
    """The faults one file arms, or None (logged) when it must be ignored."""
    if not _SUFFIX.match(path.name):
        log.error("fault control: ignoring %s: %r is not a run's suffix", path, path.name)
        return None
    try:
        with path.open() as handle:
            status = os.fstat(handle.fileno())
            text = handle.read()
    except OSError as error:  # removed meanwhile (disarmed) or unreadable
        log.info("fault control: %s not read: %s", path, error.strerror)
        return None
    if status.st_uid != os.getuid() or status.st_mode & 0o022:
        log.error("fault control: ignoring %s: not the stack user's own, or writable by others", path)
        return None
    try:
        selected = parse_selection(line for line in text.splitlines() if line.strip())
    except FaultError as error:
        log.error("fault control: ignoring %s: %s", path, str(error).splitlines()[0])
        return None
    return {name: frozenset(arguments) for name, arguments in selected.items()}


def arm(directory: Path, suffix: str, items: Sequence[str]) -> Path:
    """Write ``DIR/faults.d/SUFFIX`` (replacing what was armed for the run); bad input raises before."""
    control = _control_dir(directory, suffix)
    parse_selection(items)
    descriptor, temporary = tempfile.mkstemp(dir=control, prefix=".arming-")  # mode 0600
    with os.fdopen(descriptor, "w") as handle:
        handle.write("".join(f"{item.strip()}\n" for item in items))
    target = control / suffix
    os.replace(temporary, target)
    return target


def disarm(directory: Path, suffix: str) -> None:
    """Remove what was armed for the run (nothing armed: nothing to do)."""
    (_control_dir(directory, suffix) / suffix).unlink(missing_ok=True)


def _control_dir(directory: Path, suffix: str) -> Path:
    if not _SUFFIX.match(suffix):
        raise FaultError(f"--run {suffix!r} is not a run's suffix (lower case letters, digits, inner '-')")
    control = directory / FAULT_CONTROL_DIR
    if not (directory / READY_FILE).is_file() or not control.is_dir():
        raise FaultError(
            f"no reference stack runs in {directory} (no {READY_FILE} and {FAULT_CONTROL_DIR} there)"
        )
    return control


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nautes-e2e refstack", description="Arm or disarm faults for one run on a running stack."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for command, text in (("arm", "arm faults for one run"), ("disarm", "disarm every fault of one run")):
        sub = commands.add_parser(command, help=text)
        sub.add_argument("--dir", type=Path, required=True, help="the stack's directory (up --dir DIR)")
        sub.add_argument("--run", required=True, metavar="SUFFIX", help="the run's --suffix")
        if command == "arm":
            sub.add_argument("faults", nargs="+", metavar="NAME[=ARG]", help="the faults to arm")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Exit 0 when done, 2 (with the reason on stderr) for bad input or no stack in DIR."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "arm":
            arm(args.dir, args.run, args.faults)
        else:
            disarm(args.dir, args.run)
    except FaultError as error:
        print(f"nothing {args.command}ed: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
