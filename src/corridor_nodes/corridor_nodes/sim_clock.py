"""The harness's accelerated clock: one start instant and one rate for every process of a run.

``corridor run`` and the tests pick an origin on the wall clock (Unix seconds) when they start
the stack. From it, at ``time_scale`` simulated seconds per wall-clock second:

* this process publishes ``/clock`` (``rosgraph_msgs/Clock``): the instant ``start`` plus the
  simulated seconds since the origin, which the nodes read with ``use_sim_time``;
* the emulated trucks get the same origin and rate (``--clock-origin``, ``--time-scale``);
* the harness itself counts scenario time with :meth:`SimClock.sim_s`.

So the controller's clock (seconds since its ``start_time``), the trucks' clock and the
harness's timeline are one clock. Run: ``python -m corridor_nodes.sim_clock --start ISO
--origin UNIX_S --time-scale X``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from dataclasses import dataclass

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class SimClock:
    """An accelerated clock.

    Attributes:
        start: aware instant that simulated second 0 stands for.
        origin_wall_s: Unix time (``time.time()``) of simulated second 0.
        time_scale: simulated seconds per wall-clock second.
    """

    start: dt.datetime
    origin_wall_s: float
    time_scale: float

    def sim_s(self, wall_s: float | None = None) -> float:
        """Simulated seconds since the origin at Unix time ``wall_s`` (default: now)."""
        wall = time.time() if wall_s is None else wall_s
        return (wall - self.origin_wall_s) * self.time_scale

    def ros_ns(self, wall_s: float | None = None) -> int:
        """The ``/clock`` value at ``wall_s``: nanoseconds since 1970 of start + sim_s."""
        start_ns = (self.start - EPOCH) // dt.timedelta(microseconds=1) * 1000
        return start_ns + round(self.sim_s(wall_s) * 1e9)

    def instant(self, sim_s: float) -> dt.datetime:
        """The aware instant of simulated second ``sim_s``."""
        return self.start + dt.timedelta(seconds=sim_s)


def main(argv: list[str] | None = None) -> int:
    """Publish ``/clock`` every ``--period`` wall-clock seconds until SIGINT / SIGTERM."""
    import signal

    import rclpy
    from builtin_interfaces.msg import Time
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from rosgraph_msgs.msg import Clock

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", required=True, help="ISO 8601 instant of simulated second 0")
    parser.add_argument("--origin", type=float, required=True, help="Unix time of second 0")
    parser.add_argument("--time-scale", type=float, required=True)
    parser.add_argument("--period", type=float, default=0.01, help="wall seconds between ticks")
    args = parser.parse_args(argv)
    clock = SimClock(dt.datetime.fromisoformat(args.start), args.origin, args.time_scale)
    rclpy.init(args=[])
    node = rclpy.create_node("corridor_clock")
    # the subscribers' (rclpy TimeSource) profile: best effort, latest only
    pub = node.create_publisher(
        Clock, "/clock", QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT)
    )
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    try:
        while not stop:
            ns = clock.ros_ns()
            pub.publish(Clock(clock=Time(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)))
            time.sleep(args.period)
    except KeyboardInterrupt:
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
