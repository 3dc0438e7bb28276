"""The nautes-e2e pytest plugin (``pytest11`` entry point ``nautes_e2e``), one module per feature, the way
pytest's own plugins are laid out:

* :mod:`~nautes_e2e.plugin.options`: the ``nautes-e2e`` option group, resolved into :class:`RunOptions`;
* :mod:`~nautes_e2e.plugin.run`: the run's state (:class:`RunState` in ``config.stash``) and the session
  fixtures that hand it out;
* :mod:`~nautes_e2e.plugin.stages`: ``@pytest.mark.stage(name, needs=(...))``, ordering checks, blocking,
  and recording each stage's outcome;
* :mod:`~nautes_e2e.plugin.xdist`: keeping a suite's stage chain on one pytest-xdist worker and shipping the
  worker's records to the controller;
* :mod:`~nautes_e2e.plugin.signals`: SIGTERM and SIGHUP stop a run as Ctrl-C does (teardown, reports,
  the world stopped), a second signal stops it at once;
* :mod:`~nautes_e2e.plugin.reporting`: writing the reports and the terminal table at the end;
* :mod:`~nautes_e2e.plugin.redaction`: masking secrets in what pytest itself prints about a test.

Fixture modules reach the run's state as ``from nautes_e2e.plugin.run import RunState``; nothing is imported
here, so that pytest can rewrite the asserts of every module it loads as a plugin.
"""

from __future__ import annotations

pytest_plugins = [
    "nautes_e2e.plugin.gc_freeze",  # first: it pauses the collector while the others are imported
    "nautes_e2e.plugin.options",
    "nautes_e2e.plugin.run",
    "nautes_e2e.plugin.stages",
    "nautes_e2e.plugin.resume",
    "nautes_e2e.plugin.xdist",
    "nautes_e2e.plugin.signals",
    "nautes_e2e.plugin.errors",
    "nautes_e2e.plugin.reporting",
    "nautes_e2e.plugin.redaction",
]
