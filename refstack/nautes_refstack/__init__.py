"""The embedded reference stack: a faithful, runnable stand-in for Nautes v0.4.x and its surroundings.

Every piece binds 127.0.0.1 on a free port and speaks the same protocols as the real thing, so the harness
reaches it through the same clients it uses against real infrastructure. This package never imports the
harness (``nautes_e2e.scenario``, ``stages``, ``clients``, ``targets``, ``report``, ``plugin``); the harness
starts it as a separate process (``python -m nautes_refstack up --dir DIR``).
"""
