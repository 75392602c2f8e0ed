"""The ``corridor`` command line.

``corridor capacity MAP``   print each element's capacity and the binding bound.
``corridor run``   start the whole stack as separate processes (broker, checkpoint, vehicle bridge
                   with the planner, emulated fleet), run the reference scenario's workload for
                   ``--minutes`` simulated minutes at an accelerated clock, print the timeline
                   and throughput, shut down. ``--record DIR`` writes every MQTT message to
                   ``DIR/mqtt.jsonl``. ``--out DIR`` writes the run in the simulator's formats
                   (occupancy, crossings, metrics), rebuilt from the recorded VDA 5050
                   messages, and prints the independent checker's verdict. ``--agreement NAME``
                   and ``--start ISO`` set the windows the vehicle bridge obeys and the instant
                   the stack's clock starts at. ``--skeleton`` runs the four-run walking
                   skeleton instead (``--keep-running`` leaves the stack up for exploration
                   until Ctrl-C).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from corridor_nodes import cli_capacity
from corridor_nodes.ros_env import reexec_with_ros_env, repo_root

REFERENCE_SCENARIO = "tan-thanh-puzhai-2027"  # the simulator's reference: its agreement, day
DEFAULT_MAP = "maps/tan-thanh-puzhai-2027.yaml"  # the reference corridor, repository-relative


def _default(path: str) -> Path:
    return repo_root() / path


def agreement_arg(name: str) -> Path | None:
    """``--agreement``: a name in config/agreements, a YAML path, or ``none`` (always open)."""
    if name.lower() == "none":
        return None
    as_path = Path(name)
    if as_path.suffix in (".yaml", ".yml"):
        return as_path.resolve()
    return _default(f"config/agreements/{name}.yaml")


def start_arg(text: str) -> dt.datetime:
    """``--start``: an ISO 8601 date-time with its UTC offset."""
    try:
        at = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"{text!r} is no ISO 8601 date-time (e.g. 2027-03-02T06:00:00+07:00)"
        ) from exc
    if at.utcoffset() is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs a UTC offset, e.g. +07:00")
    return at


def _reference_start() -> dt.datetime:
    from corridor_sim.scenario import load_scenario

    return load_scenario(REFERENCE_SCENARIO).measure_from


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``corridor``."""
    parser = argparse.ArgumentParser(prog="corridor", description="Corridor border-lane controller")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the corridor stack end to end (the loop)")
    run.add_argument(
        "--map",
        type=Path,
        default=_default(DEFAULT_MAP),
        help=f"lane map YAML (default: {DEFAULT_MAP} in the repository)",
    )
    run.add_argument(
        "--fleet",
        type=Path,
        default=None,
        help="fleet YAML (default: config/fleet-reference.yaml, the skeleton: config/fleet.yaml)",
    )
    run.add_argument(
        "--skeleton", action="store_true", help="run the four-run walking skeleton instead"
    )
    run.add_argument(
        "--minutes", type=float, default=60.0, help="simulated minutes (default: %(default)s)"
    )
    run.add_argument(
        "--preset",
        default="nominal",
        help="workload preset: nominal, stress or design (default: %(default)s)",
    )
    run.add_argument("--seed", type=int, default=1, help="workload seed (default: %(default)s)")
    run.add_argument(
        "--record",
        type=Path,
        default=None,
        metavar="DIR",
        help="write every message seen on the broker to DIR/mqtt.jsonl",
    )
    run.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="write occupancy.csv, crossings.csv and metrics.json (the simulator's formats, "
        "from the trucks' VDA 5050 messages) to DIR and run the checker on them; records "
        "DIR/mqtt.jsonl unless --record says where",
    )
    run.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="emulated-truck fault SERIAL:KIND[:VALUE][@SIM_SECONDS], repeatable "
        "(kinds: disconnect, stall, slow, breakdown, reject, duplicate, out_of_order)",
    )
    run.add_argument(
        "--time-scale",
        type=float,
        default=50.0,
        help="simulated seconds per wall-clock second (default: %(default)s)",
    )
    run.add_argument(
        "--agreement",
        default="two-way-2027",
        metavar="NAME",
        help="agreement the vehicle bridge obeys: a name in config/agreements, a YAML path, or "
        "none (always open) (default: %(default)s, the reference scenario's)",
    )
    run.add_argument(
        "--start",
        type=start_arg,
        default=None,
        metavar="ISO",
        help="instant the stack's clock starts at (clock 0), ISO 8601 with offset (default: the "
        f"reference scenario's start, {REFERENCE_SCENARIO}: 2027-03-02T06:00:00+07:00)",
    )
    run.add_argument(
        "--run-dir",
        type=Path,
        default=None,
        help="where configs, secrets and logs go (default: a new temporary folder)",
    )
    run.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        help="wall-clock seconds the scenario may take (default: %(default)s)",
    )
    run.add_argument(
        "--keep-running",
        action="store_true",
        help="after the scenario, keep the stack running until Ctrl-C",
    )
    cli_capacity.add_parser(sub, _default("config/agreements"))
    from corridor_sim.cli import add_parser as add_sim_parser

    add_sim_parser(sub)
    return parser


def cmd_run(args: argparse.Namespace) -> int:
    """``corridor run``: returns the process exit code."""
    import rclpy

    from corridor_core.errors import CorridorError
    from corridor_nodes.agreement_watch import load
    from corridor_nodes.scenario import ScenarioDriver, Timeline, skeleton_runs
    from corridor_nodes.stack import Stack

    if args.out is not None and args.skeleton:
        print("corridor run: --out needs the loop, not --skeleton", file=sys.stderr)
        return 2
    run_dir = args.run_dir or Path(tempfile.mkdtemp(prefix="corridor-run-"))
    fleet = args.fleet or _default(
        "config/fleet.yaml" if args.skeleton else "config/fleet-reference.yaml"
    )
    agreement_path = agreement_arg(args.agreement)
    try:
        agreement = load(str(agreement_path)) if agreement_path else None
        start = args.start or _reference_start()
        stack = Stack(
            args.map,
            fleet,
            run_dir.resolve(),
            args.time_scale,
            controller_node="dispatcher" if args.skeleton else "vehicle_bridge",
            truck_args=[a for spec in args.fault for a in ("--fault", spec)]
            + ["--seed", str(args.seed)],
            agreement_path=agreement_path,
            start_time=start,
        )
    except CorridorError as exc:
        print(f"corridor run: {exc}", file=sys.stderr)
        return 2
    print(
        f"corridor run: map {stack.lane_map.name}, {len(stack.fleet.trucks)} trucks, "
        f"time x{args.time_scale:g}; logs in {run_dir}"
    )
    if not args.skeleton:
        windows = f"agreement {agreement.name}" if agreement else "NO agreement: always open"
        print(f"  clock 0 = {start.isoformat()}, {windows}")
    stack.start()
    assert stack.broker is not None and stack.supervisor is not None
    os.environ["ROS_DOMAIN_ID"] = str(stack.domain_id)
    print(
        f"  broker 127.0.0.1:{stack.broker.port} (mosquitto, passwords + ACL), "
        f"checkpoint {stack.opcua_url}, ROS_DOMAIN_ID {stack.domain_id}"
    )
    recorder = None
    args.record = args.record or args.out  # --out needs the recording
    if args.record is not None:
        from corridor_links.mosquitto import CONTROLLER_USER
        from corridor_links.recorder import MqttRecorder

        args.record.mkdir(parents=True, exist_ok=True)
        recorder = MqttRecorder(
            "127.0.0.1",
            stack.broker.port,
            CONTROLLER_USER,
            stack.broker.passwords[CONTROLLER_USER],
            args.record / "mqtt.jsonl",
        )
        recorder.start()
        print(f"  recording every MQTT message to {args.record / 'mqtt.jsonl'}")
    print("  timeline (wall clock since start, simulated time at the trucks' clock):")
    rclpy.init(args=[])
    if not args.skeleton:
        try:
            return _run_loop(args, stack)
        finally:
            if recorder is not None:
                recorder.stop()
                print(f"  recorded {recorder.count} MQTT messages")
    timeline = Timeline(time.monotonic(), args.time_scale)
    driver = ScenarioDriver(stack, skeleton_runs(), timeline)
    ok = False
    try:
        driver.wait_for_checkpoint(30)
        driver.wait_trucks_online(30)
        driver.submit_all(30)
        ok = driver.run_until_done(args.timeout)
        if not ok:
            print(f"corridor run: scenario not finished after {args.timeout:g} s", file=sys.stderr)
        _print_summary(driver)
        if args.keep_running:
            print("stack keeps running; Ctrl-C to stop")
            while not stack.supervisor.dead():
                rclpy.spin_once(driver, timeout_sec=0.2)
    except KeyboardInterrupt:
        print("interrupted")
    except (TimeoutError, RuntimeError) as exc:
        _report_failure(stack, exc)
    finally:
        _shut_down(stack, driver)
    return 0 if ok else 1


def _report_failure(stack: object, exc: Exception) -> None:
    """Print why the run stopped and the last log lines of every process that died."""
    from corridor_nodes.stack import Stack

    assert isinstance(stack, Stack) and stack.supervisor is not None
    print(f"corridor run: {exc}", file=sys.stderr)
    for name in stack.supervisor.dead():
        print(
            f"--- {name} exited; last log lines:\n{stack.supervisor.log_tail(name)}",
            file=sys.stderr,
        )


def _shut_down(stack: object, driver: object | None) -> None:
    """Destroy the driver node, shut rclpy down, stop every process; print the exit codes."""
    import rclpy
    from rclpy.node import Node

    from corridor_nodes.stack import Stack

    assert isinstance(stack, Stack)
    if isinstance(driver, Node):
        driver.destroy_node()
    rclpy.try_shutdown()
    codes = stack.stop()
    print(
        "  shut down: " + ", ".join(f"{n} exit {c}" for n, c in codes.items()) + ", broker stopped"
    )


def _run_loop(args: argparse.Namespace, stack: object) -> int:
    """The loop: workload through the real stack; prints the timeline and throughput."""

    from corridor_nodes.loop import LoopDriver, workload
    from corridor_nodes.scenario import Timeline
    from corridor_nodes.stack import Stack

    assert isinstance(stack, Stack) and stack.supervisor is not None
    driver = None
    ok = False
    try:
        schedule = workload(stack, args.preset, args.minutes, args.seed)
        driver = LoopDriver(stack, Timeline(time.monotonic(), args.time_scale), schedule)
        driver.wait_for_checkpoint(30)
        driver.wait_trucks_online(60)
        driver.restart_clock()
        print(f"  {len(schedule)} runs arrive over {args.minutes:g} simulated minutes")
        driver.run_for(args.minutes)
        print("\n" + "\n".join(driver.summary(args.minutes)) + "\n")
        ok = True
        if args.out is not None:
            ok = _write_outputs(args, driver)
    except KeyboardInterrupt:
        print("interrupted")
    except (TimeoutError, RuntimeError) as exc:
        _report_failure(stack, exc)
    finally:
        _shut_down(stack, driver)
    return 0 if ok else 1


def _write_outputs(args: argparse.Namespace, driver: object) -> bool:
    """``--out``: the run directory from the recording, and the checker's verdict."""
    from corridor_nodes.loop import LoopDriver, write_outputs

    assert isinstance(driver, LoopDriver)
    metrics, violations = write_outputs(
        driver, args.out, args.record / "mqtt.jsonl", args.minutes, args.preset, args.seed
    )
    tp = metrics["throughput_per_h"]
    print(
        f"  {args.out}: border crossings {tp['total']:.1f}/h (southbound "
        f"{tp['SOUTHBOUND']:.1f}/h, northbound {tp['NORTHBOUND']:.1f}/h), "
        f"bound {metrics['bound_per_h']:.1f}/h ({metrics['bound_binding']})"
    )
    if not violations:
        print("  checker (corridor sim check): OK, no violations")
        return True
    rules = Counter(v.rule for v in violations)
    print(
        f"  checker (corridor sim check): {len(violations)} violations: "
        + ", ".join(f"{k} {n}" for k, n in sorted(rules.items()))
    )
    for v in violations[:10]:
        print(f"    {v.rule}: {v.detail}")
    if len(violations) > 10:
        print(f"    ... all of them: corridor sim check {args.out}")
    return True


def _print_summary(driver: object) -> None:
    from corridor_nodes.scenario import ScenarioDriver

    assert isinstance(driver, ScenarioDriver)
    print("\n  run    container    truck  result     note")
    for run_id in sorted(driver.planned):
        msg = driver.status.get(run_id)
        if msg is None:
            print(f"  {run_id}  (no status)")
            continue
        print(
            f"  {run_id}  {msg.container_number}  {msg.vehicle_id or '-':<5}  "
            f"{msg.status_name:<9}  {msg.reason}"
        )
    done = sum(1 for m in driver.status.values() if m.status_name == "COMPLETED")
    held = sum(1 for m in driver.status.values() if m.status_name == "HELD")
    print(f"\n  {done} containers carried across, {held} held at the checkpoint\n")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``corridor`` console script."""
    args = build_parser().parse_args(argv)
    if args.command == "run":
        reexec_with_ros_env("corridor_nodes.cli")
        return cmd_run(args)
    if args.command == "capacity":
        return cli_capacity.run(args)
    if args.command == "sim":
        from corridor_sim.cli import main as sim_main

        return sim_main(args)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
