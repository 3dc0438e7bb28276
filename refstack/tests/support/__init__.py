"""Helpers of the reference stack's tests (no tests here): the background event loop and the per-service
harnesses built on it.

``refstack/tests`` has no ``__init__.py``: pytest puts it on ``sys.path`` (prepend import mode), so tests
import ``support.<module>``.
"""
