"""Discrete-event kernel: an event queue and multi-server stations.

Deterministic: events at the same instant run in the order they were scheduled (a counter breaks
heap ties), and every random draw comes from a ``numpy.random.Generator`` passed in.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Callback = Callable[..., None]


class EventQueue:
    """A clock and a heap of (time, tie-break, callback, args)."""

    def __init__(self, start_s: float = 0.0) -> None:
        self.now_s = start_s
        self._heap: list[tuple[float, int, Callback, tuple[Any, ...]]] = []
        self._counter = itertools.count()
        self.processed = 0

    def at(self, t_s: float, callback: Callback, *args: Any) -> None:
        """Run ``callback(*args)`` at ``t_s`` (never before now)."""
        heapq.heappush(self._heap, (max(t_s, self.now_s), next(self._counter), callback, args))

    def after(self, delay_s: float, callback: Callback, *args: Any) -> None:
        """Run ``callback(*args)`` ``delay_s`` seconds from now."""
        self.at(self.now_s + delay_s, callback, *args)

    def run_until(self, end_s: float) -> None:
        """Process events in time order until the next one is after ``end_s``; the clock then
        reads ``end_s``."""
        heap = self._heap
        while heap and heap[0][0] <= end_s:
            t, _, callback, args = heapq.heappop(heap)
            self.now_s = t
            self.processed += 1
            callback(*args)
        self.now_s = max(self.now_s, end_s)

    def empty(self) -> bool:
        """True when nothing is scheduled."""
        return not self._heap


@dataclass
class StationStats:
    """Time-weighted statistics of one station since ``since_s``."""

    since_s: float = 0.0
    busy_area: float = 0.0  # server-seconds in service
    queue_area: float = 0.0  # truck-seconds waiting
    last_s: float = 0.0
    served: int = 0
    queue_max: int = 0
    waits_s: list[float] = field(default_factory=list)


class Station:
    """``servers`` identical servers with one FIFO queue; can be closed (down) for a while.

    ``request(who, service_s, done)``: ``done(who, start_s, end_s)`` runs when the service ends;
    service starts when a server is free, the station is open, and everyone ahead has started.
    """

    def __init__(self, station_id: str, servers: int, events: EventQueue) -> None:
        self.station_id = station_id
        self.servers = servers
        self.events = events
        self.busy = 0
        self.queue: deque[tuple[Any, float, Callback, float]] = deque()
        self.closed_until_s = -math.inf
        self.stats = StationStats(since_s=events.now_s, last_s=events.now_s)

    def _account(self) -> None:
        now = self.events.now_s
        dt = now - self.stats.last_s
        if dt > 0:
            self.stats.busy_area += self.busy * dt
            self.stats.queue_area += len(self.queue) * dt
            self.stats.last_s = now

    def request(self, who: Any, service_s: float, done: Callback) -> None:
        """Queue ``who`` for one service of ``service_s`` seconds."""
        self._account()
        self.queue.append((who, service_s, done, self.events.now_s))
        self.stats.queue_max = max(self.stats.queue_max, len(self.queue))
        self._start()

    def close(self, until_s: float) -> None:
        """No new service starts before ``until_s`` (services under way finish)."""
        self.closed_until_s = max(self.closed_until_s, until_s)
        self.events.at(until_s, self._start)

    def _start(self) -> None:
        self._account()
        now = self.events.now_s
        while self.queue and self.busy < self.servers and now >= self.closed_until_s:
            who, service_s, done, queued_s = self.queue.popleft()
            self.busy += 1
            self.stats.waits_s.append(now - queued_s)
            self.events.after(service_s, self._finish, who, now, done)

    def _finish(self, who: Any, start_s: float, done: Callback) -> None:
        self._account()
        self.busy -= 1
        self.stats.served += 1
        done(who, start_s, self.events.now_s)
        self._start()

    @property
    def waiting(self) -> int:
        """Trucks queued, not in service."""
        return len(self.queue)

    def utilisation(self) -> float:
        """Mean share of servers busy since the statistics began."""
        self._account()
        span = self.stats.last_s - self.stats.since_s
        return self.stats.busy_area / (span * self.servers) if span > 0 else 0.0

    def queue_mean(self) -> float:
        """Time-averaged number waiting."""
        self._account()
        span = self.stats.last_s - self.stats.since_s
        return self.stats.queue_area / span if span > 0 else 0.0
