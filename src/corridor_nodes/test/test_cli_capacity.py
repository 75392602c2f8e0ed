"""``corridor capacity`` as a user runs it: a real process, table and JSON output, errors."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _corridor(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "corridor_nodes.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def test_table_names_the_binding_element() -> None:
    result = _corridor("capacity", "maps/tan-thanh-puzhai-2027.yaml")
    assert result.returncode == 0, result.stderr
    assert "Binding bound:" in result.stdout and "set by CN-YARD" in result.stdout


def test_json_has_the_documented_keys() -> None:
    result = _corridor("capacity", "maps/tan-thanh-puzhai-2027.yaml", "--agreement",
                       "two-way-2027", "--fleet", "30", "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {"binding_bound_per_h", "binding_element", "elements"} <= set(data)
    assert data["fleet_size"] == 30
    assert data["containers_per_day"] > 0
    assert any(e["id"] == data["binding_element"] for e in data["elements"])


def test_broken_map_is_one_clear_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nfollowing_rule: {standstill_gap_m: 5, time_gap_s: 2}\n")
    result = _corridor("capacity", str(bad))
    assert result.returncode == 2
    assert result.stderr.strip() == f"corridor capacity: {bad}: vehicle_classes is required"
