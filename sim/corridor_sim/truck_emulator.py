"""Emulated VDA 5050 v2.0 trucks: MQTT clients that drive orders on a simulated clock.

Each truck connects with its own account (MQTT 5, client id ``truck-<serial>``, persistent
session: ``clean_start=False`` and a session expiry, subscriptions QoS 1, so orders sent while it
is away reach it when it comes back), sets its last will to ``CONNECTIONBROKEN``, publishes
``ONLINE`` and a retained ``factsheet``, and reports ``state`` on every event and at least once a
second. Orders are executed by :class:`corridor_sim.truck_logic.TruckLogic`; simulated time runs
``time_scale`` times faster than the wall clock, from ``clock_origin_s`` (Unix time; default:
when the fleet is built): the harness passes the origin of its ``/clock``, so the trucks and
the controller count the same simulated seconds.

Station work: the trucks stop at the map's stations and spend the times of the simulator's
service model (:mod:`corridor_core.service_model`), drawn from per-truck streams of ``--seed``;
the stations' servers are shared by every truck of the process
(:class:`corridor_sim.truck_services.StationDesks`), and trucks entering a segment in the same
direction keep the map's following headway (:class:`~corridor_sim.truck_services.LaneEntries`).
``--no-stations`` makes them only drive, as before.
A ``state``'s header ``timestamp`` is the wall-clock instant of the event it reports (the
fleet's simulated clock mapped back to the wall clock), not the instant it was published, so a
recording orders events by simulated time exactly.

paho's callbacks only enqueue what arrives; one fleet loop (:func:`run_fleet`) drains the
queues, runs the logic and publishes, so the logic is never touched by two threads.

Run: ``corridor-truck-emulator --port P --map M --fleet config/fleet.yaml --credentials FILE
--time-scale 50 [--clock-origin UNIX_S] [--seed 1] [--no-stations] [--only T01]
[--fault T01:slow:0.5@120 ...]`` where FILE holds one ``serial:password`` per line. Fault kinds:
see :class:`corridor_sim.truck_logic.FaultKind`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import queue
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from corridor_core.errors import ConfigError, ProtocolError
from corridor_core.fleet import Truck, load_fleet
from corridor_core.lane_map import LaneMap
from corridor_core.map_io import load_map
from corridor_core.vda5050 import HeaderStamper, decode_json, topic
from corridor_sim.truck_logic import (
    TRANSPORT_FAULTS,
    Fault,
    FaultKind,
    FaultSpec,
    OrderOutcome,
    TruckLogic,
    factsheet_body,
    parse_fault_spec,
)
from corridor_sim.truck_services import LaneEntries, StationDesks, TruckServices

LOG = logging.getLogger("trucks")
OUT_OF_ORDER_EVERY = 3  # with the out_of_order fault, every 3rd state is held back one message


class EmulatedTruck:
    """One truck: an MQTT client around a :class:`TruckLogic`.

    Args:
        truck: identity and home node.
        manufacturer: VDA 5050 manufacturer (topic level).
        lane_map: the map; the truck starts on ``truck.home_node``.
        time_scale: simulated seconds per wall-clock second.
        stamper: header stamper for this truck's messages.
        keepalive_s: MQTT keepalive, seconds (the broker drops a silent truck after 1.5x).
        session_expiry_s: how long the broker keeps the session while the truck is away.
        services: the truck's station work (None: it only drives).
        clock_origin_s: Unix time of simulated second 0 (None: now); a fleet shares one.
    """

    def __init__(
        self,
        truck: Truck,
        manufacturer: str,
        lane_map: LaneMap,
        time_scale: float,
        stamper: HeaderStamper,
        keepalive_s: int = 2,
        session_expiry_s: int = 3600,
        services: TruckServices | None = None,
        clock_origin_s: float | None = None,
    ) -> None:
        self.truck = truck
        self.manufacturer = manufacturer
        self.lane_map = lane_map
        self.time_scale = time_scale
        self.stamper = stamper
        self.keepalive_s = keepalive_s
        self.session_expiry_s = session_expiry_s
        node = lane_map.node(truck.home_node)
        vehicle = lane_map.vehicle_class()
        self.logic = TruckLogic(
            truck.serial,
            node.node_id,
            node.x_m,
            node.y_m,
            lane_map.name,
            vehicle.max_speed_kph / 3.6,
            services,
        )
        self.factsheet = factsheet_body(vehicle)
        # simulated second 0 on this process's monotonic clock and on the Unix clock
        self.epoch_origin_s = time.time() if clock_origin_s is None else clock_origin_s
        self.wall_origin_s = time.monotonic() - (time.time() - self.epoch_origin_s)
        self.inbox: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.away = False  # after a DISCONNECT fault, until RECONNECT
        self._scheduled: list[tuple[float, Fault]] = []
        self._duplicate = False
        self._out_of_order = False
        self._states_sent = 0
        self._held_state: str | None = None
        self._online_payload = ""
        self._stamp_lock = threading.Lock()  # paho's thread stamps connection messages
        self._port = 0
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"truck-{truck.serial}",
            protocol=mqtt.MQTTv5,
        )
        self.client.on_pre_connect = self._on_pre_connect
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.2, 5)  # type: ignore[arg-type]

    @property
    def serial(self) -> str:
        """The truck's VDA 5050 serialNumber."""
        return self.truck.serial

    def _topic(self, name: str) -> str:
        return topic(self.manufacturer, self.truck.serial, name)

    def _stamped(self, name: str, body: dict[str, Any], epoch_s: float | None = None) -> str:
        with self._stamp_lock:
            at = time.time() if epoch_s is None else epoch_s
            return json.dumps(self.stamper.stamp(self.truck.serial, name, body, at))

    # ------------------------------------------------------------------ connection

    def connect(self, port: int, password: str) -> None:
        """Start connecting (and reconnecting) in paho's thread; returns at once."""
        self._port = port
        self.client.username_pw_set(self.truck.serial, password)
        self._start_connecting()

    def _start_connecting(self) -> None:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.session_expiry_s
        self.client.connect_async(
            "127.0.0.1", self._port, self.keepalive_s, clean_start=False, properties=props
        )
        self.client.loop_start()

    def _on_pre_connect(self, client: mqtt.Client, userdata: Any) -> None:
        # The will is stamped after the ONLINE that follows this connect, so a controller that
        # drops older headerIds still takes CONNECTIONBROKEN after ONLINE.
        self._online_payload = self._stamped("connection", {"connectionState": "ONLINE"})
        will = self._stamped("connection", {"connectionState": "CONNECTIONBROKEN"})
        client.will_set(self._topic("connection"), will, qos=1, retain=True)

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if reason.is_failure:
            LOG.error("%s: broker refused connection: %s", self.truck.serial, reason)
            return
        client.subscribe([(self._topic("order"), 1), (self._topic("instantActions"), 1)])
        self.inbox.put(("connected", self._online_payload))

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self.inbox.put((message.topic.rsplit("/", 1)[-1], message.payload))

    def disconnect(self) -> None:
        """Say OFFLINE and disconnect cleanly (the session stays on the broker)."""
        if not self.away and self.client.is_connected():
            info = self.client.publish(
                self._topic("connection"),
                self._stamped("connection", {"connectionState": "OFFLINE"}),
                qos=1,
                retain=True,
            )
            try:
                info.wait_for_publish(2)
            except (RuntimeError, ValueError):
                LOG.warning("%s: OFFLINE not confirmed", self.truck.serial)
            self.client.disconnect()
        self.client.loop_stop()

    def _go_away(self) -> None:
        """Drop the TCP connection without DISCONNECT: the broker publishes the last will."""
        if self.away:
            return
        self.away = True
        sock = self.client.socket()
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed: the broker knows
                sock.shutdown(socket.SHUT_RDWR)  # type: ignore[union-attr]
        self.client.loop_stop()  # paho's thread sees the close and ends before reconnecting
        LOG.info("%s: connection dropped (fault)", self.truck.serial)

    def _come_back(self) -> None:
        if not self.away:
            return
        self.away = False
        self._start_connecting()
        LOG.info("%s: reconnecting (fault over)", self.truck.serial)

    # ------------------------------------------------------------------ faults and clock

    def inject(self, fault: Fault) -> None:
        """Inject a fault now (thread-safe: applied by the fleet loop's next tick)."""
        self.inbox.put(("fault", fault))

    def schedule(self, fault: Fault, at_s: float) -> None:
        """Inject ``fault`` when the simulated clock reaches ``at_s`` seconds."""
        self._scheduled.append((at_s, fault))
        self._scheduled.sort(key=lambda item: item[0])

    def sim_time(self, now_wall_s: float) -> float:
        """Simulated seconds since the clock's origin, at monotonic wall time ``now_wall_s``."""
        return (now_wall_s - self.wall_origin_s) * self.time_scale

    def _apply_fault(self, fault: Fault) -> None:
        LOG.info("%s: fault %s %s", self.truck.serial, fault.kind.value, fault.value or "")
        if fault.kind is FaultKind.DISCONNECT:
            self._go_away()
        elif fault.kind is FaultKind.RECONNECT:
            self._come_back()
        elif fault.kind is FaultKind.DUPLICATE:
            self._duplicate = True
        elif fault.kind is FaultKind.OUT_OF_ORDER:
            self._out_of_order = True
        elif fault.kind is FaultKind.RECOVER:
            self._duplicate = self._out_of_order = False
        if fault.kind not in TRANSPORT_FAULTS:
            self.logic.inject(fault)

    # ------------------------------------------------------------------ the loop's work

    def step(self, now_wall_s: float) -> bool:
        """Apply due faults and received messages, advance the order; True when state was sent.

        Runs on the fleet loop's thread only.
        """
        now_s = self.sim_time(now_wall_s)
        sent = self._advance(now_s)
        while self._scheduled and self._scheduled[0][0] <= now_s:
            self._apply_fault(self._scheduled.pop(0)[1])
            self.publish_state()
            sent = True
        while True:
            try:
                kind, payload = self.inbox.get_nowait()
            except queue.Empty:
                break
            self._handle(kind, payload)
            self.publish_state()
            sent = True
        return self._advance(now_s) or sent

    def _advance(self, now_s: float) -> bool:
        sent = False
        while self.logic.advance(now_s):  # one state per event (node passed, stop, start)
            self.publish_state()
            sent = True
        return sent

    def _handle(self, kind: str, payload: Any) -> None:
        if kind == "fault":
            self._apply_fault(payload)
        elif kind == "connected":
            self.client.publish(self._topic("connection"), payload, qos=1, retain=True)
            self.publish_factsheet()
        elif kind == "order":
            self._receive_order(payload)
        elif kind == "instantActions":
            try:
                msg = decode_json(payload, f"instantActions to {self.truck.serial}")
            except ProtocolError as exc:
                self.logic.reject("validationError", f"VALIDATION_FAILURE: {exc}")
                return
            for extra in self.logic.receive_instant_actions(msg):
                if extra == "factsheet":
                    self.publish_factsheet()

    def _receive_order(self, payload: bytes) -> None:
        try:
            order = decode_json(payload, f"order to {self.truck.serial}")
        except ProtocolError as exc:
            self.logic.reject("validationError", f"VALIDATION_FAILURE: {exc}")
            LOG.warning("%s: order rejected: %s", self.truck.serial, exc)
            return
        outcome = self.logic.receive_order(order)
        if outcome is OrderOutcome.REJECTED:
            error = self.logic.state_body()["errors"][-1]
            LOG.warning("%s: order rejected: %s", self.truck.serial, error["errorDescription"])
        else:
            LOG.info(
                "%s: order %s/%s %s",
                self.truck.serial,
                order.get("orderId"),
                order.get("orderUpdateId"),
                outcome.value.lower(),
            )

    def state_body(self) -> dict[str, Any]:
        """The body of a VDA 5050 v2.0 state message."""
        return self.logic.state_body()

    def publish_state(self) -> None:
        """Publish the current state (QoS 0, as VDA 5050 asks), unless the truck is away."""
        if self.away:
            return
        at = self.epoch_origin_s + self.logic.clock_s / self.time_scale  # the event's instant
        payload = self._stamped("state", self.logic.state_body(), at)
        self._states_sent += 1
        held_back = self._out_of_order and self._states_sent % OUT_OF_ORDER_EVERY == 0
        if held_back and self._held_state is None:
            self._held_state = payload  # sent after the next, newer one
            return
        payloads = [payload]
        if self._held_state is not None:
            payloads.append(self._held_state)
            self._held_state = None
        for item in payloads:
            for _ in range(2 if self._duplicate else 1):
                self.client.publish(self._topic("state"), item, qos=0)

    def publish_factsheet(self) -> None:
        """Publish the retained factsheet."""
        if not self.away:
            payload = self._stamped("factsheet", self.factsheet)
            self.client.publish(self._topic("factsheet"), payload, qos=0, retain=True)


def run_fleet(
    trucks: list[EmulatedTruck],
    stop: threading.Event,
    state_period_s: float = 1.0,
    tick_s: float = 0.02,
) -> None:
    """Drive every truck until ``stop`` is set; each reports state at least every period."""
    last_report = {t.truck.serial: -state_period_s for t in trucks}
    while not stop.is_set():
        now = time.monotonic()
        for truck in trucks:
            if truck.step(now):
                last_report[truck.truck.serial] = now
            elif now - last_report[truck.truck.serial] >= state_period_s:
                truck.publish_state()
                last_report[truck.truck.serial] = now
        stop.wait(tick_s)


class FleetLoop:
    """:func:`run_fleet` in a background thread: ``with FleetLoop(trucks): ...``."""

    def __init__(self, trucks: list[EmulatedTruck], tick_s: float = 0.02) -> None:
        self.trucks = trucks
        self.tick_s = tick_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> FleetLoop:
        """Start the loop thread."""
        self._thread = threading.Thread(
            target=run_fleet,
            args=(self.trucks, self._stop),
            kwargs={"tick_s": self.tick_s},
            name="truck-fleet",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the loop thread and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def __enter__(self) -> FleetLoop:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def build_fleet(
    fleet: tuple[Truck, ...] | list[Truck],
    manufacturer: str,
    lane_map: LaneMap,
    time_scale: float,
    seed: int | None,
    only: list[str] | None = None,
    clock_origin_s: float | None = None,
) -> list[EmulatedTruck]:
    """The emulated trucks of ``fleet`` (those in ``only``, if given) on one clock.

    With a ``seed``, they spend station time and share one set of station servers; truck *k*
    of the fleet (in file order, whether emulated or not) draws from stream ``(seed, k)``.
    ``seed`` None: they only drive. ``clock_origin_s``: Unix time of simulated second 0
    (None: now).
    """
    desks, lanes = StationDesks(lane_map), LaneEntries(lane_map)
    origin = time.time() if clock_origin_s is None else clock_origin_s
    out = []
    for k, t in enumerate(fleet):
        if only is not None and t.serial not in only:
            continue
        services = (
            None
            if seed is None
            else TruckServices(lane_map, desks, np.random.SeedSequence([seed, k]), lanes=lanes)
        )
        stamper = HeaderStamper(manufacturer)
        truck = EmulatedTruck(t, manufacturer, lane_map, time_scale, stamper, services=services,
                              clock_origin_s=origin)  # fmt: skip
        out.append(truck)
    return out


def _fault_arg(text: str) -> FaultSpec:
    try:
        return parse_fault_spec(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def main(argv: list[str] | None = None) -> int:
    """Console entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="broker port on 127.0.0.1")
    parser.add_argument("--map", type=Path, required=True, help="lane map YAML")
    parser.add_argument("--fleet", type=Path, required=True, help="fleet YAML")
    parser.add_argument(
        "--credentials", type=Path, required=True, help="file with one serial:password per line"
    )
    parser.add_argument(
        "--time-scale", type=float, default=50.0, help="simulated seconds per wall-clock second"
    )
    parser.add_argument(
        "--clock-origin",
        type=float,
        default=None,
        help="Unix time of simulated second 0 (default: start-up), the harness's /clock origin",
    )
    parser.add_argument("--only", nargs="*", default=None, help="serials to emulate (default all)")
    parser.add_argument(
        "--seed", type=int, default=1, help="seed of the station times (default: %(default)s)"
    )
    parser.add_argument(
        "--no-stations", action="store_true", help="only drive: spend no station time"
    )
    parser.add_argument(
        "--fault",
        type=_fault_arg,
        action="append",
        default=[],
        metavar="SERIAL:KIND[:VALUE][@SIM_SECONDS]",
        help="inject a fault (repeatable); kinds: " + ", ".join(k.value for k in FaultKind),
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s trucks %(message)s")
    lane_map = load_map(args.map)
    fleet = load_fleet(args.fleet, lane_map)
    passwords = dict(
        line.strip().split(":", 1)
        for line in args.credentials.read_text().splitlines()
        if ":" in line
    )
    known = {t.serial for t in fleet.trucks}
    for serial in [*(args.only or []), *(f.serial for f in args.fault)]:
        if serial not in known:
            parser.error(f"truck {serial!r} is not in {args.fleet}")
    trucks = build_fleet(
        fleet.trucks,
        fleet.manufacturer,
        lane_map,
        args.time_scale,
        None if args.no_stations else args.seed,
        args.only,
        clock_origin_s=args.clock_origin,
    )
    missing = [t.serial for t in trucks if t.serial not in passwords]
    if missing:
        parser.error(f"{args.credentials} has no password for {', '.join(missing)}")
    for spec in args.fault:
        for truck in trucks:
            if truck.serial == spec.serial:
                truck.schedule(spec.fault, spec.at_s)
    for truck in trucks:
        truck.connect(args.port, passwords[truck.serial])
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    LOG.info("%d trucks emulated at %.0fx", len(trucks), args.time_scale)
    run_fleet(trucks, stop)
    for truck in trucks:
        truck.disconnect()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
