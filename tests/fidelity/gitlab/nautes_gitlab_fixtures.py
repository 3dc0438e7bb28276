"""pytest plugin for python-gitlab's functional tests (``-p nautes_gitlab_fixtures``, in their own pytest
process with this directory on ``PYTHONPATH``): their fixtures, unedited, pointed at the reference stack.

Their conftests are not loaded as conftests (``--noconftest``: they start GitLab in Docker and reset it), but
registered here as plugins in their order, so ``project``, ``group``, ``user``... are theirs; then
:mod:`nautes_gitlab_stack` is registered last, and its fixtures, which say where GitLab is, override theirs
(pytest uses the fixture registered last).
"""

pytest_plugins = ["tests.conftest", "tests.functional.conftest", "nautes_gitlab_stack"]
