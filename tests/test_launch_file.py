"""The launch file starts the deployed nodes `corridor run` starts, by the names and parameter
files the stack uses (`launch` is not on PyPI, so the file is checked by reading it)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _nodes() -> list[dict[str, str]]:
    tree = ast.parse((ROOT / "launch" / "corridor.launch.py").read_text(encoding="utf-8"))
    nodes = []
    for call in ast.walk(tree):
        if isinstance(call, ast.Call) and getattr(call.func, "id", "") == "Node":
            nodes.append(
                {
                    k.arg: k.value.value
                    for k in call.keywords
                    if k.arg and isinstance(k.value, ast.Constant)
                }
            )
    return nodes


def test_the_launch_file_starts_the_deployed_controller_and_the_checkpoint_bridge() -> None:
    nodes = _nodes()
    assert {n["name"] for n in nodes} == {"corridor_vehicle_bridge", "corridor_checkpoint_bridge"}
    setup = (ROOT / "src" / "corridor_nodes" / "setup.py").read_text(encoding="utf-8")
    scripts = set(re.findall(r'"([a-z-]+) = corridor_nodes\.', setup))
    assert {n["executable"] for n in nodes} <= scripts
    stack = (ROOT / "src" / "corridor_nodes" / "corridor_nodes" / "stack.py").read_text()
    for node in nodes:  # the stack writes DIR/params/<node name>.yaml for each of them
        assert f'"{node["name"]}"' in stack, node["name"]
