"""Bring up the whole corridor stack as separate processes on free loopback ports.

mosquitto (passwords + ACL), the emulated checkpoint (OPC UA server), the checkpoint bridge
node, the dispatcher node and the emulated trucks. Secrets are generated per run and passed by
file (mode 0600), never on command lines.

One accelerated clock (:class:`corridor_nodes.sim_clock.SimClock`): its origin is taken when the
stack starts; a ``clock`` process publishes it on ``/clock`` (the nodes run with
``use_sim_time``, the vehicle bridge's clock 0 is ``start_time``) and the trucks get the same
origin and rate.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import yaml
from asyncua import Client

from corridor_core.fleet import Fleet, load_fleet
from corridor_core.lane_map import LaneMap
from corridor_core.map_io import load_map
from corridor_links import checkpoint_schema as cs
from corridor_links.mosquitto import CONTROLLER_USER, Mosquitto, free_port
from corridor_nodes.ros_env import allocate_domain_id, ros_env
from corridor_nodes.sim_clock import SimClock
from corridor_nodes.supervisor import Supervisor

OPCUA_USER = "corridor-bridge"


@dataclass
class Stack:
    """One running corridor stack.

    Attributes:
        map_path: lane map YAML.
        fleet_path: fleet YAML.
        run_dir: folder for configs, secrets and logs of this run.
        time_scale: simulated seconds per wall-clock second (``/clock`` and the trucks).
        agreement_path: agreement YAML for the vehicle bridge (None: always open).
        start_time: aware instant of simulated second 0 (None: the whole minute at start).
    """

    map_path: Path
    fleet_path: Path
    run_dir: Path
    time_scale: float = 50.0
    controller_node: str = "dispatcher"  # or "vehicle_bridge": the planner in the loop
    truck_args: list[str] = field(default_factory=list)  # extra emulator flags (faults)
    agreement_path: Path | None = None
    start_time: dt.datetime | None = None
    clock: SimClock | None = None  # set by start()
    lane_map: LaneMap = field(init=False)
    fleet: Fleet = field(init=False)
    domain_id: int = 0
    opcua_url: str = ""
    opcua_password: str = ""
    broker: Mosquitto | None = None
    supervisor: Supervisor | None = None
    _domain_lock: IO[str] | None = None

    def __post_init__(self) -> None:
        self.lane_map = load_map(self.map_path)
        self.fleet = load_fleet(self.fleet_path, self.lane_map)

    def call_checkpoint(self, *calls: tuple[Any, ...]) -> list[Any]:
        """Call methods of the emulated checkpoint's ``Simulation`` object over OPC UA, in
        order, on one connection. Each call is ``(method_name, *args)``; returns the results."""

        async def run() -> list[Any]:
            client = Client(self.opcua_url, timeout=5)
            client.set_user(OPCUA_USER)
            client.set_password(self.opcua_password)
            async with client:
                idx = await client.get_namespace_index(cs.NAMESPACE_URI)
                sim = await client.nodes.objects.get_child(f"{idx}:{cs.SIMULATION_OBJECT}")
                return [await sim.call_method(f"{idx}:{name}", *args) for name, *args in calls]

        return asyncio.run(run())

    def _secret(self, name: str, text: str) -> Path:
        path = self.run_dir / "secrets" / name
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.write_text(text)
        path.chmod(0o600)
        return path

    def _params(self, node: str, values: dict[str, object]) -> Path:
        path = self.run_dir / "params" / f"{node}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump({node: {"ros__parameters": values}}))
        return path

    def truck_clock_args(self) -> list[str]:
        """Emulator flags that put a truck process on the stack's clock."""
        assert self.clock is not None, "start() first"
        return [
            "--time-scale",
            str(self.time_scale),
            "--clock-origin",
            repr(self.clock.origin_wall_s),
        ]

    def start(self) -> None:
        """Start every process; returns once the broker listens (others connect on their own)."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        start = self.start_time or dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
        self.clock = SimClock(start, time.time(), self.time_scale)
        self.domain_id, self._domain_lock = allocate_domain_id()
        serials = [t.serial for t in self.fleet.trucks]
        self.broker = Mosquitto(self.run_dir, self.fleet.manufacturer, serials)
        self.broker.start()
        passwords = self.broker.passwords
        controller_pw = self._secret("mqtt-controller", passwords[CONTROLLER_USER])
        trucks_pw = self._secret("mqtt-trucks", "".join(f"{s}:{passwords[s]}\n" for s in serials))
        self.opcua_password = secrets.token_urlsafe(16)
        opcua_port = free_port()
        self.opcua_url = f"opc.tcp://127.0.0.1:{opcua_port}/corridor/checkpoint"
        opcua_cred = self._secret("opcua", f"{OPCUA_USER}:{self.opcua_password}")
        opcua_pw = self._secret("opcua-password", self.opcua_password)

        self.supervisor = Supervisor(self.run_dir / "logs", ros_env(domain_id=self.domain_id))
        py = sys.executable
        self.supervisor.start(
            "clock",
            [
                py,
                "-m",
                "corridor_nodes.sim_clock",
                "--start",
                self.clock.start.isoformat(),
                "--origin",
                repr(self.clock.origin_wall_s),
                "--time-scale",
                str(self.time_scale),
            ],
        )
        self.supervisor.start(
            "checkpoint",
            [
                py,
                "-m",
                "corridor_sim.checkpoint_emulator",
                "--port",
                str(opcua_port),
                "--credentials",
                str(opcua_cred),
            ],
        )
        bridge = self._params(
            "corridor_checkpoint_bridge",
            {
                "opcua_url": self.opcua_url,
                "opcua_user": OPCUA_USER,
                "opcua_password_file": str(opcua_pw),
                "use_sim_time": True,
            },
        )
        self.supervisor.start(
            "bridge",
            [
                py,
                "-m",
                "corridor_nodes.checkpoint_bridge_node",
                "--ros-args",
                "--params-file",
                str(bridge),
            ],
        )
        if self.controller_node == "vehicle_bridge":
            self._start_vehicle_bridge(controller_pw)
        else:
            dispatcher = self._params(
                "corridor_dispatcher",
                {
                    "map_path": str(self.map_path),
                    "fleet_path": str(self.fleet_path),
                    "mqtt_port": self.broker.port,
                    "mqtt_user": CONTROLLER_USER,
                    "mqtt_password_file": str(controller_pw),
                },
            )
            self.supervisor.start(
                "dispatcher",
                [
                    py,
                    "-m",
                    "corridor_nodes.dispatcher_node",
                    "--ros-args",
                    "--params-file",
                    str(dispatcher),
                ],
            )
        self.supervisor.start(
            "trucks",
            [
                py,
                "-m",
                "corridor_sim.truck_emulator",
                "--port",
                str(self.broker.port),
                "--map",
                str(self.map_path),
                "--fleet",
                str(self.fleet_path),
                "--credentials",
                str(trucks_pw),
                *self.truck_clock_args(),
                *self.truck_args,
            ],
        )

    def _start_vehicle_bridge(self, controller_pw: Path) -> None:
        """The vehicle bridge with the planner on the stack's clock; link timings scale with
        it."""
        assert self.broker is not None and self.supervisor is not None and self.clock is not None
        wall = self.time_scale  # controller-clock seconds per wall-clock second
        params = self._params(
            "corridor_vehicle_bridge",
            {
                "map_path": str(self.map_path),
                "fleet_path": str(self.fleet_path),
                "mqtt_port": self.broker.port,
                "mqtt_user": CONTROLLER_USER,
                "mqtt_password_file": str(controller_pw),
                "use_sim_time": True,
                "time_scale": float(self.time_scale),
                "start_time": self.clock.start.isoformat(),
                "agreement_path": str(self.agreement_path) if self.agreement_path else "",
                "clearance_allowance_s": 2.0 * wall,
                "resend_after_s": 2.0 * wall,
                "release_lead_s": 0.1 * wall,
                "silent_after_s": 5.0 * wall,
                "late_tolerance_s": max(10.0, 0.5 * wall),
            },
        )
        self.supervisor.start(
            "vehicle_bridge",
            [
                sys.executable,
                "-m",
                "corridor_nodes.vehicle_bridge_node",
                "--ros-args",
                "--params-file",
                str(params),
            ],
        )

    def stop(self) -> dict[str, int | None]:
        """Stop every process (trucks first, broker last); returns their exit codes."""
        codes: dict[str, int | None] = {}
        if self.supervisor is not None:
            codes = self.supervisor.stop_all()
        if self.broker is not None:
            self.broker.cleanup()
        if self._domain_lock is not None:
            self._domain_lock.close()
            self._domain_lock = None
        return codes
