"""The process environment the nodes need: our built interfaces, local-only DDS, a domain id.

Our interface package is built by colcon into ``corridor_ws/install``; its Python package and
shared libraries must be on PYTHONPATH and LD_LIBRARY_PATH *before* Python starts (the dynamic
loader reads LD_LIBRARY_PATH once). :func:`reexec_with_ros_env` re-executes the current command
with that environment when it is missing, as ``source corridor_ws/env.sh`` would set it.
"""

from __future__ import annotations

import fcntl
import os
import random
import sys
import tempfile
from pathlib import Path
from typing import IO

READY_FLAG = "CORRIDOR_ROS_ENV"


def repo_root() -> Path:
    """The repository root (this package is installed editable from ``src/corridor_nodes``)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "corridor_ws").is_dir() and (parent / "maps").is_dir():
            return parent
    return Path.cwd()


def workspace_dir() -> Path:
    """The colcon workspace: $CORRIDOR_WS, else ``corridor_ws`` in the repository."""
    env = os.environ.get("CORRIDOR_WS")
    return Path(env) if env else repo_root() / "corridor_ws"


def _prepend(env: dict[str, str], key: str, *values: str) -> None:
    parts = [v for v in values if v]
    old = [p for p in env.get(key, "").split(os.pathsep) if p and p not in parts]
    env[key] = os.pathsep.join(parts + old)


def ros_env(base: dict[str, str] | None = None, domain_id: int | None = None) -> dict[str, str]:
    """A copy of ``base`` (default: this process's) set up for Corridor's ROS processes."""
    env = dict(os.environ if base is None else base)
    install = workspace_dir() / "install"
    site = sorted(install.glob("lib/python3*/site-packages"))
    _prepend(env, "PYTHONPATH", *(str(s) for s in site))
    _prepend(env, "LD_LIBRARY_PATH", str(install / "lib"))
    _prepend(env, "AMENT_PREFIX_PATH", str(install), sys.prefix)
    env.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    if domain_id is not None:
        env["ROS_DOMAIN_ID"] = str(domain_id)
    env[READY_FLAG] = "1"
    return env


def reexec_with_ros_env(module: str) -> None:
    """Re-run ``python -m module <args>`` with :func:`ros_env` unless it is already in place."""
    if os.environ.get(READY_FLAG):
        return
    install = workspace_dir() / "install"
    if not (install / "lib").is_dir():
        sys.exit(
            f"corridor: the ROS workspace is not built ({install} is missing); "
            "run `make test` or `make run` once to set everything up"
        )
    os.execve(sys.executable, [sys.executable, "-m", module, *sys.argv[1:]], ros_env())


def allocate_domain_id(low: int = 1, high: int = 100) -> tuple[int, IO[str]]:
    """Reserve a ROS_DOMAIN_ID no other Corridor process on this machine holds.

    Returns the id and an open lock file: the reservation lasts while the file stays open.
    Raises RuntimeError when every id in [low, high] is taken.
    """
    ids = list(range(low, high + 1))
    random.Random(os.getpid()).shuffle(ids)
    for domain_id in ids:
        path = Path(tempfile.gettempdir()) / f"corridor-ros-domain-{domain_id}.lock"
        handle = path.open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        return domain_id, handle
    raise RuntimeError(f"every ROS_DOMAIN_ID in {low}..{high} is in use on this machine")
