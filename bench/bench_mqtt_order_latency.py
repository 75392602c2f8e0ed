"""Order-to-truck latency over a real mosquitto with 200 emulated trucks reporting state.

One run: a fresh broker (passwords + ACL, persistence on, as :class:`Mosquitto` configures it)
with 200 truck accounts; 200 :class:`EmulatedTruck` clients (our emulator, one paho network
thread each, one :class:`FleetLoop`) in this process; the controller's production
:class:`VdaLink` draining its inbox of decoded states on a consumer thread, as the nodes do.

Load: every truck publishes ``state`` at least once a second of *wall* time (the emulator's
rule; 200 states/s into the controller, plus one per event and per order received) while
10 simulated minutes run at time scale 10 (60 s wall). Each truck gets an order or an order
update every 4 s wall (50 orders/s in all, evenly spread): a new order from where it stands to
the far yard with 2 legs released, then updates releasing one more leg each, then (all legs
released, truck still driving) the same update again, which VDA 5050 lets the truck ignore.

Ours: ``perf_counter_ns`` just before ``VdaLink.send_order`` to the moment the truck's own paho
client calls its ``on_message`` with the order (a wrapper around the emulator's handler; the
order is matched by headerId). Baseline, same run, same broker load: a bare paho client (the
controller's account) publishes a QoS 1 message of the same size as the order just sent to a
bare paho subscriber (10 extra truck accounts ``R001``..``R010``, so the emulated trucks never
see it), at the midpoint between two order sends; measured the same way.

Backlog, sampled every second: the controller's inbox size and the orders in flight (sent, not
yet received by the truck). "No growth" when the mean of the last 10 samples is at most the mean
of the first 10 plus max(10, 20 %).

Metric: p99 ms (median over runs). Target: p99 <= 5 ms and <= 1.2x raw paho, no backlog growth.
Run alone: ``python bench/bench_mqtt_order_latency.py [--quick] [--runs N] [--time-scale 1]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import queue
import re
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt
from instances import REFERENCE
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from corridor_core.fleet import Truck
from corridor_core.lane_map import LaneMap, RouteLeg
from corridor_core.map_io import load_map
from corridor_core.vda5050 import HeaderStamper, StateReport, build_order, topic
from corridor_links.mosquitto import CONTROLLER_USER, Mosquitto
from corridor_links.vda_link import VdaLink
from corridor_sim.truck_emulator import EmulatedTruck, FleetLoop

NAME = "mqtt_order_latency"
METRIC = "p99 ms, order to truck"
BASELINE_NAME = "raw paho QoS 1 round trip, same run"
TARGET = "p99 <= 5 ms, <= 1.2x raw, no backlog growth"
MANUFACTURER = "BenchSim"
YARDS = ("Z-CN", "Z-VN")
RAW_SUBSCRIBERS = 10
WARMUP_S = 3.0  # wall seconds of load before samples count
HEADER_ID = re.compile(rb'"headerId":\s*(\d+)')


@dataclass
class Config:
    """One run's size; the full run is the issue's acceptance, ``quick`` a smoke test."""

    trucks: int = 200
    sim_minutes: float = 10.0
    time_scale: float = 10.0
    order_period_s: float = 4.0  # wall seconds between two orders to the same truck

    @property
    def wall_s(self) -> float:
        return self.sim_minutes * 60.0 / self.time_scale


FULL = Config()
QUICK = False  # bench/run.py --quick sets this: 50 trucks, 1 simulated minute
_runs: list[dict[str, Any]] = []


def config() -> Config:
    return Config(trucks=50, sim_minutes=1.0) if QUICK else FULL


# ---------------------------------------------------------------------- the controller side


@dataclass
class Plan:
    """What the controller last sent one truck (like ``order_feed``: release leg by leg)."""

    serial: str
    goal: str = ""
    legs: list[RouteLeg] = field(default_factory=list)
    order_id: str = ""
    update_id: int = 0
    released: int = 0
    count: int = 0
    body: dict[str, Any] | None = None


class Controller:
    """Decides each truck's next order body from the states drained off the link's inbox."""

    def __init__(self, lane_map: LaneMap, link: VdaLink, serials: list[str], homes: list[str]):
        self.lane_map = lane_map
        self.link = link
        self.plans = {s: Plan(s) for s in serials}
        self.latest: dict[str, StateReport] = {}
        self.home = dict(zip(serials, homes, strict=True))
        self.states = 0
        self.states_with_errors = 0
        self.other = 0
        self.kinds = {"new": 0, "update": 0, "repeat": 0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._drain, name="bench-consumer", daemon=True)
        self._routes: dict[tuple[str, str], list[RouteLeg]] = {}

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)

    def _drain(self) -> None:
        while not self._stop.is_set():
            try:
                item = self.link.inbox.get(timeout=0.1)
            except queue.Empty:
                continue
            if isinstance(item, StateReport):
                self.latest[item.serial] = item
                self.states += 1
                if item.errors:
                    self.states_with_errors += 1
            else:
                self.other += 1

    def _route(self, a: str, b: str) -> list[RouteLeg]:
        if (a, b) not in self._routes:
            self._routes[(a, b)] = self.lane_map.route(a, b)
        return self._routes[(a, b)]

    def next_body(self, serial: str) -> dict[str, Any]:
        """A new order, the next release, or the last update again."""
        plan = self.plans[serial]
        state = self.latest.get(serial)
        done = plan.body is None or (
            plan.released == len(plan.legs)
            and state is not None
            and state.order_id == plan.order_id
            and state.last_node_id == plan.goal
            and not state.pending_node_ids
            and not state.driving
        )
        if done:
            start = plan.goal or self.home[serial]
            plan.goal = YARDS[1] if start == YARDS[0] else YARDS[0]
            plan.legs = self._route(start, plan.goal)
            plan.count += 1
            plan.order_id, plan.update_id = f"{serial}-{plan.count}", 0
            plan.released = min(2, len(plan.legs))
            plan.body = build_order(
                self.lane_map, plan.legs, plan.order_id, 0, start, released_legs=plan.released
            )
            self.kinds["new"] += 1
        elif plan.released < len(plan.legs):
            first = plan.released
            plan.released += 1
            plan.update_id += 1
            plan.body = build_order(
                self.lane_map,
                plan.legs[first:],
                plan.order_id,
                plan.update_id,
                plan.legs[first].start_node,
                released_legs=plan.released - first,
                first_sequence_id=2 * first,
            )
            self.kinds["update"] += 1
        else:
            self.kinds["repeat"] += 1
        assert plan.body is not None
        return plan.body


# ---------------------------------------------------------------------- the raw paho pair


def _paho(client_id: str, user: str, password: str) -> mqtt.Client:
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
    )
    client.username_pw_set(user, password)
    client.reconnect_delay_set(0.2, 5)  # as VdaLink and the emulator
    return client


def _connect(client: mqtt.Client, port: int) -> None:
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 3600
    client.connect_async("127.0.0.1", port, 10, clean_start=False, properties=props)
    client.loop_start()


def _wait(what: str, ready: Any, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError(f"benchmark setup: {what} not ready within {timeout_s:.0f} s")
        time.sleep(0.05)


# ---------------------------------------------------------------------- one run


def _percentiles(samples_ns: list[int]) -> tuple[float, float]:
    ms = np.asarray(samples_ns, dtype=float) / 1e6
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def _no_growth(samples: list[int]) -> tuple[bool, float, float]:
    window = min(10, max(1, len(samples) // 3))
    first = statistics.fmean(samples[:window])
    last = statistics.fmean(samples[-window:])
    return last <= first + max(10.0, 0.2 * first), first, last


def run_once(cfg: Config) -> dict[str, Any]:
    """One full run; returns every number of it."""
    # paho waits in select(), which takes file descriptors below 1024 only; each client holds
    # three (socket and wake-up pair), and a stopped client's are freed by the cycle collector.
    # Without this, a second run in the same process can run out and some clients never connect.
    gc.collect()
    lane_map = load_map(REFERENCE)
    serials = [f"B{k:03d}" for k in range(1, cfg.trucks + 1)]
    homes = [YARDS[k % 2] for k in range(cfg.trucks)]
    raw_serials = [f"R{k:03d}" for k in range(1, RAW_SUBSCRIBERS + 1)]
    with tempfile.TemporaryDirectory(prefix="bench-mqtt-") as tmp:
        broker = Mosquitto(Path(tmp), MANUFACTURER, serials + raw_serials)
        port = broker.start()
        clients: list[mqtt.Client] = []
        trucks: list[EmulatedTruck] = []
        link: VdaLink | None = None
        fleet: FleetLoop | None = None
        controller: Controller | None = None
        try:
            received: list[tuple[str, int, int]] = []  # (serial, headerId, t_ns)
            for serial, home in zip(serials, homes, strict=True):
                truck = EmulatedTruck(
                    Truck(serial, f"BENCH{serial}", home),
                    MANUFACTURER,
                    lane_map,
                    cfg.time_scale,
                    HeaderStamper(MANUFACTURER),
                )
                handler = truck.client.on_message

                def hook(
                    client: mqtt.Client,
                    userdata: Any,
                    message: mqtt.MQTTMessage,
                    _handler: Any = handler,
                    _serial: str = serial,
                ) -> None:
                    t = time.perf_counter_ns()
                    _handler(client, userdata, message)
                    if message.topic.endswith("/order"):
                        found = HEADER_ID.search(message.payload)
                        received.append((_serial, int(found.group(1)) if found else -1, t))

                truck.client.on_message = hook
                truck.connect(port, broker.passwords[serial])
                trucks.append(truck)
            # All at once overflow the broker's listen backlog; paho then retries (0.2-5 s).
            _wait("trucks", lambda: all(t.client.is_connected() for t in trucks), 60.0)

            raw_received: dict[int, int] = {}

            def raw_on_message(client: mqtt.Client, userdata: Any, message: Any) -> None:
                t = time.perf_counter_ns()
                raw_received[int(message.payload[:12])] = t

            subscribed: set[str] = set()
            for serial in raw_serials:
                sub = _paho(f"bench-raw-{serial}", serial, broker.passwords[serial])
                sub.on_message = raw_on_message
                sub.on_connect = lambda c, u, f, r, p, s=serial: c.subscribe(
                    topic(MANUFACTURER, s, "order"), qos=1
                )
                sub.on_subscribe = lambda c, u, m, r, p, s=serial: subscribed.add(s)
                _connect(sub, port)
                clients.append(sub)
            raw_pub = _paho("bench-raw-pub", CONTROLLER_USER, broker.passwords[CONTROLLER_USER])
            _connect(raw_pub, port)
            clients.append(raw_pub)

            link = VdaLink(
                "127.0.0.1",
                port,
                CONTROLLER_USER,
                broker.passwords[CONTROLLER_USER],
                MANUFACTURER,
                client_id="corridor-controller-bench",
            )
            controller = Controller(lane_map, link, serials, homes)
            link.start()
            _wait("raw subscribers", lambda: len(subscribed) == RAW_SUBSCRIBERS)
            _wait("raw publisher", raw_pub.is_connected)
            _wait("controller link", link.is_connected)
            controller.start()
            fleet = FleetLoop(trucks).start()
            gc.freeze()  # start-up objects out of the collector's way, as the nodes do

            sent: dict[tuple[str, int], int] = {}  # (serial, headerId) -> t_ns
            raw_sent: dict[int, int] = {}
            counted_from = time.perf_counter_ns() + int(WARMUP_S * 1e9)
            backlog: list[tuple[float, int, int, int]] = []  # (t, inbox, ours, raw in flight)
            stop_sampling = threading.Event()

            def sample() -> None:
                start = time.perf_counter()
                while not stop_sampling.wait(1.0):
                    backlog.append(
                        (
                            time.perf_counter() - start,
                            link.inbox.qsize(),
                            len(sent) - len(received),
                            len(raw_sent) - len(raw_received),
                        )
                    )

            sampler = threading.Thread(target=sample, name="bench-backlog", daemon=True)
            sampler.start()
            step_s = cfg.order_period_s / cfg.trucks
            t_start = time.perf_counter()
            t_end = t_start + WARMUP_S + cfg.wall_s
            states_at_window: int | None = None
            k = 0
            sizes: list[int] = []
            calls: list[int] = []  # ns spent in send_order / publish itself
            raw_calls: list[int] = []
            while True:
                due = t_start + k * step_s
                if due >= t_end:
                    break
                if states_at_window is None and time.perf_counter() >= t_start + WARMUP_S:
                    states_at_window = controller.states
                _sleep_until(due)
                serial = serials[k % cfg.trucks]
                body = controller.next_body(serial)
                t0 = time.perf_counter_ns()
                msg = link.send_order(serial, body)
                calls.append(time.perf_counter_ns() - t0)
                sent[(serial, msg["headerId"])] = t0
                size = len(json.dumps(msg))
                sizes.append(size)
                # Raw round trip half a step later, same payload size as this order.
                _sleep_until(due + step_s / 2)
                payload = f"{k:012d}".encode().ljust(size, b"x")
                target = topic(MANUFACTURER, raw_serials[k % RAW_SUBSCRIBERS], "order")
                t0 = time.perf_counter_ns()
                raw_pub.publish(target, payload, qos=1)
                raw_calls.append(time.perf_counter_ns() - t0)
                raw_sent[k] = t0
                k += 1
            window_s = time.perf_counter() - (t_start + WARMUP_S)
            states_in_window = controller.states - (states_at_window or 0)
            deadline = time.monotonic() + 5.0
            while time.monotonic() < deadline and (
                len(received) < len(sent) or len(raw_received) < len(raw_sent)
            ):
                time.sleep(0.05)
            stop_sampling.set()
            sampler.join(2)
        finally:
            gc.unfreeze()  # the next run's gc.collect() must free this run's clients
            if fleet is not None:
                fleet.stop()
            if controller is not None:
                controller.stop()
            for truck in trucks:
                truck.client.disconnect()
                truck.client.loop_stop()
            for client in clients:
                client.disconnect()
                client.loop_stop()
            if link is not None:
                link.stop()
            broker.cleanup()

    recv_at = {(s, h): t for s, h, t in received}
    ours = [recv_at[key] - t0 for key, t0 in sent.items() if t0 >= counted_from and key in recv_at]
    ours_lost = sum(1 for key, t0 in sent.items() if t0 >= counted_from and key not in recv_at)
    raw = [
        raw_received[k] - t0
        for k, t0 in raw_sent.items()
        if t0 >= counted_from and k in raw_received
    ]
    raw_lost = sum(1 for k, t0 in raw_sent.items() if t0 >= counted_from and k not in raw_received)
    ours_p50, ours_p99 = _percentiles(ours)
    raw_p50, raw_p99 = _percentiles(raw)
    inbox = [b[1] for b in backlog]
    in_flight = [b[2] for b in backlog]
    inbox_ok, inbox_first, inbox_last = _no_growth(inbox)
    flight_ok, flight_first, flight_last = _no_growth(in_flight)
    return {
        "trucks": cfg.trucks,
        "sim_minutes": cfg.sim_minutes,
        "time_scale": cfg.time_scale,
        "window_wall_s": round(window_s, 1),
        "order_bytes_mean": round(statistics.fmean(sizes)),
        "order_kinds": dict(controller.kinds) if controller else {},
        "orders": len(ours),
        "orders_lost": ours_lost,
        "raw": len(raw),
        "raw_lost": raw_lost,
        "ours_p50_ms": ours_p50,
        "ours_p99_ms": ours_p99,
        "ours_max_ms": max(ours) / 1e6,
        "ours_call_p50_p99_ms": list(_percentiles(calls)),
        "raw_call_p50_p99_ms": list(_percentiles(raw_calls)),
        "raw_p50_ms": raw_p50,
        "raw_p99_ms": raw_p99,
        "raw_max_ms": max(raw) / 1e6,
        "states_per_s": states_in_window / window_s,
        "states_with_errors": controller.states_with_errors if controller else 0,
        "inbox_first_last_max": [inbox_first, inbox_last, max(inbox, default=0)],
        "in_flight_first_last_max": [flight_first, flight_last, max(in_flight, default=0)],
        "no_backlog_growth": inbox_ok and flight_ok,
    }


def _sleep_until(t: float) -> None:
    left = t - time.perf_counter()
    if left > 0:
        time.sleep(left)


# ---------------------------------------------------------------------- bench/run.py interface


def measure() -> tuple[float, float]:
    result = run_once(config())
    _runs.append(result)
    _print_run(result)
    return result["ours_p99_ms"], result["raw_p99_ms"]


def met(ours: float, baseline: float) -> bool:
    return ours <= 5.0 and ours <= 1.2 * baseline and all(r["no_backlog_growth"] for r in _runs)


def details() -> dict[str, object]:
    """Medians over the runs so far, and every run."""
    keys = ("ours_p50_ms", "ours_p99_ms", "raw_p50_ms", "raw_p99_ms", "states_per_s")
    out: dict[str, object] = {k: statistics.median(r[k] for r in _runs) for k in keys}
    out["cores"] = os.cpu_count()
    out["no_backlog_growth"] = all(r["no_backlog_growth"] for r in _runs)
    out["runs"] = list(_runs)
    return out


def _print_run(r: dict[str, Any]) -> None:
    inbox, flight = r["inbox_first_last_max"], r["in_flight_first_last_max"]
    call, raw_call = r["ours_call_p50_p99_ms"], r["raw_call_p50_p99_ms"]
    print(
        f"  {r['trucks']} trucks, {r['sim_minutes']:g} sim min at {r['time_scale']:g}x "
        f"({r['window_wall_s']} s wall), {r['orders']} orders, mean {r['order_bytes_mean']} B "
        f"({r['orders_lost']} lost), {r['raw']} raw ({r['raw_lost']} lost); sent as "
        f"{r['order_kinds']}, states with errors {r['states_with_errors']}\n"
        f"  ours p50 {r['ours_p50_ms']:.2f} ms p99 {r['ours_p99_ms']:.2f} ms "
        f"max {r['ours_max_ms']:.1f} | raw paho p50 {r['raw_p50_ms']:.2f} ms "
        f"p99 {r['raw_p99_ms']:.2f} ms max {r['raw_max_ms']:.1f} | "
        f"ratio p99 {r['ours_p99_ms'] / r['raw_p99_ms']:.2f}\n"
        f"  in the call itself p50/p99: send_order {call[0] * 1e3:.0f}/{call[1] * 1e3:.0f} µs, "
        f"paho publish {raw_call[0] * 1e3:.0f}/{raw_call[1] * 1e3:.0f} µs\n"
        f"  states {r['states_per_s']:.0f}/s; backlog inbox first/last/max "
        f"{inbox[0]:.1f}/{inbox[1]:.1f}/{inbox[2]}, orders in flight "
        f"{flight[0]:.1f}/{flight[1]:.1f}/{flight[2]}: "
        f"{'no growth' if r['no_backlog_growth'] else 'GROWS'}; cores {os.cpu_count()}",
        file=sys.stderr,
        flush=True,
    )


def main() -> int:
    global FULL, QUICK
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="repetitions (median)")
    parser.add_argument("--quick", action="store_true", help="50 trucks, 1 simulated minute")
    parser.add_argument("--trucks", type=int, default=FULL.trucks)
    parser.add_argument("--sim-minutes", type=float, default=FULL.sim_minutes)
    parser.add_argument(
        "--time-scale", type=float, default=FULL.time_scale, help="1 runs in real time"
    )
    parser.add_argument(
        "--order-period", type=float, default=FULL.order_period_s, help="wall s per truck"
    )
    args = parser.parse_args()
    QUICK = args.quick
    FULL = Config(args.trucks, args.sim_minutes, args.time_scale, args.order_period)
    pairs = [measure() for _ in range(max(1, args.runs))]
    ours = statistics.median(p[0] for p in pairs)
    base = statistics.median(p[1] for p in pairs)
    d = details()
    print(
        f"{NAME}: order->truck p50 {d['ours_p50_ms']:.2f} ms p99 {ours:.2f} ms; raw paho "
        f"p50 {d['raw_p50_ms']:.2f} ms p99 {base:.2f} ms; ratio {ours / base:.2f}; "
        f"states {d['states_per_s']:.0f}/s; cores {os.cpu_count()}\n"
        f"  p99 <= 5 ms: {'yes' if ours <= 5.0 else 'NO'}; <= 1.2x raw: "
        f"{'yes' if ours <= 1.2 * base else 'NO'}; no backlog growth: "
        f"{'yes' if d['no_backlog_growth'] else 'NO'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
