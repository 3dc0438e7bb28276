"""What the tests of the Nautes client's callers share: the documents a small apply sends, and a reply in
the Nautes API server's error shape (kratos: ``code``, ``reason``, ``message``, ``metadata``; contract
§2.5)."""

from __future__ import annotations

from aiohttp import web

#: A product, an environment on cluster ``physical-worker`` and a project: the order ``nautes apply`` saves.
DOCUMENTS = """\
apiVersion: nautes.resource.nautes.io/v1alpha1
kind: Product
spec: {name: demo, git: {gitlab: {name: demo, path: demo, visibility: private, description: demo}}}
---
apiVersion: nautes.resource.nautes.io/v1alpha1
kind: Environment
spec: {name: env-dev, product: demo, cluster: physical-worker, envType: dev}
---
apiVersion: nautes.resource.nautes.io/v1alpha1
kind: Project
spec: {name: project-demo, product: demo, language: java}
"""


def kratos(code: int, message: str) -> web.Response:
    """An error reply of the Nautes API server with an empty ``reason``."""
    return web.json_response({"code": code, "reason": "", "message": message, "metadata": {}}, status=code)
