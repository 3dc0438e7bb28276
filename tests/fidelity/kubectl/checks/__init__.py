"""The kubectl set itself, run in a pytest process of its own by :mod:`tests.fidelity.kubectl.suite`
(its files are not named ``test_*.py``, so a run of ``tests/`` does not collect them on its own)."""
