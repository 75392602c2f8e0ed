"""Plots, an HTML page and a text summary for one simulator run directory.

Input is a run directory as described in ``docs/sim-outputs.md`` (``scenario.json``,
``metrics.json``, ``map.yaml``, ``occupancy.csv``, ``crossings.csv``, ``queues.csv``).
:func:`write_report` writes ``throughput.png``, ``queues.png``, ``space_time.png``,
``utilisation.png`` and ``report.html`` into that directory; :func:`summary_table` formats the
metrics as the plain-text table ``corridor sim run`` prints.

Missing or empty CSV files are not errors: the affected plot carries a "no data" note. Times on
the plots are hours since the scenario's ``start_s`` (simulation seconds from its epoch).
"""

from __future__ import annotations

import csv
import html
import json
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from corridor_core.lane_map import LaneMap, LaneMode
from corridor_core.map_io import load_map
from corridor_core.runs import Direction

DPI = 100
MAX_PNG_BYTES = 300_000
SPACE_TIME_EXCERPT_S = 2 * 3600.0  # runs longer than LONG_RUN_S show this much of the lane
LONG_RUN_S = 3 * 3600.0
TOP_STATIONS = 4
COLOURS = {Direction.SOUTHBOUND.value: "tab:blue", Direction.NORTHBOUND.value: "tab:orange"}
Rows = list[dict[str, str]]  # CSV rows by column name
Span = tuple[float, float]  # (start_s, end_s) in simulation seconds
PLOTS = (
    ("throughput.png", "Loaded trips crossing the border point per hour, by direction."),
    ("queues.png", "Trucks waiting (not in service) at each station over time."),
    ("space_time.png", "Space-time diagram of the lane; shaded bands are single-lane blocks."),
    ("utilisation.png", "Share of time each station's servers were busy."),
)


# ---------------------------------------------------------------- reading the run directory


def _read_json(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``; ``{}`` when the file does not exist."""
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def _read_csv(path: Path) -> Rows:
    """The rows of a CSV file with a header line; ``[]`` when it is missing or empty."""
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _float(value: Any) -> float | None:
    """``value`` (a number or its text) as a finite float; None when blank, bool or not a number."""
    try:
        number = float(str(value))
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _horizon_s(scenario: dict[str, Any], times_s: list[float]) -> Span:
    """(start_s, end_s) of the study horizon; falls back to the data's span, then one hour."""
    start_s, end_s = _float(scenario.get("start_s")), _float(scenario.get("end_s"))
    if start_s is None:
        start_s = min(times_s, default=0.0)
    if end_s is None or end_s <= start_s:
        end_s = max([*times_s, start_s + 3600.0])
    return start_s, end_s


# ---------------------------------------------------------------- summary table


def _fmt(value: Any, spec: str = ".1f", unit: str = "", scale: float = 1.0) -> str:
    """``value * scale`` formatted with ``spec`` and ``unit``; "n/a" when not a number."""
    number = _float(value)
    return "n/a" if number is None else f"{number * scale:{spec}}{unit}"


def _pct(share: Any) -> str:
    """A 0..1 share as a percentage with one decimal, or "n/a"."""
    return _fmt(share, ".1f", " %", 100.0)


def summary_rows(metrics: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) pairs of the headline metrics, in display order; missing ones are "n/a"."""
    tp = metrics.get("throughput_per_h") or {}
    y2y = metrics.get("yard_to_yard_s") or {}
    empty = metrics.get("corridor_empty_at_close")
    binding = metrics.get("bound_binding") or "n/a"
    s_n = f"S {_fmt(tp.get('SOUTHBOUND'))}, N {_fmt(tp.get('NORTHBOUND'))}"
    p50, p95 = (_fmt(y2y.get(k), ".1f", " min", 1 / 60) for k in ("p50", "p95"))
    return [
        ("throughput (loaded trips/h)", f"{_fmt(tp.get('total'))} ({s_n})"),
        ("containers/h", _fmt(metrics.get("containers_per_h"))),
        ("physical bound (trips/h)", f"{_fmt(metrics.get('bound_per_h'))} (binding: {binding})"),
        ("share of bound", _pct(metrics.get("share_of_bound"))),
        ("yard to yard p50 / p95", f"{p50} / {p95}"),
        ("conflicts", _fmt(metrics.get("conflicts"), ".0f")),
        ("window violations", _fmt(metrics.get("window_violations"), ".0f")),
        ("reefer SLA met", _pct(metrics.get("reefer_sla_met"))),
        ("corridor empty at close", "n/a" if empty is None else ("yes" if empty else "NO")),
        ("loaded per round trip", _fmt(metrics.get("loaded_per_round_trip"), ".2f")),
    ]


def station_rows(metrics: dict[str, Any], top: int = TOP_STATIONS) -> list[tuple[str, ...]]:
    """(station, utilisation, queue mean, queue max) of the ``top`` busiest stations.

    Ordered by utilisation, highest first (ties by id); values formatted for display.
    """
    stations: dict[str, dict[str, Any]] = metrics.get("stations") or {}

    def key(item: tuple[str, dict[str, Any]]) -> tuple[float, str]:
        return (-(_float(item[1].get("utilisation")) or 0.0), item[0])

    return [
        (
            sid,
            _pct(s.get("utilisation")),
            _fmt(s.get("queue_mean")),
            _fmt(s.get("queue_max"), ".0f"),
        )
        for sid, s in sorted(stations.items(), key=key)[:top]
    ]


STATION_HEADER = ("station", "utilisation", "queue mean", "queue max")


def summary_table(metrics: dict[str, Any]) -> str:
    """The plain-text summary ``corridor sim run`` prints for a ``metrics.json`` object.

    Holds throughput total/S/N, the bound and the share of it, yard-to-yard p50/p95 in minutes,
    conflicts, window violations, reefer SLA, corridor empty at close, loaded per round trip,
    then the top 4 stations by utilisation with mean and max queue. Never raises on missing
    keys (prints "n/a"). Ends without a trailing newline.
    """
    rows = summary_rows(metrics)
    width = max(len(label) for label, _ in rows)
    lines = [f"{label:<{width}}  {value}" for label, value in rows]
    stations = station_rows(metrics)
    lines.append("")
    lines.append(f"top {TOP_STATIONS} stations by utilisation")
    if not stations:
        lines.append("  (no station data)")
        return "\n".join(lines)
    table = [STATION_HEADER, *stations]
    widths = [max(len(row[i]) for row in table) for i in range(len(STATION_HEADER))]
    for name, *numbers in table:
        cells = [name.ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(numbers, widths[1:], strict=True)
        ]
        lines.append("  " + "  ".join(cells))
    return "\n".join(lines)


# ---------------------------------------------------------------- plots


def _figure(width_in: float = 10.0, height_in: float = 5.0) -> Figure:
    """A new figure rendered by the Agg canvas (no pyplot, no global backend state)."""
    fig = Figure(figsize=(width_in, height_in), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _no_data(ax: Any, why: str) -> None:
    """Write "no data: ``why``" across the middle of ``ax``."""
    style = {"ha": "center", "va": "center", "fontsize": 12, "color": "dimgray"}
    ax.text(0.5, 0.5, f"no data: {why}", transform=ax.transAxes, **style)


def _save(fig: Figure, path: Path) -> Path:
    """Write ``fig`` as PNG; lowers the resolution if needed to stay under MAX_PNG_BYTES."""
    fig.tight_layout()
    for dpi in (DPI, 80, 60):
        fig.savefig(path, dpi=dpi, format="png")
        if path.stat().st_size < MAX_PNG_BYTES:
            break
    return path


def plot_throughput(crossings: Rows, metrics: dict[str, Any], horizon_s: Span, path: Path) -> Path:
    """Stacked bars of loaded trips per hour of sim time by direction, with the bound line.

    A trip is one (vehicle_id, border_s) pair, so a 2 x 20' load counts once, the unit of
    ``throughput_per_h`` and ``bound_per_h``.
    """
    start_s, end_s = horizon_s
    n_hours = max(1, math.ceil((end_s - start_s) / 3600.0))
    trips: set[tuple[str, str, float]] = set()
    for row in crossings:
        t = _float(row.get("border_s"))
        if t is not None and row.get("direction") in COLOURS:
            trips.add((row.get("vehicle_id", ""), row["direction"], t))
    per_hour = {d: [0] * n_hours for d in COLOURS}
    for _vehicle, direction, t in trips:
        hour = int((t - start_s) // 3600.0)
        if 0 <= hour < n_hours:
            per_hour[direction][hour] += 1
    fig = _figure()
    ax = fig.add_subplot()
    hours = [h + 0.5 for h in range(n_hours)]
    bottom = [0] * n_hours
    for direction, counts in per_hour.items():
        ax.bar(hours, counts, 0.9, bottom, color=COLOURS[direction], label=direction.lower())
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    bound = _float(metrics.get("bound_per_h"))
    if bound is not None:
        binding = metrics.get("bound_binding")
        label = f"physical bound {bound:.1f} trips/h" + (f" ({binding})" if binding else "")
        ax.axhline(bound, color="crimson", linestyle="--", label=label)
    if not trips:
        _no_data(ax, "no loaded crossings")
    ax.set_xlim(0, n_hours)
    ax.set_ylim(0, max(ax.get_ylim()[1], 1.0))
    ax.set_xlabel("time since start (h)")
    ax.set_ylabel("loaded trips / h (a 2 x 20' pair counts once)")
    ax.set_title("Border throughput per hour (stacked by direction)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    return _save(fig, path)


def plot_queues(queues: Rows, start_s: float, path: Path) -> Path:
    """Queue length per station over time (step lines); stations never queued are listed."""
    series: dict[str, list[tuple[float, float]]] = {}
    for row in queues:
        t, q = _float(row.get("time_s")), _float(row.get("queue_len"))
        if t is not None and q is not None and row.get("station_id"):
            series.setdefault(row["station_id"], []).append(((t - start_s) / 3600.0, q))
    fig = _figure()
    ax = fig.add_subplot()
    queued = {sid: pts for sid, pts in sorted(series.items()) if any(q > 0 for _, q in pts)}
    cmap = matplotlib.colormaps["tab10" if len(queued) <= 10 else "tab20"]
    for i, (sid, points) in enumerate(queued.items()):
        points.sort()
        times_h, lengths = zip(*points, strict=True)
        ax.step(times_h, lengths, where="post", label=sid, color=cmap(i % 20), linewidth=1.0)
    idle = sorted(set(series) - set(queued))
    if not series:
        _no_data(ax, "no queue samples")
    elif not queued:
        _no_data(ax, "no station ever had a queue")
    if queued:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, title="station")
    title = "Station queues"
    if idle and queued:
        title += f" (never queued: {', '.join(idle[:6])}{', ...' if len(idle) > 6 else ''})"
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("time since start (h)")
    ax.set_ylabel("trucks waiting")
    ax.set_ylim(bottom=0)
    return _save(fig, path)


def _busiest_window_s(entries_s: list[float], horizon_s: Span) -> Span:
    """The excerpt to draw: the whole horizon if short, else 2 h from the busiest hour's start."""
    start_s, end_s = horizon_s
    if end_s - start_s <= LONG_RUN_S or not entries_s:
        return start_s, end_s
    per_hour = Counter(int((t - start_s) // 3600.0) for t in entries_s)
    busiest = min(per_hour, key=lambda h: (-per_hour[h], h))
    lo = start_s + 3600.0 * busiest
    lo = max(start_s, min(lo, end_s - SPACE_TIME_EXCERPT_S))
    return lo, lo + SPACE_TIME_EXCERPT_S


def _trajectories(occupancy: Rows, lane_map: LaneMap, end_s: float) -> dict[str, list[Any]]:
    """Per direction, the lines [(t0_s, x0_m), (t1_s, x1_m)] of the space-time diagram.

    A ``segment`` row is a line from (enter_s, x of the node it was entered from) to (exit_s,
    x of the other end); the entry end is the one from which driving the segment goes in the
    row's direction (``Segment.direction_of``). A ``node`` row (standing at a holding place) is a
    horizontal line at that node; ``station`` rows are left out. Rows with unknown ids or times
    are skipped; a blank exit_s means still there at ``end_s``.
    """
    lines: dict[str, list[Any]] = {d: [] for d in COLOURS}
    for row in occupancy:
        kind, rid = row.get("resource_kind"), row.get("resource_id", "")
        direction = row.get("direction", "")
        t0, t1 = _float(row.get("enter_s")), _float(row.get("exit_s"))
        if direction not in COLOURS or t0 is None:
            continue
        t1 = end_s if t1 is None else t1
        try:
            if kind == "segment":
                seg = lane_map.segment(rid)
                entry = seg.from_node
                if seg.direction_of(entry, lane_map).value != direction:
                    entry = seg.to_node
                y0, y1 = lane_map.node(entry).x_m, lane_map.node(seg.other_end(entry)).x_m
            elif kind == "node":
                y0 = y1 = lane_map.node(rid).x_m
            else:
                continue
        except KeyError:
            continue
        lines[direction].append([(t0, y0), (t1, y1)])
    return lines


def plot_space_time(occupancy: Rows, lane_map: LaneMap | None, horizon_s: Span, path: Path) -> Path:
    """Truck trajectories (see :func:`_trajectories`): chainage against time by direction.

    Single-lane segments are shaded bands; runs longer than 3 h show a 2 h excerpt around the
    busiest hour (by segment entries), and the title says so.
    """
    start_s, end_s = horizon_s
    fig = _figure(10.0, 6.0)
    ax = fig.add_subplot()
    ax.set_xlabel("time since start (h)")
    ax.set_ylabel("chainage (m)")
    if lane_map is None:
        _no_data(ax, "map.yaml missing")
        ax.set_title("Space-time diagram of the lane")
        return _save(fig, path)
    lines = _trajectories(occupancy, lane_map, end_s)
    entries = [ln[0][0] for d in lines.values() for ln in d]
    lo_s, hi_s = _busiest_window_s(entries, (start_s, end_s))
    band_label: str | None = "single-lane block (alternating)"
    for seg in lane_map.segments:
        if seg.lane_mode is LaneMode.SINGLE_ALTERNATING:
            ys = sorted((lane_map.node(seg.from_node).x_m, lane_map.node(seg.to_node).x_m))
            ax.axhspan(ys[0], ys[1], color="0.88", zorder=0, label=band_label)
            band_label = None
    shown = 0
    for direction, segs in lines.items():
        visible = [
            [((t - start_s) / 3600.0, y) for t, y in ln]
            for ln in segs
            if ln[1][0] >= lo_s and ln[0][0] <= hi_s
        ]
        shown += len(visible)
        label = direction.lower()
        ax.add_collection(LineCollection(visible, colors=COLOURS[direction], label=label, lw=0.7))
    if not shown:
        _no_data(ax, "no trucks on the lane")
    ticks: dict[float, list[str]] = {}  # node names on the right axis; close ones share a tick
    for node in sorted(lane_map.nodes, key=lambda n: n.x_m):
        near = [x for x in ticks if abs(x - node.x_m) < 100.0]
        ticks.setdefault(near[0] if near else node.x_m, []).append(node.node_id)
    ax.set_xlim((lo_s - start_s) / 3600.0, (hi_s - start_s) / 3600.0)
    ax.set_ylim(min(ticks) - 50.0, max(n.x_m for n in lane_map.nodes) + 50.0)
    right = ax.twinx()
    right.set_ylim(ax.get_ylim())
    right.set_yticks(list(ticks), [" / ".join(ids) for ids in ticks.values()], fontsize=7)
    right.set_ylabel("node")
    title = "Space-time diagram of the lane"
    if (lo_s, hi_s) != (start_s, end_s):
        title += f": 2 h excerpt around the busiest hour (from h {(lo_s - start_s) / 3600.0:.0f})"
    ax.set_title(title)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncols=3, fontsize=8)
    return _save(fig, path)


def plot_utilisation(metrics: dict[str, Any], path: Path) -> Path:
    """Horizontal bars of each station's utilisation in percent, busiest at the top."""
    stations: dict[str, dict[str, Any]] = metrics.get("stations") or {}
    values = []
    for sid, s in stations.items():
        util = _float(s.get("utilisation"))
        if util is not None:
            values.append((100.0 * util, sid))
    values.sort(key=lambda v: (-v[0], v[1]))
    values.reverse()  # barh draws the first bar at the bottom: busiest on top
    fig = _figure(8.0, max(3.0, 0.35 * len(values) + 1.2))
    ax = fig.add_subplot()
    if values:
        utils, sids = zip(*values, strict=True)
        bars = ax.barh(sids, utils, color="tab:green", label="utilisation")
        ax.bar_label(bars, labels=[f"{u:.0f} %" for u in utils], padding=3, fontsize=8)
        ax.legend(loc="lower right", fontsize=8)
    else:
        _no_data(ax, "no station metrics")
    ax.set_xlim(0, 110)
    ax.set_xlabel("utilisation (%)")
    ax.set_ylabel("station")
    ax.set_title("Station utilisation")
    return _save(fig, path)


# ---------------------------------------------------------------- HTML page


def _html_table(header: tuple[str, ...] | None, rows: Sequence[tuple[str, ...]]) -> str:
    """An HTML table of ``rows`` (text escaped), with a header row when ``header`` is given."""
    out = ["<table>"]
    if header:
        out.append("<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>")
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _scenario_value(value: Any) -> str:
    """A scenario.json value as display text (lists joined, objects as JSON)."""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "(none)"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return "(none)" if value is None else str(value)


def render_html(scenario: dict[str, Any], metrics: dict[str, Any]) -> str:
    """A self-contained page: scenario, summary tables and the four plots by relative name."""
    name = str(scenario.get("scenario") or "simulator run")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Corridor run: {html.escape(name)}</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:1em auto}"
        "table{border-collapse:collapse;margin-bottom:1em}"
        "td,th{border:1px solid #bbb;padding:2px 8px;text-align:left}"
        "img{max-width:100%}figure{margin:1em 0}</style></head><body>",
        f"<h1>Corridor run: {html.escape(name)}</h1>",
        "<h2>Scenario</h2>",
        _html_table(None, [(k, _scenario_value(v)) for k, v in scenario.items()]),
        "<h2>Summary</h2>",
        _html_table(("metric", "value"), summary_rows(metrics)),
        f"<h3>Top {TOP_STATIONS} stations by utilisation</h3>",
        _html_table(STATION_HEADER, station_rows(metrics)),
        "<h2>Plots</h2>",
    ]
    for file_name, caption in PLOTS:
        parts.append(
            f'<figure><img src="{html.escape(file_name)}" alt="{html.escape(caption)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_report(run_dir: Path) -> list[Path]:
    """Write the four PNG plots and ``report.html`` into ``run_dir``; return their paths.

    Reads the files of ``docs/sim-outputs.md``; missing or empty CSVs give "no data" plots, a
    missing ``map.yaml`` a space-time plot saying so. Overwrites earlier outputs. Returns the
    paths in the order throughput, queues, space_time, utilisation, report.html.
    """
    run_dir = Path(run_dir)
    scenario = _read_json(run_dir / "scenario.json")
    metrics = _read_json(run_dir / "metrics.json")
    crossings = _read_csv(run_dir / "crossings.csv")
    occupancy = _read_csv(run_dir / "occupancy.csv")
    queues = _read_csv(run_dir / "queues.csv")
    map_path = run_dir / str(scenario.get("map_file") or "map.yaml")
    lane_map = load_map(map_path) if map_path.exists() else None
    times_s = [t for r in crossings if (t := _float(r.get("border_s"))) is not None]
    times_s += [
        t for r in occupancy for k in ("enter_s", "exit_s") if (t := _float(r.get(k))) is not None
    ]
    horizon = _horizon_s(scenario, times_s)
    written = [
        plot_throughput(crossings, metrics, horizon, run_dir / PLOTS[0][0]),
        plot_queues(queues, horizon[0], run_dir / PLOTS[1][0]),
        plot_space_time(occupancy, lane_map, horizon, run_dir / PLOTS[2][0]),
        plot_utilisation(metrics, run_dir / PLOTS[3][0]),
    ]
    page = run_dir / "report.html"
    page.write_text(render_html(scenario, metrics), encoding="utf-8")
    return [*written, page]
