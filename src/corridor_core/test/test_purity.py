"""The core imports no I/O library: rclpy, paho, asyncua and cv2 stay out of corridor_core."""

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[1] / "corridor_core"
FORBIDDEN = {"rclpy", "paho", "asyncua", "cv2", "socket", "subprocess", "threading"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", sorted(CORE.glob("**/*.py")), ids=lambda p: p.name)
def test_core_module_imports_no_io_library(path: Path) -> None:
    assert not _imports(path) & FORBIDDEN


def test_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "bad.py"
    sample.write_text("import rclpy\nfrom paho.mqtt import client\n")
    assert _imports(sample) & FORBIDDEN == {"rclpy", "paho"}
