"""``corridor sim sweep``: throughput against one parameter, in parallel processes or on Dask.

Each point is one study written to ``OUT/points/<param>=<value>-seed<k>/`` (so every point can
be checked and read on its own); the sweep writes ``OUT/sweep.csv`` and ``OUT/sweep.png``.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import os
import statistics
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from corridor_core.errors import CorridorError
from corridor_sim.study import StudyConfig, execute

CASTS = {"fleet": int, "platoon_cap": int, "service_scale": float, "rate_per_h": float}


def point(cfg: StudyConfig, out: Path) -> dict[str, Any]:
    """Run one sweep point (in a worker); returns its headline numbers."""
    metrics, _ = execute(cfg, out)
    return {
        "throughput_per_h": metrics["throughput_per_h"]["total"],
        "bound_per_h": metrics["bound_per_h"],
        "conflicts": metrics["conflicts"],
        "window_violations": metrics["window_violations"],
        "yard_to_yard_p95_s": metrics["yard_to_yard_s"]["p95"],
    }


def plan_points(cfg: StudyConfig, param: str, values: list[str], seeds: int, out: Path
                ) -> list[tuple[Any, int, StudyConfig, Path]]:  # fmt: skip
    """Every (value, seed, config, directory) of the sweep."""
    cast = CASTS[param]
    points = []
    for raw in values:
        try:
            value = cast(raw)
        except ValueError as exc:
            raise CorridorError(f"--values: {raw!r} is not a valid {param}") from exc
        for k in range(seeds):
            c = dataclasses.replace(cfg, seed=cfg.seed + k, **{param: value})
            points.append((value, c.seed, c, out / "points" / f"{param}={value}-seed{c.seed}"))
    return points


def cmd_sweep(args: argparse.Namespace, cfg: StudyConfig) -> int:
    """Run the sweep, print the table, write sweep.csv and sweep.png."""
    from tqdm import tqdm

    values = [v.strip() for v in args.values.split(",") if v.strip()]
    if not values:
        raise CorridorError("--values: give at least one value")
    points = plan_points(cfg, args.param, values, max(1, args.seeds), args.out)
    bar = tqdm(total=len(points), desc="sweep points", file=sys.stderr)
    results: list[dict[str, Any]] = []
    if args.dask:
        from distributed import Client, as_completed

        with Client(args.dask) as client:
            futures = {client.submit(point, c, d, pure=False): (v, s) for v, s, c, d in points}
            for fut in as_completed(futures):
                v, s = futures[fut]
                results.append({"value": v, "seed": s, **fut.result()})
                bar.update(1)
    else:
        workers = args.workers or os.cpu_count() or 1
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futs = {pool.submit(point, c, d): (v, s) for v, s, c, d in points}
            for fut, (v, s) in futs.items():
                results.append({"value": v, "seed": s, **fut.result()})
                bar.update(1)
    bar.close()
    results.sort(key=lambda r: (r["value"], r["seed"]))
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "sweep.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(results[0]))
        w.writeheader()
        w.writerows(results)
    table = summarise(results)
    print(f"{args.param:>14}  throughput/h (median)  bound/h  conflicts  window violations")
    for v, tput, bound, conflicts, windows in table:
        print(f"{v!s:>14}  {tput:>21.1f}  {bound:>7.1f}  {conflicts:>9}  {windows:>16}")
    plot(table, args.param, args.out / "sweep.png")
    print(f"\nwrote {args.out}/sweep.csv, sweep.png and points/")
    return 0


def summarise(results: list[dict[str, Any]]) -> list[tuple[Any, float, float, int, int]]:
    """Per value: median throughput, bound, total conflicts and window violations."""
    out = []
    for v in sorted({r["value"] for r in results}):
        rows = [r for r in results if r["value"] == v]
        out.append((v, statistics.median(r["throughput_per_h"] for r in rows),
                    statistics.median(r["bound_per_h"] for r in rows),
                    sum(r["conflicts"] for r in rows),
                    sum(r["window_violations"] for r in rows)))  # fmt: skip
    return out


def plot(table: list[tuple[Any, float, float, int, int]], param: str, path: Path) -> None:
    """Throughput and bound against the parameter."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    xs = [row[0] for row in table]
    ax.plot(xs, [row[1] for row in table], marker="o", label="simulated throughput")
    ax.plot(xs, [row[2] for row in table], linestyle="--", label="capacity bound")
    ax.set_xlabel(param.replace("_", " "))
    ax.set_ylabel("loaded trips / h")
    ax.set_title(f"Throughput against {param.replace('_', ' ')}")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
