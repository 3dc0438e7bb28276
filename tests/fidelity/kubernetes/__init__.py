"""The kubernetes Python client's own e2e tests for its dynamic client (``kubernetes/dynamic`` and
``kubernetes/aio/dynamic`` of the pinned sdist), run against a standalone reference stack's cluster."""
