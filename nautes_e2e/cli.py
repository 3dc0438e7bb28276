"""The ``nautes-e2e`` console script.

``nautes-e2e refstack up --dir DIR`` starts the embedded reference stack standalone (design §3), so that
``pytest suites/quickstart --target existing --target-file DIR/target.yaml``, ``kubectl``, ``git`` or a
browser can be pointed at it. ``nautes-e2e gate REPORT.json|DIR ...`` is the release gate over runs' reports
(design §6, :mod:`nautes_e2e.gate`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

USAGE = """usage: nautes-e2e refstack up --dir DIR
       nautes-e2e gate [--require STAGE]... [--allow-simulated] REPORT.json|DIR [...]"""


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if args else 2
    if args[0] == "refstack":
        # Imported here: only this command needs the reference stack, and the harness must never load it.
        from nautes_e2e.refstack.__main__ import main as refstack_main

        return refstack_main(args[1:])
    if args[0] == "gate":
        # Imported here too, so that ``refstack`` does not load the report code and ``gate`` loads no stack.
        from nautes_e2e.gate import main as gate_main

        return gate_main(args[1:])
    print(f"nautes-e2e: unknown command {args[0]!r}\n{USAGE}", file=sys.stderr)
    return 2
