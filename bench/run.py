"""Run every benchmark in bench/ and write one JSON per benchmark to bench/results/.

Each ``bench/bench_*.py`` module defines ``NAME``, ``METRIC``, ``BASELINE_NAME``, ``TARGET``
(text), ``measure() -> tuple[float, float]`` returning (ours, baseline) for one run, and
``met(ours, baseline) -> bool``; optionally ``details() -> dict`` (added to the JSON) and
``QUICK``, a module flag that ``--quick`` sets for a smaller smoke-test size (the JSON then says
``"quick": true``). This runner repeats ``measure`` (median of ``--runs``, at least 3), writes
``{"name", "metric", "ours", "baseline", "baseline_name", "ratio", "target", "met", "runs",
"machine"}`` and prints a table.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def machine() -> dict[str, object]:
    """What the numbers were measured on."""
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.machine(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description="Corridor benchmarks")
    parser.add_argument("--runs", type=int, default=5, help="repetitions (median; minimum 3)")
    parser.add_argument("--only", default="", help="run only benchmarks whose name contains this")
    parser.add_argument(
        "--quick", action="store_true", help="smoke-test sizes, where a benchmark has them"
    )
    args = parser.parse_args()
    runs = max(3, args.runs)
    out = BENCH / "results"
    out.mkdir(exist_ok=True)
    rows = []
    for path in sorted(BENCH.glob("bench_*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses in the module look themselves up here
        spec.loader.exec_module(module)
        if args.only and args.only not in module.NAME:
            continue
        if args.quick and hasattr(module, "QUICK"):
            module.QUICK = True
        print(f"running {module.NAME} ({runs} runs) ...", file=sys.stderr, flush=True)
        pairs = [module.measure() for _ in range(runs)]
        ours = statistics.median(p[0] for p in pairs)
        base = statistics.median(p[1] for p in pairs)
        result = {
            "name": module.NAME,
            "metric": module.METRIC,
            "ours": ours,
            "baseline": base,
            "baseline_name": module.BASELINE_NAME,
            "ratio": ours / base if base else None,
            "target": module.TARGET,
            "met": bool(module.met(ours, base)),
            "runs": runs,
            "machine": machine(),
        }
        if args.quick and hasattr(module, "QUICK"):
            result["quick"] = True
        if hasattr(module, "details"):
            result["details"] = module.details()
        (out / f"{module.NAME}.json").write_text(json.dumps(result, indent=2) + "\n")
        rows.append(result)
    print(
        f"\n{'benchmark':<22} {'metric':<28} {'ours':>10} {'baseline':>10} {'ratio':>7}  "
        f"{'target':<26} met   (cores: {os.cpu_count()})"
    )
    for r in rows:
        print(
            f"{r['name']:<22} {r['metric']:<28} {r['ours']:>10.3f} {r['baseline']:>10.3f} "
            f"{r['ratio']:>7.2f}  {r['target']:<26} {'yes' if r['met'] else 'NO'}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
