"""The ``nautes-e2e`` console script: argparse sub-commands.

``nautes-e2e gate REPORT.json|DIR ...`` is the release gate over runs' reports (design §6,
:mod:`nautes_e2e.gate`). ``nautes-e2e refstack up --dir DIR`` starts the embedded reference stack standalone
(design §3) so that ``pytest suites/quickstart --target existing --target-file DIR/target.yaml``, ``kubectl``,
``git`` or a browser can be pointed at it. The stack is a separate distribution (``nautes-refstack``) that the
harness never imports: the sub-command hands its arguments to the stack's own command line, in this process's
place, so signals (Ctrl-C) reach the stack directly.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from nautes_e2e import gate
from nautes_e2e.targets.local import REFSTACK_INSTALL_HINT, REFSTACK_MODULE, refstack_available

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nautes-e2e", description="The Nautes end-to-end harness.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    gate.add_arguments(commands.add_parser("gate", help=gate.DESCRIPTION, description=gate.DESCRIPTION))
    refstack = commands.add_parser(
        "refstack",
        help="run the embedded reference stack standalone (nautes-e2e refstack up --dir DIR)",
        description="Passes its arguments to the reference stack's command line (python -m nautes_refstack).",
        add_help=False,
    )
    refstack.add_argument("arguments", nargs=argparse.REMAINDER, help="the stack's own arguments")
    return parser


def run_refstack(arguments: Sequence[str]) -> int:
    """Replace this process with ``python -m nautes_refstack ARGUMENTS``; exit 2 with how to install it
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
    return gate.run(args)
