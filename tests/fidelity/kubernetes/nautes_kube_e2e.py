"""pytest plugin for the kubernetes client's e2e tests (``-p nautes_kube_e2e``, in their own pytest process
with this directory on ``PYTHONPATH``): the ``kubernetes.e2e_test.base`` and ``kubernetes.aio.e2e_test.base``
modules their tests import, which the sdist does not ship, pointed at the reference stack's cluster.

Upstream's ``get_e2e_configuration()`` builds a ``Configuration`` for the cluster its CI starts; ours loads
the kubeconfig the stack wrote (:data:`KUBECONFIG_ENV` names the file), with the client's own loaders. The
modules are registered in ``sys.modules`` when pytest configures, before it imports any upstream test module.
"""

from __future__ import annotations

import asyncio
import os
import sys
import types
from typing import Any

KUBECONFIG_ENV = "NAUTES_E2E_FIDELITY_KUBECONFIG"


def _kubeconfig() -> str:
    return os.environ[KUBECONFIG_ENV]


def get_e2e_configuration() -> Any:
    """A ``kubernetes.client.Configuration`` for the stack's cluster."""
    from kubernetes import client, config

    configuration = client.Configuration()
    config.load_kube_config(config_file=_kubeconfig(), client_configuration=configuration)  # type: ignore[no-untyped-call]
    return configuration


def get_aio_e2e_configuration() -> Any:
    """A ``kubernetes.aio.client.Configuration`` for the stack's cluster (its loader is a coroutine; the
    tests call this from ``setUpClass``, outside any event loop)."""
    from kubernetes.aio import client, config

    configuration = client.Configuration()
    loading = config.load_kube_config(  # type: ignore[no-untyped-call]
        config_file=_kubeconfig(), client_configuration=configuration
    )
    asyncio.run(loading)
    return configuration


def _provide(package: str, factory: Any) -> None:
    parent = types.ModuleType(package)
    parent.__path__ = []
    base = types.ModuleType(f"{package}.base")
    base.get_e2e_configuration = factory  # type: ignore[attr-defined]
    parent.base = base  # type: ignore[attr-defined]
    sys.modules[package] = parent
    sys.modules[f"{package}.base"] = base


def pytest_configure() -> None:
    _provide("kubernetes.e2e_test", get_e2e_configuration)
    _provide("kubernetes.aio.e2e_test", get_aio_e2e_configuration)
