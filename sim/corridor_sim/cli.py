"""``corridor sim run | sweep | check``: throughput studies from the command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from corridor_core.errors import CorridorError
from corridor_sim.disruptions import parse_switches

CONTROLLERS = ("corridor", "fifo", "batch3")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--scenario",
        default="tan-thanh-puzhai-2027",
        help="scenario name in config/scenarios or a YAML path (default: %(default)s)",
    )
    p.add_argument(
        "--preset", default="stress", help="nominal | stress | design (default: %(default)s)"
    )
    p.add_argument("--hours", type=float, default=16.0, help="study hours (default: %(default)s)")
    p.add_argument("--seed", type=int, default=7, help="random seed (default: %(default)s)")
    p.add_argument("--controller", choices=CONTROLLERS, default="corridor")
    p.add_argument("--fleet", type=int, default=None, help="trucks (default: the scenario's)")
    p.add_argument(
        "--disruptions",
        default="default",
        help="default | all | none | comma list, e.g. default,fog (default: %(default)s)",
    )
    p.add_argument(
        "--dual",
        default="",
        metavar="SEGMENTS",
        help="what-if: these segments two-way dual (comma list, e.g. S4a,S4b)",
    )
    p.add_argument(
        "--slots",
        default="",
        metavar="NODE=N,...",
        help="what-if: holding slots at these nodes (e.g. G-VN=6)",
    )
    p.add_argument("--out", type=Path, required=True, help="directory for the results")  # fmt: skip


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``sim`` and its sub-commands on the ``corridor`` parser."""
    sim = sub.add_parser("sim", help="corridor simulator: throughput studies without vehicles")
    ssub = sim.add_subparsers(dest="sim_command", required=True)
    run = ssub.add_parser("run", help="one study: metrics, CSVs, plots and report.html")
    _common(run)
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.add_argument(
        "--driver",
        choices=("engine", "fleet"),
        default="engine",
        help="engine: the simulator's own trucks asking the interlock; fleet: the deployed "
        "FleetController (the vehicle bridge's) driving loopback VDA 5050 trucks "
        "(default: %(default)s)",
    )
    run.add_argument(
        "--workload",
        choices=("study", "loop"),
        default="study",
        help="with --driver fleet: study (the scenario's arrivals, warm-up, agreement and "
        "clearance model) or loop (exactly what `corridor run --preset P --minutes 60*HOURS "
        "--seed N` runs: its backlog, --fleet-file, always open) (default: %(default)s)",
    )
    run.add_argument(
        "--fleet-file",
        type=Path,
        default=Path("config/fleet-reference.yaml"),
        help="with --workload loop: the fleet YAML (default: %(default)s)",
    )
    sweep = ssub.add_parser("sweep", help="throughput against one parameter, in parallel")
    _common(sweep)
    sweep.add_argument("--param", required=True,
                       choices=("fleet", "platoon_cap", "service_scale", "rate_per_h"),
                       help="the parameter to vary")  # fmt: skip
    sweep.add_argument("--values", required=True, help="comma list, e.g. 20,30,40")
    sweep.add_argument("--seeds", type=int, default=1, help="seeds per value (default: 1)")
    sweep.add_argument("--workers", type=int, default=0, help="processes (default: cores)")
    sweep.add_argument("--dask", default="", metavar="ADDRESS",
                       help="run the points on this Dask scheduler (tcp://host:port)")  # fmt: skip
    check = ssub.add_parser("check", help="check a run directory's CSVs independently")
    check.add_argument("run_dir", type=Path)


def _config(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from corridor_sim.study import StudyConfig

    if args.hours <= 0:
        raise CorridorError(f"--hours {args.hours}: must be > 0")
    if args.fleet is not None and args.fleet < 1:
        raise CorridorError(f"--fleet {args.fleet}: must be >= 1")
    cfg = StudyConfig(
        scenario=args.scenario,
        preset=args.preset,
        hours=args.hours,
        seed=args.seed,
        controller=args.controller,
        fleet=args.fleet,
        disruptions=parse_switches(args.disruptions),
        dual_segments=_names(args.dual),
        holding_slots=_slots(args.slots),
    )
    if cfg.dual_segments or cfg.holding_slots:  # bad ids fail here, before any work starts
        from corridor_core.map_io import load_map
        from corridor_sim.scenario import load_scenario
        from corridor_sim.study import what_if_map

        what_if_map(load_map(load_scenario(cfg.scenario).map_path), cfg.dual_segments,
                    cfg.holding_slots)  # fmt: skip
    return cfg


def _names(raw: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in raw.split(",") if x.strip())


def _slots(raw: str) -> tuple[tuple[str, int], ...]:
    """``G-VN=6,B0=4`` as ((node, slots), ...)."""
    out = []
    for item in _names(raw):
        node, _, n = item.partition("=")
        try:
            out.append((node.strip(), int(n)))
        except ValueError:
            raise CorridorError(f"--slots {item!r}: write NODE=N, e.g. G-VN=6") from None
    return tuple(out)


def cmd_run(args: argparse.Namespace) -> int:
    """``corridor sim run``."""
    from tqdm import tqdm

    from corridor_sim.report import summary_table
    from corridor_sim.study import execute

    cfg = _config(args)
    bar = tqdm(total=100, desc="simulating", unit="%", disable=args.no_progress, file=sys.stderr)

    def progress(fraction: float) -> None:
        bar.update(round(fraction * 100) - bar.n)

    if args.workload == "loop" and args.driver != "fleet":
        raise CorridorError("--workload loop needs --driver fleet")
    if getattr(args, "driver", "engine") == "fleet":
        from corridor_sim.loopback_study import execute_loop_loopback, execute_loopback

        if args.workload == "loop":
            metrics, violations = execute_loop_loopback(cfg, args.fleet_file, args.out, progress)
        else:
            metrics, violations = execute_loopback(cfg, args.out, progress)
        bar.close()
        print("driver: fleet (the deployed FleetController, loopback VDA 5050 trucks)")
        print(summary_table(metrics))
        for v in violations[:20]:
            print(f"  checker: {v.rule}: {v.detail}")
        print(f"\nwrote {args.out}/ (metrics.json, occupancy.csv, crossings.csv)")
        return 0
    metrics, violations = execute(cfg, args.out, progress)
    bar.close()
    print(summary_table(metrics))
    for v in violations[:20]:
        print(f"  checker: {v.rule}: {v.detail}")
    print(f"\nwrote {args.out}/ (metrics.json, occupancy.csv, crossings.csv, queues.csv, "
          f"plots, report.html)")  # fmt: skip
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """``corridor sim check DIR``."""
    from corridor_sim.run_check import main as check_main

    return check_main([str(args.run_dir)])


def main(args: argparse.Namespace) -> int:
    """Dispatch a parsed ``corridor sim ...`` command; returns the exit code."""
    try:
        if args.sim_command == "run":
            return cmd_run(args)
        if args.sim_command == "sweep":
            from corridor_sim.sweep import cmd_sweep

            return cmd_sweep(args, _config(args))
        if args.sim_command == "check":
            return cmd_check(args)
    except CorridorError as exc:
        print(f"corridor sim: {exc}", file=sys.stderr)
        return 2
    return 2


def standalone(argv: list[str] | None = None) -> int:
    """``python -m corridor_sim.cli sim run ...`` without the ROS side."""
    parser = argparse.ArgumentParser(prog="corridor")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    return main(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(standalone())
