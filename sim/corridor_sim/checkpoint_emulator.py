"""Emulated border checkpoint: an asyncua OPC UA server posting plate reads and manifests.

Username/password login only (no anonymous sessions). A scenario drives it through the
``Simulation`` object's methods (see :mod:`corridor_links.checkpoint_schema`).

Run: ``corridor-checkpoint-emulator --port 4840 --credentials FILE`` where FILE holds
``username:password`` on one line.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import signal
from collections import deque
from pathlib import Path
from typing import Any

from asyncua import Server, ua
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.server.user_managers import UserManager

from corridor_links import checkpoint_schema as cs

LOG = logging.getLogger("checkpoint_emulator")


class PasswordUsers(UserManager):
    """Accepts exactly one username/password pair."""

    def __init__(self, username: str, password: str) -> None:
        self._username = username
        self._password = password

    def get_user(
        self,
        iserver: Any,
        username: str | None = None,
        password: str | None = None,
        certificate: Any = None,
    ) -> User | None:
        if username == self._username and password == self._password:
            return User(role=UserRole.User, name=username)
        return None


class CheckpointEmulator:
    """The server and its two event generators."""

    def __init__(self, port: int, username: str, password: str, checkpoint_id: str = "VN-TANTHANH"):
        self.port = port
        self.checkpoint_id = checkpoint_id
        self.server = Server(user_manager=PasswordUsers(username, password))
        self._transactions = itertools.count(1)
        self._recent: deque[dict[str, str | float]] = deque(maxlen=cs.RECENT_RECORDS_MAX)

    async def setup(self) -> None:
        """Build the address space."""
        server = self.server
        await server.init()
        server.set_endpoint(f"opc.tcp://127.0.0.1:{self.port}/corridor/checkpoint")
        server.set_server_name("Corridor emulated checkpoint")
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        server.set_security_IDs(["Username"])
        idx = await server.register_namespace(cs.NAMESPACE_URI)
        objects = server.nodes.objects
        self.checkpoint = await objects.add_object(idx, cs.CHECKPOINT_OBJECT)
        await self.checkpoint.add_variable(idx, "CheckpointId", self.checkpoint_id)
        await self.checkpoint.add_variable(idx, "Online", True)
        self.recent_var = await self.checkpoint.add_variable(idx, cs.RECENT_RECORDS, "[]")
        string = ua.VariantType.String
        plate_type = await server.create_custom_event_type(
            idx,
            cs.PLATE_EVENT,
            ua.ObjectIds.BaseEventType,
            [
                ("Lane", string),
                ("Plate", string),
                ("TransactionId", string),
                ("Confidence", ua.VariantType.Double),
            ],
        )
        manifest_type = await server.create_custom_event_type(
            idx,
            cs.MANIFEST_EVENT,
            ua.ObjectIds.BaseEventType,
            [(name, string) for name in cs.MANIFEST_FIELDS],
        )
        self.plate_events = await server.get_event_generator(plate_type, self.checkpoint)
        self.manifest_events = await server.get_event_generator(manifest_type, self.checkpoint)
        sim = await objects.add_object(idx, cs.SIMULATION_OBJECT)
        await sim.add_method(
            idx,
            "InjectPlateRead",
            self._inject_plate,
            [string, string, ua.VariantType.Double],
            [string],
        )
        await sim.add_method(
            idx, "PostManifest", self._post_manifest, [string] * 5, [ua.VariantType.Boolean]
        )

    async def _inject_plate(self, parent: Any, lane: Any, plate: Any, confidence: Any) -> list[Any]:
        transaction = f"{self.checkpoint_id}-{next(self._transactions):06d}"
        await self.post_plate(
            str(lane.Value), str(plate.Value), float(confidence.Value), transaction
        )
        return [ua.Variant(transaction, ua.VariantType.String)]

    async def _post_manifest(self, parent: Any, *args: Any) -> list[Any]:
        values = [str(a.Value) for a in args]
        await self.post_manifest(*values)
        return [ua.Variant(True, ua.VariantType.Boolean)]

    async def post_plate(self, lane: str, plate: str, confidence: float, transaction: str) -> None:
        """Emit a PlateScanEventType event."""
        event = self.plate_events.event
        event.Lane, event.Plate, event.TransactionId = lane, plate, transaction
        event.Confidence = confidence
        event.Message = ua.LocalizedText(f"plate {plate} at {lane}")
        LOG.info("plate read %s at %s (%s)", plate, lane, transaction)
        await self._remember(
            {"Lane": lane, "Plate": plate, "TransactionId": transaction, "Confidence": confidence}
        )
        await self.plate_events.trigger()

    async def post_manifest(
        self,
        declaration: str,
        container: str,
        plate: str,
        status: str,
        channel: str,
        seals: str = "",
    ) -> None:
        """Emit a ManifestEventType event."""
        event = self.manifest_events.event
        event.DeclarationNumber, event.ContainerNumber, event.Plate = declaration, container, plate
        event.CustomsStatus, event.Channel, event.SealIds = status, channel, seals
        event.Message = ua.LocalizedText(f"manifest {declaration} for {container}")
        LOG.info("manifest %s: %s on %s, %s", declaration, container, plate, status)
        await self._remember(
            dict(
                zip(
                    cs.MANIFEST_FIELDS,
                    (declaration, container, plate, status, channel, seals),
                    strict=True,
                )
            )
        )
        await self.manifest_events.trigger()

    async def post_record_event_lost(self, record: dict[str, str | float]) -> None:
        """Fault injection: keep ``record`` (plate or manifest fields) in ``RecentRecords`` and
        send no event for it, as when the event is lost on the way."""
        await self._remember(record)

    async def _remember(self, record: dict[str, str | float]) -> None:
        self._recent.append(record)
        await self.recent_var.write_value(json.dumps(list(self._recent), ensure_ascii=False))


async def serve(port: int, username: str, password: str) -> None:
    """Run the emulator until SIGTERM or SIGINT."""
    emulator = CheckpointEmulator(port, username, password)
    await emulator.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with emulator.server:
        LOG.info("checkpoint emulator listening on opc.tcp://127.0.0.1:%d", port)
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    """Console entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="TCP port on 127.0.0.1")
    parser.add_argument(
        "--credentials", type=Path, required=True, help="file holding username:password"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s checkpoint %(message)s")
    logging.getLogger("asyncua").setLevel(logging.WARNING)
    username, _, password = args.credentials.read_text().strip().partition(":")
    asyncio.run(serve(args.port, username, password))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
