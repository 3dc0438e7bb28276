"""python-gitlab's own functional tests, run against the reference stack's GitLab emulation."""
