"""The root-CA publisher: ``kube-root-ca.crt`` in every namespace, put back when changed or deleted."""

from __future__ import annotations

import asyncio

from nautes_refstack.kube import ObjectStore
from nautes_refstack.kube.root_ca import NAME, RootCaPublisher

CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


async def _settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


def test_every_namespace_gets_the_root_ca_and_keeps_it() -> None:
    async def scenario() -> ObjectStore:
        store = ObjectStore()
        publisher = RootCaPublisher(store, CA)
        await publisher.start()
        store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}})
        await _settle()
        store.delete("v1", "ConfigMap", "team", NAME)
        changed = store.get("v1", "ConfigMap", "default", NAME)
        changed["data"] = {"ca.crt": "tampered"}
        store.replace(changed)
        await _settle()
        store.delete("v1", "Namespace", None, "team")
        await _settle()
        await publisher.stop()
        return store

    store = asyncio.run(scenario())
    published = store.list("v1", "ConfigMap", None, field_selector=f"metadata.name={NAME}")
    assert sorted(c["metadata"]["namespace"] for c in published) == [
        "default",
        "kube-node-lease",
        "kube-public",
        "kube-system",
    ]
    assert {c["data"]["ca.crt"] for c in published} == {CA}
