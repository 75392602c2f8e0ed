"""The run report: plots and page from a hand-built run directory, and the text summary."""

import csv
import json
import shutil
from pathlib import Path

import pytest

from corridor_core.map_io import load_map
from corridor_sim.report import _busiest_window_s, _trajectories, summary_table, write_report

ROOT = Path(__file__).resolve().parents[2]
REF_MAP = ROOT / "maps" / "tan-thanh-puzhai-2027.yaml"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PLOTS = ("throughput.png", "queues.png", "space_time.png", "utilisation.png")
MAX_PNG_BYTES = 300_000

METRICS = {
    "throughput_per_h": {"total": 97.1, "SOUTHBOUND": 52.0, "NORTHBOUND": 45.1},
    "containers_per_h": 108.3,
    "bound_per_h": 100.0,
    "bound_binding": "CN-YARD",
    "share_of_bound": 0.971,
    "window_hours": 16.0,
    "loaded_trips": 1553,
    "yard_to_yard_s": {"p50": 612.0, "p95": 1320.0},
    "window_violations": 0,
    "conflicts": 0,
    "reefer_sla_met": 0.995,
    "corridor_empty_at_close": True,
    "stations": {
        "CN-YARD": {"utilisation": 0.95, "queue_mean": 1.2, "queue_max": 9, "served": 3100},
        "VN-YARD": {"utilisation": 0.91, "queue_mean": 0.8, "queue_max": 6, "served": 3050},
        "KM0-TOKEN": {"utilisation": 0.12, "queue_mean": 0.0, "queue_max": 1, "served": 1600},
        "VN-GATE-IN": {"utilisation": 0.55, "queue_mean": 0.4, "queue_max": 4, "served": 800},
        "CN-SCANNER": {"utilisation": 0.30, "queue_mean": 0.1, "queue_max": 2, "served": 750},
    },
    "loaded_per_round_trip": 1.71,
    "disruptions": {"breakdown": 3, "token_withheld": 1},
    "interlock_waits": 12,
    "deadlocked_trucks": 0,
    "sim_wall_s": 2.1,
}

# Southbound route of the reference map, with each segment's drive time in seconds.
ROUTE_S = [("Y-CN", 18), ("S1", 120), ("S2", 108), ("S3", 96), ("S4a", 45), ("S4b", 45), ("S5", 54)]


def _write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


def _trip(vehicle: str, direction: str, t0_s: float) -> tuple[list[list], float]:
    """Occupancy rows of one yard-to-yard trip and the time it passes the border point B0."""
    legs = ROUTE_S if direction == "SOUTHBOUND" else list(reversed(ROUTE_S))
    rows, t, border_s = [], t0_s, t0_s
    for seg_id, drive_s in legs:
        rows.append([vehicle, seg_id, "segment", direction, t, t + drive_s])
        t += drive_s
        if seg_id in ("S3", "S4a") and border_s == t0_s:  # S3 then S4a (S) / S4a then S3 (N)
            rows.append([vehicle, "B0", "node", direction, t, t + 10])
            border_s = t + 5
            t += 10
    return rows, border_s


def _make_run(run_dir: Path, hours: float, trips_per_h: int, metrics: dict = METRICS) -> Path:
    run_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(REF_MAP, run_dir / "map.yaml")
    end_s = hours * 3600.0
    scenario = {
        "scenario": "reference <test> & co",
        "map_file": "map.yaml",
        "agreement_file": None,
        "epoch": "2027-03-01T06:00:00+07:00",
        "start_s": 0.0,
        "end_s": end_s,
        "preset": "reference",
        "controller": "corridor",
        "seed": 7,
        "fleet": 40,
        "disruptions": ["breakdown"],
    }
    (run_dir / "scenario.json").write_text(json.dumps(scenario), encoding="utf-8")
    (run_dir / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    occupancy, crossings = [], []
    n_trips = int(hours * trips_per_h)
    for i in range(n_trips):
        direction = "SOUTHBOUND" if i % 2 == 0 else "NORTHBOUND"
        vehicle = f"T{i % 40:02d}"
        # busier in the middle of the run, so the space-time excerpt has a clear busiest hour
        t0_s = end_s * (i / max(n_trips, 1)) ** 0.8
        rows, border_s = _trip(vehicle, direction, t0_s)
        occupancy += rows
        occupancy.append([vehicle, "CN-YARD", "station", direction, t0_s - 150, t0_s])
        crossings.append([f"C{i}a", vehicle, direction, t0_s - 600, border_s])
        if i % 3 == 0:  # a 2 x 20' load: two containers, one trip
            crossings.append([f"C{i}b", vehicle, direction, t0_s - 600, border_s])
    occupancy.append(["T99", "NO-SUCH-SEG", "segment", "SOUTHBOUND", 10, 20])  # skipped
    _write_csv(
        run_dir / "occupancy.csv",
        ["vehicle_id", "resource_id", "resource_kind", "direction", "enter_s", "exit_s"],
        occupancy,
    )
    _write_csv(
        run_dir / "crossings.csv",
        ["container_id", "vehicle_id", "direction", "clearance_s", "border_s"],
        crossings,
    )
    queues = []
    for k, t in enumerate(range(0, int(end_s), 60)):
        queues.append([t, "CN-YARD", k % 7])
        queues.append([t, "KM0-TOKEN", 0])
        queues.append([t, "VN-GATE-IN", (k // 5) % 3])
    _write_csv(run_dir / "queues.csv", ["time_s", "station_id", "queue_len"], queues)
    return run_dir


def _check_outputs(run_dir: Path, written: list[Path]) -> str:
    assert written == [run_dir / name for name in (*PLOTS, "report.html")]
    for name in PLOTS:
        data = (run_dir / name).read_bytes()
        assert data.startswith(PNG_MAGIC), name
        assert len(data) < MAX_PNG_BYTES, (name, len(data))
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    for name in PLOTS:
        assert f'src="{name}"' in page
    assert "http://" not in page and "https://" not in page  # self-contained
    return page


def test_report_from_short_run(tmp_path: Path) -> None:
    run_dir = _make_run(tmp_path / "run", hours=2.5, trips_per_h=60)
    page = _check_outputs(run_dir, write_report(run_dir))
    assert "reference &lt;test&gt; &amp; co" in page  # scenario name escaped
    assert "<test>" not in page
    assert "breakdown" in page and "CN-YARD" in page and "97.1" in page
    assert "<table>" in page


def test_report_from_long_run_uses_excerpt(tmp_path: Path) -> None:
    run_dir = _make_run(tmp_path / "run", hours=16.0, trips_per_h=100)
    _check_outputs(run_dir, write_report(run_dir))


def test_report_with_empty_data(tmp_path: Path) -> None:
    empty_metrics = {
        "throughput_per_h": {"total": 0.0, "SOUTHBOUND": 0.0, "NORTHBOUND": 0.0},
        "bound_per_h": 100.0,
        "yard_to_yard_s": {"p50": None, "p95": None},
        "stations": {},
    }
    run_dir = _make_run(tmp_path / "run", hours=1.0, trips_per_h=0, metrics=empty_metrics)
    for name in ("occupancy.csv", "crossings.csv"):  # header only
        header = (run_dir / name).read_text().splitlines()[0]
        (run_dir / name).write_text(header + "\n")
    (run_dir / "queues.csv").write_text("")  # not even a header
    page = _check_outputs(run_dir, write_report(run_dir))
    assert "n/a" in page


def test_report_when_no_station_ever_queues(tmp_path: Path) -> None:
    run_dir = _make_run(tmp_path / "run", hours=1.0, trips_per_h=10)
    _write_csv(run_dir / "queues.csv", ["time_s", "station_id", "queue_len"], [[0, "CN-YARD", 0]])
    _check_outputs(run_dir, write_report(run_dir))


def test_report_without_csvs_or_map(tmp_path: Path) -> None:
    run_dir = tmp_path / "bare"
    run_dir.mkdir()
    (run_dir / "scenario.json").write_text(json.dumps({"scenario": "bare"}))
    (run_dir / "metrics.json").write_text(json.dumps({}))
    _check_outputs(run_dir, write_report(run_dir))


def test_summary_table_holds_key_numbers() -> None:
    table = summary_table(METRICS)
    for text in ("97.1", "52.0", "45.1", "100.0", "CN-YARD", "97.1 %", "99.5 %", "1.71"):
        assert text in table, text
    assert "10.2 min" in table and "22.0 min" in table  # 612 s and 1320 s
    assert "yes" in table
    lines = table.splitlines()
    top = [ln.split()[0] for ln in lines[lines.index("top 4 stations by utilisation") + 2 :]]
    assert top == ["CN-YARD", "VN-YARD", "VN-GATE-IN", "CN-SCANNER"]  # KM0-TOKEN is 5th
    cn_yard = next(ln for ln in lines if ln.strip().startswith("CN-YARD"))
    assert cn_yard.split() == ["CN-YARD", "95.0", "%", "1.2", "9"]


@pytest.mark.parametrize("metrics", [{}, {"stations": None, "throughput_per_h": None}])
def test_summary_table_tolerates_missing_keys(metrics: dict) -> None:
    table = summary_table(metrics)
    assert "n/a" in table and "no station data" in table


def test_summary_table_flags_corridor_not_empty() -> None:
    table = summary_table({**METRICS, "corridor_empty_at_close": False})
    assert "NO" in table.split()


def test_trajectories_run_from_entry_to_exit_node() -> None:
    lane_map = load_map(REF_MAP)
    rows = [
        {
            "resource_id": "S2",
            "resource_kind": "segment",
            "direction": "SOUTHBOUND",
            "enter_s": "0",
            "exit_s": "108",
        },
        {
            "resource_id": "S2",
            "resource_kind": "segment",
            "direction": "NORTHBOUND",
            "enter_s": "5",
            "exit_s": "",
        },
        {
            "resource_id": "P-S",
            "resource_kind": "node",
            "direction": "NORTHBOUND",
            "enter_s": "1",
            "exit_s": "4",
        },
        {
            "resource_id": "CN-YARD",
            "resource_kind": "station",
            "direction": "NORTHBOUND",
            "enter_s": "1",
            "exit_s": "4",
        },
    ]
    lines = _trajectories(rows, lane_map, end_s=3600.0)
    assert lines["SOUTHBOUND"] == [[(0.0, 1050.0), (108.0, 1650.0)]]  # P-N -> P-S
    assert lines["NORTHBOUND"] == [
        [(5.0, 1650.0), (3600.0, 1050.0)],
        [(1.0, 1650.0), (4.0, 1650.0)],
    ]


def test_space_time_excerpt_starts_at_busiest_hour() -> None:
    entries_s = [3.5 * 3600] * 10 + [0.5 * 3600] * 3
    assert _busiest_window_s(entries_s, (0.0, 2.5 * 3600)) == (0.0, 2.5 * 3600)  # short: all of it
    assert _busiest_window_s(entries_s, (0.0, 16 * 3600)) == (3 * 3600, 5 * 3600)
    assert _busiest_window_s([15.5 * 3600], (0.0, 16 * 3600)) == (14 * 3600, 16 * 3600)  # clamped
