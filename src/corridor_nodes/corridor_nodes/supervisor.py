"""A small process supervisor: start the stack as separate processes, stop it cleanly.

(The ``launch`` package of ROS 2 is not on PyPI; ``launch/corridor.launch.py`` describes the
same processes for users with a full ROS 2 install.)
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Supervisor:
    """Starts named processes with one environment and log files in ``log_dir``."""

    log_dir: Path
    env: dict[str, str]
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        """Start ``argv`` as process ``name``; output goes to ``log_dir/name.log``."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = (self.log_dir / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            argv,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.procs[name] = proc
        return proc

    def dead(self) -> list[str]:
        """Names of processes that have exited."""
        return [name for name, proc in self.procs.items() if proc.poll() is not None]

    def log_tail(self, name: str, lines: int = 20) -> str:
        """The last lines of a process's log."""
        path = self.log_dir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, name: str, timeout_s: float = 5.0) -> int | None:
        """SIGINT, then SIGTERM, then SIGKILL the process group; returns the exit code."""
        proc = self.procs.pop(name, None)
        if proc is None:
            return None
        for sig, wait_s in (
            (signal.SIGINT, timeout_s),
            (signal.SIGTERM, 2.0),
            (signal.SIGKILL, 2.0),
        ):
            if proc.poll() is not None:
                break
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + wait_s
            while proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
        return proc.wait()

    def stop_all(self) -> dict[str, int | None]:
        """Stop every process, most recently started first."""
        return {name: self.stop(name) for name in reversed(list(self.procs))}
