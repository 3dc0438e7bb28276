"""Root conftest, kept tiny: the ``nautes_e2e`` plugin (a pytest11 entry point) does the work; the fixture
modules the suites use are loaded here."""

pytest_plugins = [
    "fixtures.target",
    "fixtures.clients",
    "fixtures.scenario",
    "fixtures.facts",
    "fixtures.teardown",
]
