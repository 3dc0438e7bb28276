"""The reference stack held to its clients' own tests: upstream test suites (python-gitlab's functional tests,
the kubernetes client's e2e tests, everyday kubectl) run against a standalone stack (issue 10)."""
