"""Garbage collection that skips what lives as long as the process: the modules and the collected session.

A run imports some 900 modules (pytest, the kubernetes client, python-gitlab, hvac, pydantic) before the first
stage starts. Every full collection CPython makes walks every object those imports created, although none of
them is ever garbage: during start-up a full collection or two run while the imports allocate, and pytest
makes one more at the end of the session (its unraisable-exception check) and the interpreter another at
exit. That was about a tenth of the harness's CPU time per run, and the fault matrix starts some forty runs.

So this module, the first the plugin loads, pauses the collector while the plugin's modules and the fixture
modules are imported, and once the session is configured, and again once the tests are collected, moves
every object that exists to the permanent generation (:func:`gc.freeze`), which collections do not walk.
Objects the stages create are collected as before (and an unraisable exception of one of them is still
reported at the end of the session); frozen objects are not freed before the process exits, which the
modules and the collected tests would not be anyway.
"""

from __future__ import annotations

import gc

import pytest

_ENABLED_BEFORE = gc.isenabled()
gc.disable()


@pytest.hookimpl(tryfirst=True)
def pytest_configure() -> None:
    """Start-up's imports are done: freeze what they made and let the collector run again."""
    gc.freeze()
    if _ENABLED_BEFORE:
        gc.enable()


@pytest.hookimpl(trylast=True)
def pytest_collection_finish() -> None:
    """The test modules and items live until the end of the session: freeze them too."""
    gc.freeze()
