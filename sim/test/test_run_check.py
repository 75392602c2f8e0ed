"""Tests of the independent run-directory checker (``corridor_sim.run_check``).

Every test writes a real run directory in ``tmp_path`` with the repository's reference map and
agreement. The epoch is 2027-03-01 00:00 ICT (UTC+7), so the two-way-2027 window is
21600-79200 s (06:00-22:00 ICT) on day 0, last entry toward km 0 at 78300 s.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from pathlib import Path

import pytest
import yaml

from corridor_core.runs import Direction
from corridor_sim.run_check import Violation, check_run, close_instants, load_inputs, main

REPO = Path(__file__).resolve().parents[2]
MAP = REPO / "maps" / "tan-thanh-puzhai-2027.yaml"
AGREEMENT = REPO / "config" / "agreements" / "two-way-2027.yaml"
EPOCH = "2027-03-01T00:00:00+07:00"
OPEN_S, CLOSE_S = 21600.0, 79200.0
SB, NB = "SOUTHBOUND", "NORTHBOUND"
OCC_HEADER = "vehicle_id,resource_id,resource_kind,direction,enter_s,exit_s"
CROSS_HEADER = "container_id,vehicle_id,direction,clearance_s,border_s"

# Resource, kind, seconds held, seconds from entry to the next resource's entry. A node's
# station visit starts as the truck reaches the node and ends before it leaves.
SOUTH_ROUTE = [
    ("Y-CN", "segment", 20, 20),
    ("G-CN", "node", 25, 0),
    ("CN-GATE-OUT", "station", 20, 25),
    ("S1", "segment", 120, 120),
    ("P-N", "node", 5, 5),
    ("S2", "segment", 100, 100),
    ("P-S", "node", 5, 5),
    ("S3", "segment", 100, 100),
    ("B0", "node", 10, 0),
    ("KM0-TOKEN", "station", 5, 10),
    ("S4a", "segment", 45, 45),
    ("PB", "node", 5, 5),
    ("S4b", "segment", 45, 45),
    ("G-VN", "node", 30, 0),
    ("VN-GATE-IN", "station", 30, 30),
    ("S5", "segment", 60, 60),
]
NORTH_ROUTE = [
    ("S5", "segment", 60, 60),
    ("G-VN", "node", 30, 0),
    ("VN-GATE-OUT", "station", 30, 30),
    ("S4b", "segment", 45, 45),
    ("PB", "node", 5, 5),
    ("S4a", "segment", 45, 45),
    ("B0", "node", 10, 0),
    ("KM0-TOKEN", "station", 5, 10),
    ("S3", "segment", 100, 100),
    ("P-S", "node", 5, 5),
    ("S2", "segment", 100, 100),
    ("P-N", "node", 5, 5),
    ("S1", "segment", 120, 120),
    ("G-CN", "node", 50, 0),
    ("CN-GATE-IN", "station", 20, 20),
    ("CN-SCANNER", "station", 24, 30),
    ("Y-CN", "segment", 20, 20),
]
BORDER_OFFSET_S = {SB: 0.0, NB: 0.0}  # filled below: seconds from start to reaching B0
for _name, _route in ((SB, SOUTH_ROUTE), (NB, NORTH_ROUTE)):
    _t = 0.0
    for _rid, _kind, _held, _step in _route:
        if _rid == "B0":
            BORDER_OFFSET_S[_name] = _t
        _t += _step
ROUTE_S = 700.0  # longer than either route


def trip(vehicle: str, direction: str, start_s: float) -> list[str]:
    """The occupancy rows of one truck driving the whole corridor from ``start_s``."""
    rows, t = [], start_s
    for rid, kind, held, step in SOUTH_ROUTE if direction == SB else NORTH_ROUTE:
        rows.append(f"{vehicle},{rid},{kind},{direction},{t:g},{t + held:g}")
        t += step
    return rows


def crossing(container: str, vehicle: str, direction: str, start_s: float) -> str:
    """The crossing row of a container on a truck that started its trip at ``start_s``."""
    border_s = start_s + BORDER_OFFSET_S[direction] + 5
    return f"{container},{vehicle},{direction},{start_s - 600:g},{border_s:g}"


def write_run(
    tmp_path: Path,
    occupancy: list[str],
    crossings: list[str],
    agreement: Path | None = AGREEMENT,
    epoch: str = EPOCH,
    end_s: float = 86400.0,
) -> Path:
    """A complete run directory holding these CSV rows (headers added)."""
    run = tmp_path / "run"
    run.mkdir(parents=True)
    shutil.copy(MAP, run / "map.yaml")
    if agreement is not None:
        shutil.copy(agreement, run / "agreement.yaml")
    scenario = {
        "scenario": "test",
        "map_file": "map.yaml",
        "agreement_file": "agreement.yaml" if agreement is not None else None,
        "epoch": epoch,
        "start_s": 0.0,
        "end_s": end_s,
        "preset": "test",
        "controller": "none",
        "seed": 1,
        "fleet": 4,
        "disruptions": [],
    }
    (run / "scenario.json").write_text(json.dumps(scenario), encoding="utf-8")
    (run / "occupancy.csv").write_text("\n".join([OCC_HEADER, *occupancy]) + "\n")
    (run / "crossings.csv").write_text("\n".join([CROSS_HEADER, *crossings]) + "\n")
    return run


def clean_rows() -> tuple[list[str], list[str]]:
    """Two southbound trucks in a platoon, then two northbound ones through the tunnel."""
    t0 = OPEN_S + 3600
    occupancy = trip("T1", SB, t0) + trip("T2", SB, t0 + 30)
    occupancy += trip("T3", NB, t0 + ROUTE_S) + trip("T4", NB, t0 + ROUTE_S + 30)
    crossings = [
        crossing("MSKU1234565", "T1", SB, t0),
        crossing("MSKU7654321", "T1", SB, t0),  # a 2 x 20' load: two rows
        crossing("CSQU3054383", "T2", SB, t0 + 30),
        crossing("TGHU1111111", "T3", NB, t0 + ROUTE_S),
    ]
    return occupancy, crossings


def rules(violations: list[Violation]) -> list[str]:
    return sorted({v.rule for v in violations})


def only(violations: list[Violation], rule: str) -> list[Violation]:
    assert violations, "expected a violation"
    assert rules(violations) == [rule], violations
    return violations


def test_clean_directory_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = write_run(tmp_path, *clean_rows())
    assert check_run(run) == []
    assert main([str(run)]) == 0
    assert capsys.readouterr().out.strip() == "OK: 66 occupancy rows, 4 crossings checked"


def test_opposite_directions_overlap_in_tunnel(tmp_path: Path) -> None:
    occupancy = [
        f"T1,S2,segment,{SB},30000,30100",
        f"T9,S2,segment,{NB},30050,30150",
        f"T5,S1,segment,{NB},30000,30100",  # two-way dual: both ways at once is fine
        f"T6,S1,segment,{SB},30000,30100",
    ]
    found = only(check_run(write_run(tmp_path, occupancy, [])), "opposite_directions")
    assert len(found) == 1
    assert "S2" in found[0].detail and "T1" in found[0].detail and "T9" in found[0].detail
    assert "overlaps" in found[0].detail


def test_opposite_directions_all_clear_and_touching(tmp_path: Path) -> None:
    occupancy = [
        f"T1,S2,segment,{SB},30000,30100",
        f"T2,S2,segment,{SB},30010,30110",  # same direction: a convoy is fine
        f"T9,S2,segment,{NB},30115,30215",  # 5 s after T2 left; all_clear_s is 10
        f"T3,S4a,segment,{SB},40000,40045",
        f"T8,S4a,segment,{NB},40053,40098",  # exactly all_clear_s 8 later: fine
    ]
    found = only(check_run(write_run(tmp_path, occupancy, [])), "opposite_directions")
    assert len(found) == 1
    assert "S2" in found[0].detail and "T9" in found[0].detail and "T2" in found[0].detail
    assert "clear_s=10" in found[0].detail


def test_opposite_directions_zero_length_rows(tmp_path: Path) -> None:
    occupancy = [
        f"T1,S2,segment,{SB},30000,31000",
        f"T2,S2,segment,{SB},30010,30020",
        f"T9,S2,segment,{NB},30500,30500",  # an instant inside T1's stay
        f"T3,S2,segment,{NB},40000,40100",
        f"T8,S2,segment,{SB},40000,40000",  # same entry instant, inside all_clear_s
    ]
    found = only(check_run(write_run(tmp_path, occupancy, [])), "opposite_directions")
    assert len(found) == 2
    assert "T9" in found[0].detail and "T1" in found[0].detail
    assert "T8" in found[1].detail and "T3" in found[1].detail


def expected_capacity(resource: str, kind: str) -> int:
    """The capacity rule computed from the raw map YAML, so that edits to the shared map keep
    the test meaningful. With the 2027 reference map: P-N 6 slots; B0 3 slots + 3 token desks;
    G-CN its slots + 2 + 2 + 1 gate and scanner servers; Y-CN floor(50 / (17 + 5)) + 1 = 3."""
    doc = yaml.safe_load(MAP.read_text(encoding="utf-8"))
    if kind == "station":
        return next(int(s["servers"]) for s in doc["stations"] if s["id"] == resource)
    if kind == "node":
        slots = next(n.get("holding_slots", 0) for n in doc["nodes"] if n["id"] == resource)
        return slots + sum(s["servers"] for s in doc["stations"] if s["node"] == resource)
    seg = next(s for s in doc["segments"] if s["id"] == resource)
    gap_m = (seg.get("following_rule") or doc["following_rule"])["standstill_gap_m"]
    truck_m = min(v["length_m"] for v in doc["vehicle_classes"])
    return (math.floor(seg["length_m"] / (truck_m + gap_m)) + 1) * seg.get("lanes_per_direction", 1)


@pytest.mark.parametrize(
    ("resource", "kind"),
    [
        ("P-N", "node"),
        ("G-CN", "node"),
        ("B0", "node"),
        ("CN-SCANNER", "station"),
        ("KM0-TOKEN", "station"),
        ("Y-CN", "segment"),
        ("S2", "segment"),
    ],
)
def test_over_capacity(tmp_path: Path, resource: str, kind: str) -> None:
    allowed = expected_capacity(resource, kind)
    at_capacity = [f"V{i},{resource},{kind},{SB},{30000 + i},{30500 + i}" for i in range(allowed)]
    opposite = []  # on a two-way-dual segment the bound is per direction: each has its lane
    if resource == "Y-CN":
        opposite = [f"N{i},{resource},{kind},{NB},30000,30100" for i in range(allowed)]
    assert check_run(write_run(tmp_path / "ok", at_capacity + opposite, [])) == []
    one_more = [*at_capacity, f"EXTRA,{resource},{kind},{SB},30200,30300"]
    found = only(check_run(write_run(tmp_path / "bad", one_more, [])), "over_capacity")
    assert len(found) == 1
    assert resource in found[0].detail and "EXTRA" in found[0].detail
    assert f"capacity {allowed}" in found[0].detail


def test_capacity_touching_rows_and_yards(tmp_path: Path) -> None:
    occupancy = [
        f"V{i},CN-SCANNER,station,{NB},{30000 + 24 * i},{30024 + 24 * i}" for i in range(5)
    ]
    occupancy += [f"Y{i},Z-CN,node,{NB},30000,40000" for i in range(50)]  # yards: unlimited
    assert check_run(write_run(tmp_path, occupancy, [])) == []


def test_capacity_reports_each_excursion(tmp_path: Path) -> None:
    occupancy = [
        f"X1,CN-SCANNER,station,{NB},30000,30024",
        f"X2,CN-SCANNER,station,{NB},30010,30030",
        f"X5,CN-SCANNER,station,{NB},30012,30020",  # same excursion: not reported again
        f"X3,CN-SCANNER,station,{NB},31000,31024",
        f"X4,CN-SCANNER,station,{NB},31020,31030",
    ]
    found = only(check_run(write_run(tmp_path, occupancy, [])), "over_capacity")
    assert [("X2" in v.detail, "X4" in v.detail) for v in found] == [(True, False), (False, True)]


def test_crossing_before_clearance(tmp_path: Path) -> None:
    crossings = [
        f"MSKU1234565,T1,{SB},30000,29999",
        f"CSQU3054383,T2,{SB},,30000",
        f"TGHU1111111,T3,{NB},inf,30000",
        f"MSKU7654321,T4,{SB},30000,30000",  # crossing at the clearance instant is fine
    ]
    found = only(check_run(write_run(tmp_path, [], crossings)), "crossing_before_clearance")
    assert len(found) == 3
    assert "MSKU1234565" in found[0].detail and "T1" in found[0].detail
    assert "CSQU3054383" in found[1].detail and "never" in found[1].detail
    assert "TGHU1111111" in found[2].detail


def test_crossing_outside_window(tmp_path: Path) -> None:
    crossings = [
        f"MSKU1234565,T1,{SB},0,{OPEN_S - 60:g}",  # 05:59 ICT
        f"CSQU3054383,T2,{NB},0,{CLOSE_S - 600:g}",  # 21:50: past last entry, before close: ok
        f"TGHU1111111,T3,{NB},0,{CLOSE_S:g}",  # closes are exclusive
        f"MSKU7654321,T4,{SB},0,{OPEN_S:g}",  # openings are inclusive
    ]
    found = only(check_run(write_run(tmp_path, [], crossings)), "crossing_outside_window")
    assert len(found) == 2
    assert "MSKU1234565" in found[0].detail and "T1" in found[0].detail
    assert "TGHU1111111" in found[1].detail


def test_crossing_outside_window_other_clock_and_holiday(tmp_path: Path) -> None:
    # The same instant as 05:59 ICT written in China Standard Time (UTC+8).
    cst = "2027-03-01T01:00:00+08:00"
    crossings = [f"MSKU1234565,T1,{SB},0,{OPEN_S - 60:g}", f"CSQU3054383,T2,{SB},0,{OPEN_S:g}"]
    found = only(
        check_run(write_run(tmp_path, [], crossings, epoch=cst)), "crossing_outside_window"
    )
    assert len(found) == 1 and "MSKU1234565" in found[0].detail
    (tmp_path / "holiday").mkdir()
    holiday = write_run(
        tmp_path / "holiday",
        [],
        [f"MSKU1234565,T1,{SB},0,43200"],
        epoch="2027-02-06T00:00:00+07:00",
    )
    found = only(check_run(holiday), "crossing_outside_window")
    assert "holiday" in found[0].detail


def test_no_agreement_means_always_open(tmp_path: Path) -> None:
    occupancy = [f"T1,S3,segment,{SB},{CLOSE_S - 50:g},{CLOSE_S + 50:g}"]
    crossings = [f"MSKU1234565,T1,{SB},0,{CLOSE_S + 10:g}"]
    assert check_run(write_run(tmp_path, occupancy, crossings, agreement=None)) == []


def test_lane_not_empty_at_close(tmp_path: Path) -> None:
    occupancy = [
        f"T1,S3,segment,{SB},{CLOSE_S - 50:g},{CLOSE_S + 50:g}",
        f"T2,P-S,node,{NB},{CLOSE_S - 5:g},{CLOSE_S + 5:g}",
        f"T3,S5,segment,{SB},{CLOSE_S - 60:g},{CLOSE_S:g}",  # leaves at the close: fine
        f"T4,Z-VN,node,{SB},{CLOSE_S - 60:g},{CLOSE_S + 60:g}",  # in the yard: fine
        f"T5,VN-YARD,station,{NB},{CLOSE_S - 60:g},{CLOSE_S + 60:g}",  # yard crane: fine
        f"T6,S1,segment,{NB},{CLOSE_S:g},{CLOSE_S + 60:g}",  # starts at the close: spans none
    ]
    found = only(check_run(write_run(tmp_path, occupancy, [])), "lane_not_empty_at_close")
    assert len(found) == 2
    assert "S3" in found[0].detail and "T1" in found[0].detail and "79200" in found[0].detail
    assert "P-S" in found[1].detail and "T2" in found[1].detail


AGREEMENT_ACROSS_MIDNIGHT = """\
name: night-cst
version: 1
time_zone: Asia/Ho_Chi_Minh
valid_from: 2027-01-01
valid_until: 2027-12-31
max_trucks_on_lane: 10
corridor_empty_at_close: true
windows:
  - {id: night, directions: [SOUTHBOUND, NORTHBOUND], time_zone: Asia/Shanghai,
     open: "20:00", close: "02:00", last_entry_margin_min: 15}
  - {id: late-north, directions: [NORTHBOUND], time_zone: Asia/Shanghai,
     open: "02:00", close: "04:00", last_entry_margin_min: 15}
blackouts:
  - {id: shift, time_zone: Asia/Ho_Chi_Minh, open: "23:00", close: "23:30"}
holidays:
  - {date: 2027-03-02, time_zone: Asia/Ho_Chi_Minh, name: test day}
sign_off:
  - {party: VN, authority: a, signed_by: "", signed_on: null}
  - {party: CN, authority: b, signed_by: "", signed_on: null}
"""


def test_closes_across_midnight_in_another_clock(tmp_path: Path) -> None:
    path = tmp_path / "night.yaml"
    path.write_text(AGREEMENT_ACROSS_MIDNIGHT)
    run = write_run(tmp_path / "a", [], [], agreement=path, end_s=2 * 86400)
    # Epoch 00:00 ICT = 01:00 CST. Southbound closes 02:00 CST = 01:00 ICT (3600 s) while
    # northbound goes on until 03:00 ICT (10800 s); the blackout closes both at 23:00 ICT
    # (82800 s), the holiday at 00:00 ICT on 2 March (86400 s) and keeps them closed that day.
    closes = close_instants(load_inputs(run))
    assert closes == {
        3600.0: {Direction.SOUTHBOUND},
        10800.0: {Direction.SOUTHBOUND, Direction.NORTHBOUND},
        82800.0: {Direction.SOUTHBOUND, Direction.NORTHBOUND},
        86400.0: {Direction.SOUTHBOUND, Direction.NORTHBOUND},
    }
    occupancy = [
        f"T1,S2,segment,{SB},3500,3700",
        f"T2,S1,segment,{NB},3550,3650",  # northbound may stay: its window goes on (no close)
        f"T3,S3,segment,{NB},10790,10810",
        f"T4,S3,segment,{SB},82900,83000",  # inside the blackout: no close spanned
    ]
    found = only(
        check_run(write_run(tmp_path / "b", occupancy, [], agreement=path)),
        "lane_not_empty_at_close",
    )
    assert len(found) == 2
    assert "T1" in found[0].detail and "3600" in found[0].detail
    assert "T3" in found[1].detail and "10800" in found[1].detail


def test_closes_of_shipped_24x7_agreement_and_end_of_validity(tmp_path: Path) -> None:
    agreement = REPO / "config" / "agreements" / "design-24x7.yaml"
    run = write_run(tmp_path, [], [], agreement=agreement, epoch="2030-12-31T12:00:00+07:00")
    # 24 h window in CST: no close at CST midnight; blackout 18:00 ICT (21600 s); validity ends
    # 2031-01-01 00:00 ICT (43200 s), so the 06:00 blackout next day closes nothing.
    assert sorted(close_instants(load_inputs(run))) == [21600.0, 43200.0]


AGREEMENT_DST = AGREEMENT_ACROSS_MIDNIGHT.replace("Asia/Shanghai", "Europe/Berlin")


def test_closes_on_a_daylight_saving_day(tmp_path: Path) -> None:
    path = tmp_path / "dst.yaml"
    path.write_text(AGREEMENT_DST.replace('close: "02:00"', 'close: "22:00"'))
    # Berlin moves to summer time at 02:00 on 28 March 2027: the 22:00 close is 20:00 UTC,
    # 75600 s after an epoch of 00:00 CET (23:00 UTC the day before).
    run = write_run(tmp_path, [], [], agreement=path, epoch="2027-03-28T00:00:00+01:00")
    closes = close_instants(load_inputs(run))
    assert closes[75600.0] == {Direction.SOUTHBOUND, Direction.NORTHBOUND}


def test_garbled_rows_are_bad_rows(tmp_path: Path) -> None:
    occupancy, crossings = clean_rows()
    occupancy += [
        "T1,S2,segment",  # too few fields
        f"T1,S2,segment,{SB},abc,30100",
        f"T1,S2,segment,{SB},nan,30100",
        f"T1,S2,segment,{SB},30100,30000",  # exit before enter
        f"T1,S9,segment,{SB},30000,30100",  # unknown id
        f"T1,S2,node,{SB},30000,30100",  # S2 is no node
        f"T1,S2,lane,{SB},30000,30100",  # unknown kind
        "T1,S2,segment,EASTBOUND,30000,30100",
        '"T1,S2,segment,,,',  # unbalanced quote
        "\x00\xff\ufffd garbage",
    ]
    crossings += ["MSKU1234565,T1,WESTBOUND,0,30000", "MSKU1234565,T1", "C,T1,SOUTHBOUND,0,never"]
    run = write_run(tmp_path, occupancy, crossings)
    found = only(check_run(run), "bad_row")
    assert len(found) == 13
    assert any("S9" in v.detail for v in found)
    assert any("EASTBOUND" in v.detail for v in found)
    assert any("crossings.csv line 7" in v.detail for v in found)
    assert main([str(run)]) == 1


def test_bad_rows_do_not_hide_real_violations(tmp_path: Path) -> None:
    occupancy = ["garbled", f"T1,S2,segment,{SB},30000,30100", f"T9,S2,segment,{NB},30050,30150"]
    assert rules(check_run(write_run(tmp_path, occupancy, []))) == [
        "bad_row",
        "opposite_directions",
    ]


def test_unreadable_directory_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = write_run(tmp_path, *clean_rows())
    (run / "crossings.csv").unlink()
    assert main([str(run)]) == 2
    assert "crossings.csv" in capsys.readouterr().err
    (run / "crossings.csv").write_text("container_id,vehicle_id\n")
    assert main([str(run)]) == 2
    assert "border_s" in capsys.readouterr().err
    (run / "crossings.csv").write_text(CROSS_HEADER + "\n")
    scenario = json.loads((run / "scenario.json").read_text())
    (run / "scenario.json").write_text(json.dumps({**scenario, "epoch": "2027-03-01T00:00:00"}))
    assert main([str(run)]) == 2
    assert "scenario.json" in capsys.readouterr().err
    (run / "scenario.json").write_text(json.dumps(scenario))
    (run / "agreement.yaml").write_text("name: [")
    assert main([str(run)]) == 2
    assert "agreement.yaml" in capsys.readouterr().err


def test_violations_exit_1_and_print(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = write_run(tmp_path, [], [f"MSKU1234565,T1,{SB},30000,29999"])
    assert main([str(run)]) == 1
    assert capsys.readouterr().out.startswith("crossing_before_clearance: ")


def test_100k_generated_rows_are_clean(tmp_path: Path) -> None:
    """Platoons of five trucks, alternating direction every 900 s inside the daily window."""
    occupancy: list[str] = []
    crossings: list[str] = []
    day, slot, n = 0, 0, 0
    while len(occupancy) < 100_000:
        start = day * 86400 + OPEN_S + slot * 900
        if start + ROUTE_S + 200 > day * 86400 + CLOSE_S:
            day, slot = day + 1, 0
            continue
        direction = SB if slot % 2 == 0 else NB
        for i in range(5):
            occupancy += trip(f"T{n % 40}", direction, start + 30 * i)
            crossings.append(crossing(f"C{n}", f"T{n % 40}", direction, start + 30 * i))
            n += 1
        slot += 1
    run = write_run(tmp_path, occupancy, crossings, end_s=(day + 1) * 86400)
    started = time.perf_counter()
    assert check_run(run) == []
    elapsed_s = time.perf_counter() - started
    print(f"checked {len(occupancy)} rows in {elapsed_s:.2f} s")
