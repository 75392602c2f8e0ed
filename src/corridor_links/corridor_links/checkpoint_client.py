"""OPC UA client for the checkpoint: event subscription in, domain records out.

Runs asyncio in its own thread (beside an rclpy executor). Event handlers only decode and
put :class:`~corridor_core.clearance.PlateObservation`, :class:`ManifestRecord` or
:class:`CheckpointProblem` onto :attr:`CheckpointClient.inbox`; the owner drains it.
On connection loss it reconnects with a fresh client. Events are the fast path, not the only
one: events sent during an outage are lost (as asyncua documents), and so are those sent while
asyncua's client re-creates a subscription it judged stale. So after every (re)connect, and
every :data:`RECONCILE_PERIOD_S` while connected, it reads the checkpoint's ``RecentRecords``
and passes on what it has not passed on yet (each record once, however it came).
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

from asyncua import Client, ua

from corridor_core.clearance import ManifestRecord, PlateObservation
from corridor_links import checkpoint_schema as cs

LOG = logging.getLogger(__name__)

# The subscription's publishing interval. Not 0 ("as fast as possible"): a server then sends no
# keep-alives, asyncua's client finds the quiet subscription stale after 1 s and re-creates it,
# and events in that gap are lost.
PUBLISHING_INTERVAL_MS = 20.0
# How often a connected client re-reads RecentRecords to catch a record whose event was lost.
RECONCILE_PERIOD_S = 1.0


@dataclass(frozen=True)
class CheckpointProblem:
    """An event that could not be decoded."""

    text: str


@dataclass(frozen=True)
class CheckpointStatus:
    """Connection status changes, for logs."""

    connected: bool
    text: str


Inbound = PlateObservation | ManifestRecord | CheckpointProblem | CheckpointStatus


class _Record:
    """A dict from ``RecentRecords`` seen through the event-object interface."""

    def __init__(self, fields: dict[str, Any]) -> None:
        self.__dict__.update(fields)


def record_key(item: Inbound) -> str | None:
    """De-duplication key: the same record from an event and from RecentRecords is one."""
    if isinstance(item, PlateObservation):
        return f"plate|{item.transaction_id}"
    if isinstance(item, ManifestRecord):
        return f"manifest|{item.declaration_number}|{item.container_number}|{item.customs_status}"
    return None


def decode_recent(text: str) -> list[Inbound]:
    """Decode the ``RecentRecords`` JSON array (never raises)."""
    try:
        records = json.loads(text)
        if not isinstance(records, list):
            raise ValueError("not a JSON array")
    except ValueError as exc:
        return [CheckpointProblem(f"checkpoint {cs.RECENT_RECORDS} unreadable: {exc}")]
    return [
        decode_event(_Record(r))
        if isinstance(r, dict)
        else CheckpointProblem(f"checkpoint {cs.RECENT_RECORDS} holds a non-object entry")
        for r in records
    ]


def _text(event: Any, name: str) -> str:
    value = getattr(event, name, None)
    if isinstance(value, ua.LocalizedText):
        value = value.Text
    if value is None:
        raise ValueError(f"field {name} is missing")
    return str(value)


def decode_event(event: Any) -> Inbound:
    """Turn one asyncua event object into a domain record (never raises)."""
    kind = type(event).__name__
    try:
        # A subscription to both types selects the union of their fields; absent ones are None.
        if getattr(event, "DeclarationNumber", None) is not None:
            seals = _text(event, "SealIds")
            return ManifestRecord(
                declaration_number=_text(event, "DeclarationNumber"),
                container_number=_text(event, "ContainerNumber"),
                plate=_text(event, "Plate"),
                customs_status=_text(event, "CustomsStatus"),
                channel=_text(event, "Channel"),
                seal_ids=tuple(s for s in seals.split(",") if s),
            )
        if getattr(event, "TransactionId", None) is not None:
            return PlateObservation(
                plate=_text(event, "Plate"),
                lane_id=_text(event, "Lane"),
                transaction_id=_text(event, "TransactionId"),
                confidence=float(getattr(event, "Confidence", 1.0) or 0.0),
            )
    except (ValueError, TypeError) as exc:
        return CheckpointProblem(f"checkpoint event {kind} rejected: {exc}")
    return CheckpointProblem(f"checkpoint event {kind} has neither plate nor manifest fields")


class _Dedup:
    """Passes each plate read / manifest on once, however many ways it arrives."""

    def __init__(self, inbox: queue.Queue[Inbound], memory: int = 5000) -> None:
        self.inbox = inbox
        self._seen: dict[str, None] = {}
        self._memory = memory
        self._lock = threading.Lock()

    def put(self, item: Inbound) -> None:
        key = record_key(item)
        with self._lock:
            if key is not None:
                if key in self._seen:
                    return
                self._seen[key] = None
                if len(self._seen) > self._memory:
                    self._seen.pop(next(iter(self._seen)))
        self.inbox.put(item)

    def event_notification(self, event: Any) -> None:
        self.put(decode_event(event))


class CheckpointClient:
    """Subscribes to the checkpoint's plate and manifest events in a background thread."""

    def __init__(self, url: str, username: str, password: str) -> None:
        self.url = url
        self.username = username
        self.password = password
        self.inbox: queue.Queue[Inbound] = queue.Queue()
        self._dedup = _Dedup(self.inbox)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="checkpoint-opcua", daemon=True)

    def start(self) -> None:
        """Start the client thread; it connects and reconnects by itself."""
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Ask the thread to disconnect and wait for it."""
        self._stop.set()
        self._thread.join(timeout_s)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        delay_s = 0.2
        while not self._stop.is_set():
            try:
                await self._session()
                delay_s = 0.2
            except (TimeoutError, OSError, ua.UaError, ConnectionError) as exc:
                self.inbox.put(CheckpointStatus(False, f"checkpoint {self.url} unreachable: {exc}"))
            await asyncio.sleep(delay_s)
            delay_s = min(delay_s * 2, 5.0)

    async def _session(self) -> None:
        client = Client(self.url, timeout=4)
        client.set_user(self.username)
        client.set_password(self.password)
        async with client:
            idx = await client.get_namespace_index(cs.NAMESPACE_URI)
            checkpoint = await client.nodes.objects.get_child(f"{idx}:{cs.CHECKPOINT_OBJECT}")
            types = client.get_node(ua.ObjectIds.BaseEventType)
            plate_type = await types.get_child(f"{idx}:{cs.PLATE_EVENT}")
            manifest_type = await types.get_child(f"{idx}:{cs.MANIFEST_EVENT}")
            sub = await client.create_subscription(PUBLISHING_INTERVAL_MS, self._dedup)
            await sub.subscribe_events(checkpoint, [plate_type, manifest_type])
            # Subscribed first, then catch up on what was posted while we were away.
            recent = await checkpoint.get_child(f"{idx}:{cs.RECENT_RECORDS}")
            await self._reconcile(recent, report_problems=True)
            self.inbox.put(CheckpointStatus(True, f"connected to checkpoint {self.url}"))
            next_reconcile_s = time.monotonic() + RECONCILE_PERIOD_S
            while not self._stop.is_set():
                await asyncio.sleep(0.2)
                await client.check_connection()
                if time.monotonic() >= next_reconcile_s:
                    await self._reconcile(recent, report_problems=False)
                    next_reconcile_s = time.monotonic() + RECONCILE_PERIOD_S

    async def _reconcile(self, recent: Any, report_problems: bool) -> None:
        """Pass on what ``RecentRecords`` holds and was not passed on yet; its undecodable
        entries only when ``report_problems`` (once per connection, not once a period)."""
        for item in decode_recent(str(await recent.read_value())):
            if report_problems or not isinstance(item, CheckpointProblem):
                self._dedup.put(item)
