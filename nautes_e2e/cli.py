"""The ``nautes-e2e`` console script: argparse sub-commands.

``nautes-e2e gate REPORT.json|DIR ...`` is the release gate over runs' reports (design §6,
:mod:`nautes_e2e.gate`). ``nautes-e2e refstack up --dir DIR`` starts the embedded reference stack standalone
(design §3) so that ``pytest suites/quickstart --target existing --target-file DIR/target.yaml``, ``kubectl``,
``git`` or a browser can be pointed at it. The stack is a separate distribution (``nautes-refstack``) that the
harness never imports: the sub-command hands its arguments to the stack's own command line, in this process's
place, so signals (Ctrl-C) reach the stack directly.

``nautes-e2e world plan --target k3d|kind [--world-config PATH]`` prints the bring-up of a real world, every
step with its image, version and exact commands, in order and with what runs in parallel, without running
anything (:mod:`nautes_e2e.worlds.plan`). ``nautes-e2e world prune [--world NAME] [--dry-run]`` removes what
killed runs and kept worlds left in Docker (:mod:`nautes_e2e.worlds.prune`).

Exit codes are a run's (:class:`~nautes_e2e.report.exit_codes.ExitCode`): 0 done, 1 the job failed (the
gate: a required stage did not pass; prune: something could not be removed), 4 the command was given
something it cannot use — bad arguments (argparse's own 2 is turned into 4, so that 2 keeps meaning
"interrupted" everywhere), a report the gate cannot read, an invalid world config, the reference stack or
Docker missing. ``refstack`` becomes the stack's own process and exits with the stack's codes.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import docker.errors

from nautes_e2e import gate
from nautes_e2e.containers.docker_env import docker_client
from nautes_e2e.report.exit_codes import ExitCode
from nautes_e2e.targets.cluster import world_plan
from nautes_e2e.targets.kept_stack import release_kept_stacks
from nautes_e2e.targets.local import REFSTACK_INSTALL_HINT, REFSTACK_MODULE, refstack_available
from nautes_e2e.targets.workdir import sweep_orphaned
from nautes_e2e.worlds import prune
from nautes_e2e.worlds.installation import InstallerModule
from nautes_e2e.worlds.plan import render_plan
from nautes_e2e.worlds.settings import PROVIDERS, WorldConfigError, load_world_settings
from nautes_e2e.worlds.state import state_root

EXIT_USAGE = ExitCode.CONFIGURATION_ERROR
EXIT_FAILED = ExitCode.FAILED


class _Parser(argparse.ArgumentParser):
    """argparse with usage errors exiting 4 rather than 2; sub-command parsers are of the same class."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="nautes-e2e", description="The Nautes end-to-end harness.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    gate.add_arguments(commands.add_parser("gate", help=gate.DESCRIPTION, description=gate.DESCRIPTION))
    refstack = commands.add_parser(
        "refstack",
        help="run the embedded reference stack standalone (nautes-e2e refstack up --dir DIR)",
        description="Passes its arguments to the reference stack's command line (python -m nautes_refstack).",
        add_help=False,
    )
    refstack.add_argument("arguments", nargs=argparse.REMAINDER, help="the stack's own arguments")
    add_world_arguments(commands.add_parser("world", help="real worlds (k3d, kind): plan, prune"))
    return parser


def add_world_arguments(world: argparse.ArgumentParser) -> None:
    actions = world.add_subparsers(dest="world_command", required=True, metavar="ACTION")
    plan = actions.add_parser(
        "plan",
        help="print the bring-up of a k3d/kind world without running anything",
        description="Prints each step of the bring-up (image, version, exact commands), in order, and what "
        "runs in parallel. Nothing is run or written.",
    )
    plan.add_argument("--target", required=True, choices=PROVIDERS, help="the kind of world")
    plan.add_argument(
        "--world-config",
        metavar="PATH",
        type=Path,
        help="a YAML file of world settings (name, images, ports, subnet, imageOverrides, ...); default: "
        "$NAUTES_E2E_WORLD_CONFIG, else the defaults",
    )
    prune_parser = actions.add_parser(
        "prune",
        help="remove what killed runs and kept worlds left in Docker (found by labels and state files)",
        description="Removes the harness's clusters, containers, volumes and networks, and the worlds' state "
        "directories: every world's, or only --world NAME's.",
    )
    prune_parser.add_argument("--world", metavar="NAME", help="only this world")
    prune_parser.add_argument(
        "--dry-run", action="store_true", help="say what would be removed; remove nothing"
    )


def run_world(args: argparse.Namespace) -> int:
    if args.world_command == "plan":
        try:
            settings = load_world_settings(args.target, args.world_config)
        except WorldConfigError as error:
            print(f"nautes-e2e world plan: {error}", file=sys.stderr)
            return EXIT_USAGE
        print(render_plan(world_plan(settings, os.environ, InstallerModule())), end="")
        return ExitCode.PASSED
    if args.world is None:
        # The local target's world directories a run killed outright left (no Docker needed for those).
        for directory in sweep_orphaned(dry_run=args.dry_run):
            print(f"{'would remove' if args.dry_run else 'removed'} {directory} (its run was killed)")
    for line in release_kept_stacks(state_root(os.environ), args.world, dry_run=args.dry_run):
        print(line)  # the local target's kept stacks: processes, not Docker objects
    try:
        client = docker_client()
        failed = prune.prune(client, state_root(os.environ), args.world, dry_run=args.dry_run)
    except docker.errors.DockerException as error:
        print(f"nautes-e2e world prune: Docker does not answer ({error})", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_FAILED if failed else ExitCode.PASSED


def run_refstack(arguments: Sequence[str]) -> int:
    """Replace this process with ``python -m nautes_refstack ARGUMENTS``; exit 4 with how to install it
    when it is missing."""
    if not refstack_available():
        print(f"nautes-e2e refstack: {REFSTACK_INSTALL_HINT}", file=sys.stderr)
        return EXIT_USAGE
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", REFSTACK_MODULE, *arguments])


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "refstack":
        return run_refstack(args.arguments)
    if args.command == "world":
        return run_world(args)
    return gate.run(args)
