"""The OPC UA checkpoint client against a real asyncua server (the emulator) on a free port."""

import asyncio
import logging
import threading
import time

import pytest
from asyncua import Client

from corridor_core.clearance import ManifestRecord, PlateObservation
from corridor_links import checkpoint_schema as cs
from corridor_links.checkpoint_client import (
    RECONCILE_PERIOD_S,
    CheckpointClient,
    CheckpointStatus,
)
from corridor_links.mosquitto import free_port
from corridor_sim.checkpoint_emulator import CheckpointEmulator


class _ServerThread(threading.Thread):
    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.emulator: CheckpointEmulator | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    def run(self) -> None:
        asyncio.run(self._serve())

    def lose_event(self, record: dict[str, str | float]) -> None:
        """Have the server keep ``record`` but send no event for it."""
        assert self.emulator is not None and self.loop is not None
        asyncio.run_coroutine_threadsafe(
            self.emulator.post_record_event_lost(record), self.loop
        ).result(5)

    async def _serve(self) -> None:
        emulator = CheckpointEmulator(self.port, "bridge", "s3cret")
        await emulator.setup()
        self.emulator, self.loop = emulator, asyncio.get_running_loop()
        async with emulator.server:
            self.ready.set()
            while not self.stop.is_set():
                await asyncio.sleep(0.05)


async def _call(url: str, method: str, *args, password: str = "s3cret"):
    client = Client(url, timeout=5)
    client.set_user("bridge")
    client.set_password(password)
    async with client:
        idx = await client.get_namespace_index(cs.NAMESPACE_URI)
        sim = await client.nodes.objects.get_child(f"{idx}:{cs.SIMULATION_OBJECT}")
        return await sim.call_method(f"{idx}:{method}", *args)


def _next(inbox, kind, timeout_s=10.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        item = inbox.get(timeout=timeout_s)
        if isinstance(item, kind):
            return item
    raise AssertionError(f"no {kind.__name__} within {timeout_s} s")


@pytest.fixture()
def checkpoint_server():
    """A real emulated checkpoint (asyncua server) on a free port."""
    port = free_port()
    server = _ServerThread(port)
    server.start()
    assert server.ready.wait(15)
    yield server
    server.stop.set()
    server.join(5)


@pytest.fixture()
def checkpoint_url(checkpoint_server: _ServerThread) -> str:
    """The emulated checkpoint's URL."""
    return f"opc.tcp://127.0.0.1:{checkpoint_server.port}/corridor/checkpoint"


def test_plate_reads_and_manifests_arrive_as_domain_records(checkpoint_url: str) -> None:
    client = CheckpointClient(checkpoint_url, "bridge", "s3cret")
    client.start()
    try:
        assert _next(client.inbox, CheckpointStatus).connected
        asyncio.run(
            _call(
                checkpoint_url,
                "PostManifest",
                "DEC-1",
                "CSQU3054383",
                "桂F·D3101",
                "RELEASED",
                "GREEN",
            )
        )
        tx = asyncio.run(_call(checkpoint_url, "InjectPlateRead", "VN-IN-1", "桂F·D3101", 0.9))
        manifest = _next(client.inbox, ManifestRecord)
        assert (manifest.container_number, manifest.plate) == ("CSQU3054383", "桂F·D3101")
        plate = _next(client.inbox, PlateObservation)
        assert (plate.plate, plate.lane_id, plate.transaction_id) == ("桂F·D3101", "VN-IN-1", tx)
    finally:
        client.stop()


def test_wrong_password_is_refused(checkpoint_url: str) -> None:
    with pytest.raises(Exception, match=r"UserAccessDenied"):
        asyncio.run(
            _call(checkpoint_url, "InjectPlateRead", "L", "桂F·D3101", 1.0, password="nope")
        )


def test_records_posted_before_connecting_are_recovered_once(checkpoint_url: str) -> None:
    tx = asyncio.run(_call(checkpoint_url, "InjectPlateRead", "VN-IN-1", "桂F·D3101", 0.9))
    client = CheckpointClient(checkpoint_url, "bridge", "s3cret")
    client.start()
    try:
        plate = _next(client.inbox, PlateObservation)
        assert plate.transaction_id == tx
        assert _next(client.inbox, CheckpointStatus).connected
        time.sleep(0.5)
        assert client.inbox.empty(), "the recovered record was passed on twice"
    finally:
        client.stop()


def test_a_record_whose_event_was_lost_is_recovered_while_connected(
    checkpoint_server: _ServerThread, checkpoint_url: str
) -> None:
    client = CheckpointClient(checkpoint_url, "bridge", "s3cret")
    client.start()
    try:
        assert _next(client.inbox, CheckpointStatus).connected
        fields = ("DEC-LOST", "CSQU3054383", "桂F·D3101", "RELEASED", "GREEN", "")
        checkpoint_server.lose_event(dict(zip(cs.MANIFEST_FIELDS, fields, strict=True)))
        manifest = _next(client.inbox, ManifestRecord, timeout_s=4 * RECONCILE_PERIOD_S)
        assert manifest.declaration_number == "DEC-LOST"
        time.sleep(2 * RECONCILE_PERIOD_S)
        assert client.inbox.empty(), "the recovered record was passed on twice"
    finally:
        client.stop()


def test_a_quiet_subscription_is_kept(checkpoint_url: str, caplog) -> None:
    """Quiet for seconds, the subscription is not judged stale and re-created (with a
    publishing interval of 0 the server sent no keep-alives, asyncua re-created the quiet
    subscription every second, and events sent in the gap were lost)."""
    caplog.set_level(logging.WARNING, logger="asyncua")
    client = CheckpointClient(checkpoint_url, "bridge", "s3cret")
    client.start()
    try:
        assert _next(client.inbox, CheckpointStatus).connected
        first = asyncio.run(_call(checkpoint_url, "InjectPlateRead", "VN-IN-1", "桂F·D3101", 0.9))
        assert _next(client.inbox, PlateObservation).transaction_id == first
        time.sleep(3.0)
        stale = [r.getMessage() for r in caplog.records if "stale" in r.getMessage()]
        assert stale == []
        tx = asyncio.run(_call(checkpoint_url, "InjectPlateRead", "VN-IN-1", "桂F·D3101", 0.9))
        assert _next(client.inbox, PlateObservation, timeout_s=2.0).transaction_id == tx
    finally:
        client.stop()
