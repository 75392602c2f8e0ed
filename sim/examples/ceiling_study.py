"""What limits the corridor controller's throughput? Runs the reference study and what-if variants
of its map (single-lane blocks made dual, more holding slots at a node, disruptions off) over
several seeds, in parallel processes, and prints one table.

    python sim/examples/ceiling_study.py [--seeds 4] [--hours 16] [--workers 2]
                                         [--variants reference,no-blocks,...]

A variant whose single-lane blocks are all dual shows the most any block signalling could give;
the same with disruptions off shows the engine's own ceiling (window edges, stochastic cranes).
Each variant is what ``corridor sim run --dual ... --slots ...`` runs; the maps are not touched.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import statistics
from dataclasses import dataclass

from corridor_core.lane_map import StationKind
from corridor_sim.disruptions import DEFAULT
from corridor_sim.study import StudyConfig, run_study


@dataclass(frozen=True)
class Variant:
    """A what-if: blocks made dual, holding slots set per node, disruptions on or off."""

    name: str
    dual: tuple[str, ...] = ()
    slots: tuple[tuple[str, int], ...] = ()
    disruptions: bool = True


VARIANTS = {
    v.name: v
    for v in (
        Variant("reference"),
        Variant("no-disruptions", disruptions=False),
        Variant("tunnel-dual", dual=("S2",)),
        Variant("S4-dual", dual=("S4a", "S4b")),
        Variant("no-blocks", dual=("S2", "S4a", "S4b")),
        Variant("no-blocks-no-disruptions", dual=("S2", "S4a", "S4b"), disruptions=False),
        Variant("G-VN-6-slots", slots=(("G-VN", 6),)),
    )
}


def one(cfg: StudyConfig) -> tuple[float, float, float]:
    """(loaded trips per hour, share of the bound, busiest yard's crane utilisation)."""
    result = run_study(cfg)
    m = result.metrics
    yards = [s.station_id for s in result.engine.lane_map.stations
             if s.kind is StationKind.YARD_HANDLING]  # fmt: skip
    cranes = max((m["stations"][y]["utilisation"] for y in yards), default=0.0)
    return m["throughput_per_h"]["total"], m["share_of_bound"], cranes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="tan-thanh-puzhai-2027")
    parser.add_argument("--preset", default="stress")
    parser.add_argument("--seeds", type=int, default=4, help="seeds 1..N (default: 4)")
    parser.add_argument("--hours", type=float, default=16.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help=f"comma list of: {', '.join(VARIANTS)}")  # fmt: skip
    args = parser.parse_args()
    names = [n.strip() for n in args.variants.split(",") if n.strip()]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        parser.error(f"--variants: unknown {unknown}; known: {', '.join(VARIANTS)}")
    jobs: dict[str, list[concurrent.futures.Future[tuple[float, float, float]]]] = {}
    with concurrent.futures.ProcessPoolExecutor(args.workers) as pool:
        for name in names:
            v = VARIANTS[name]
            cfg = StudyConfig(
                scenario=args.scenario,
                preset=args.preset,
                hours=args.hours,
                disruptions=frozenset(DEFAULT) if v.disruptions else frozenset(),
                dual_segments=v.dual,
                holding_slots=v.slots,
                record=False,
            )
            jobs[name] = [
                pool.submit(one, dataclasses.replace(cfg, seed=s)) for s in range(1, args.seeds + 1)
            ]
        print(f"{'variant':26} {'trips/h mean':>12} {'min-max':>12} {'of bound':>9} "
              f"{'busiest yard':>12}")  # fmt: skip
        for name, futures in jobs.items():
            rows = [f.result() for f in futures]
            tp = [r[0] for r in rows]
            share = statistics.mean(r[1] for r in rows)
            yard = statistics.mean(r[2] for r in rows)
            print(f"{name:26} {statistics.mean(tp):12.1f} {min(tp):5.1f}-{max(tp):<6.1f} "
                  f"{share:9.1%} {yard:12.1%}", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
