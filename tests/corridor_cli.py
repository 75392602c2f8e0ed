"""Run the ``corridor`` command line as a user would, for the end-to-end tests."""

from __future__ import annotations

import subprocess
import sys


def run_corridor(*args: str, timeout_s: float = 240.0) -> subprocess.CompletedProcess[str]:
    """``corridor ARGS`` in a child process; fails the test (with the tail of its output)
    unless it exits 0."""
    cmd = [sys.executable, "-m", "corridor_nodes.cli", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done
