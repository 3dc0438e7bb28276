"""The exit codes of a run (``pytest suites/...``) and of ``nautes-e2e``, one set for both.

They are pytest's own numbers (``pytest.ExitCode``), so that a CI that knows pytest reads them right, with
the meaning a Nautes run gives them. The difference a CI cares about is 1 against 4: 1 says the world is
broken (a stage that ran found Nautes, GitLab, Vault or the cluster misbehaving), 4 says the run was given
something it cannot use (an option, the target file, the scenario, the world config, or a machine that
lacks what the target needs) — fix the job, not Nautes.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    #: Every stage passed (the teardown may be skipped by ``--keep-env``); the gate: every report passed.
    PASSED = 0
    #: A stage failed (the world is broken); the gate: a required stage did not pass.
    FAILED = 1
    #: Ctrl-C, SIGTERM or SIGHUP: the run stopped early, after its teardown and reports.
    INTERRUPTED = 2
    #: A bug in nautes-e2e (pytest's INTERNALERROR: the plugin or a hook raised).
    HARNESS_ERROR = 3
    #: Configuration or usage: options, target file, scenario, world config, the machine's preflight; the
    #: gate: a report it cannot read, or bad arguments.
    CONFIGURATION_ERROR = 4
    #: No test was collected (pytest's own code; no stage ran, so no report is written).
    NO_TESTS = 5
