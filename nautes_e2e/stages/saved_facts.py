"""The stage facts a kept run (``--keep-env``) saves beside its world, and ``--from-stage`` restores.

A run resumed on a kept world (``--reuse-env NAME --from-stage STAGE``) does not run the stages before
STAGE again: it takes what they established from the kept run's saved facts, and records each of them as
``skipped`` with the reason ``restored from <file> (passed in run <run id>)``. The release gate accepts
that skip (like the teardown's ``kept (--keep-env)``) because only stages that *passed* are ever saved:
a kept run whose stage failed saves no facts for it, and a resume that would need them is refused.

Secrets never reach the file in clear. Facts are saved as the reports show them, redacted; a fact whose
value was redacted (it held a secret, or part of one) is not saved at all but named under
``withheld``, and a resume that needs one of those stages' facts is refused with the fact named: a secret
is re-derived by the stage that makes it (the world's credentials come from its own target file), never
read back from a file the harness wrote.
"""

from __future__ import annotations

#: How a restored stage's ``skip_reason`` begins; the release gate accepts a skip with this reason.
RESTORED_PREFIX = "restored from "
