"""An OCI distribution v2 registry (``/v2/``) kept in memory, with HTTP Basic authentication.

The reference stack's kaniko task pushes the pipeline's image here, and the harness (and ``docker``) pull it
back: ``Registry(username, password)``, ``await start()``, ``.url``, ``.host``, ``await stop()``.
"""

from __future__ import annotations

from nautes_refstack.registry.server import Registry

__all__ = ["Registry"]
