"""``corridor capacity MAP``: print the physical-limit table of a corridor map."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from corridor_core.agreement import load_agreement
from corridor_core.capacity import Assumptions, CapacityReport, calculate
from corridor_core.errors import ConfigError
from corridor_core.map_io import load_map


def add_parser(sub: argparse._SubParsersAction, agreements_dir: Path) -> None:  # type: ignore[type-arg]
    """Register the ``capacity`` sub-command."""
    p = sub.add_parser(
        "capacity",
        help="physical throughput limits of a corridor map",
        description="Capacity of every element of a corridor and the binding "
        "bound, per direction and in total (containers per hour).",
    )
    p.add_argument("map", type=Path, help="lane map YAML, e.g. maps/tan-thanh-puzhai-2027.yaml")
    p.add_argument(
        "--agreement",
        default=None,
        help=f"agreement name in {agreements_dir} or a YAML path; adds open hours "
        "and containers per day",
    )
    p.add_argument("--fleet", type=int, default=40, help="number of trucks (default: 40)")
    p.add_argument(
        "--southbound-share",
        type=float,
        default=0.55,
        help="share of containers moving southbound (default: 0.55)",
    )
    p.add_argument(
        "--assumptions",
        choices=[a.value for a in Assumptions],
        default="full",
        help="full (default) or reference (the reference scenario's back-of-envelope)",
    )
    p.add_argument(
        "--platoon-cap",
        type=int,
        default=8,
        help="largest platoon where a single-lane group ends at a yard (default: 8)",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(agreements_dir=agreements_dir)


def _agreement_path(name: str, agreements_dir: Path) -> Path:
    path = Path(name)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return path
    return agreements_dir / f"{name}.yaml"


def run(args: argparse.Namespace) -> int:
    """Execute ``corridor capacity``; returns the exit code."""
    if args.fleet < 1:
        print("corridor capacity: --fleet must be >= 1", file=sys.stderr)
        return 2
    if not 0 < args.southbound_share < 1:
        print("corridor capacity: --southbound-share must be between 0 and 1", file=sys.stderr)
        return 2
    try:
        lane_map = load_map(args.map)
        agreement = (
            load_agreement(_agreement_path(args.agreement, args.agreements_dir))
            if args.agreement
            else None
        )
    except ConfigError as exc:
        print(f"corridor capacity: {exc}", file=sys.stderr)
        return 2
    report = calculate(
        lane_map,
        args.fleet,
        args.southbound_share,
        Assumptions(args.assumptions),
        agreement,
        args.platoon_cap,
    )
    if args.json:
        print(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        print(format_table(report))
    return 0


def _cell(x: float | None) -> str:
    return "-" if x is None else f"{x:,.0f}"


def format_table(report: CapacityReport) -> str:
    """The human-readable report."""
    lines = [
        f"Capacity of {report.map_name}: {report.fleet_size} trucks, "
        f"{report.southbound_share:.0%} southbound, {report.assumptions.value} assumptions "
        "(containers per hour)",
        "",
        f"  {'element':<16} {'kind':<14} {'south/h':>8} {'north/h':>8} {'total/h':>8} "
        f"{'util@bound':>10}  how",
    ]
    for e in sorted(report.elements, key=lambda e: e.total_per_h):
        mark = "*" if e.element_id == report.binding_element else ("o" if e.off_lane else " ")
        lines.append(
            f"{mark} {e.element_id:<16} {e.kind:<14} {_cell(e.southbound_per_h):>8} "
            f"{_cell(e.northbound_per_h):>8} {_cell(e.total_per_h):>8} "
            f"{e.utilisation_at_bound:>9.0%}  {e.detail}"
        )
    lines += ["", "  * binding element   o off the lane (limits clearance of some containers)", ""]
    lines.append(
        f"Binding bound: {report.binding_bound_per_h:.1f} containers/h in total, "
        f"set by {report.binding_element}"
    )
    for direction, (value, element) in report.binding_per_direction.items():
        lines.append(f"  {direction:<11} {value:6.1f}/h   set by {element}")
    lines.append(f"Round trip of one truck: {report.round_trip_s / 60:.1f} min")
    if report.open_hours_per_day:
        hours = ", ".join(f"{d} {h:g} h" for d, h in report.open_hours_per_day.items())
        lines.append(f"Agreement open hours per day: {hours}")
        if report.containers_per_day is not None:
            lines.append(f"  => at most {report.containers_per_day:,.0f} containers per day")
    if report.notes:
        lines += ["", "Assumptions:"] + [f"  - {n}" for n in report.notes]
    return "\n".join(lines)
