"""A follower that ends by an exception says so in the stack's log: its controller has stopped for good; and
so does an exception a controller survives."""

from __future__ import annotations

import asyncio
import logging

import pytest
from nautes_refstack.kube import ObjectStore, WatchStream
from nautes_refstack.kube.followers import StreamFollowers
from nautes_refstack.supervision import log_survived_error


async def _fails_at_first_event(stream: WatchStream) -> None:
    async for event in stream:
        raise KeyError(event.object["metadata"]["name"])


async def _follows_quietly(stream: WatchStream) -> None:
    async for _ in stream:
        pass


def test_a_follower_that_dies_is_logged_with_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        store = ObjectStore()
        followers = StreamFollowers()
        followers.follow(store.watch("v1", "Namespace"), _fails_at_first_event, "Namespace events")
        followers.follow(store.watch("v1", "Node"), _follows_quietly, "Node events")
        for _ in range(5):
            await asyncio.sleep(0)
        await followers.stop()

    with caplog.at_level(logging.ERROR, logger="nautes_refstack.supervision"):
        asyncio.run(scenario())
    [record] = caplog.records
    assert record.getMessage().startswith("Namespace events stopped: KeyError(")
    assert record.exc_info is not None


def test_a_survived_exception_is_logged_with_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="nautes_refstack.supervision"):
        try:
            {}["missing"]
        except KeyError:
            log_survived_error("reconcile of %s crashed", "demo")
    [record] = caplog.records
    assert record.getMessage() == "reconcile of demo crashed"
    assert record.exc_info is not None
    assert record.exc_info[0] is KeyError
