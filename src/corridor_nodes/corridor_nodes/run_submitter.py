"""Runs into the ``SubmitRun`` service without losing any: few in flight, every answer checked.

Why a window: the service keeps requests in the ROS 2 default service QoS (reliable, KEEP_LAST
10). A burst of more requests than that, written while the server is still busy, overwrites the
oldest ones before the server takes them: they are never processed and their futures never
complete. That is how ``corridor run`` lost 11-12 of its 23 backlog runs. A request written
before the client has matched the service is dropped too. So the submitter waits for the
service before the first request, keeps at most ``window`` (< 10) requests in flight, checks
every answer, and sends a request again when no answer came within ``answer_timeout_s``. The
controllers answer an identical re-submission as accepted (``FleetController.submit``,
``Dispatcher.submit``), so a retry after a lost answer is safe.

The owner spins its node and calls :meth:`RunSubmitter.pump` after each spin; nothing here spins.
"""

from __future__ import annotations

import enum
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass

from corridor_interfaces.srv import SubmitRun
from rclpy.client import Client
from rclpy.task import Future

from corridor_core.runs import ContainerRun
from corridor_nodes import convert

# Below the depth (10) of the default service queue, so a burst never overwrites a request.
DEFAULT_WINDOW = 8


class Outcome(enum.Enum):
    """Where one run's submission stands."""

    PENDING = "pending"  # queued or in flight
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    UNANSWERED = "unanswered"  # no answer after every attempt


@dataclass
class Answer:
    """The outcome of one run's submission, the service's message, the requests sent."""

    outcome: Outcome = Outcome.PENDING
    message: str = ""
    attempts: int = 0


@dataclass
class _InFlight:
    run: ContainerRun
    future: Future
    sent_s: float


class RunSubmitter:
    """Submits runs through a ``SubmitRun`` client, at most ``window`` at a time.

    Args:
        client: the node's ``SubmitRun`` client.
        window: most requests in flight at once.
        answer_timeout_s: wall-clock seconds to wait for an answer before sending again.
        max_attempts: requests per run before it counts as unanswered.
        service_timeout_s: wall-clock seconds to wait for the service before the first request.
        clock: wall-clock seconds (monotonic), for tests.
    """

    def __init__(
        self,
        client: Client,
        *,
        window: int = DEFAULT_WINDOW,
        answer_timeout_s: float = 10.0,
        max_attempts: int = 3,
        service_timeout_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.window = window
        self.answer_timeout_s = answer_timeout_s
        self.max_attempts = max_attempts
        self.service_timeout_s = service_timeout_s
        self.clock = clock
        self.answers: dict[str, Answer] = {}
        self._queue: deque[ContainerRun] = deque()
        self._in_flight: dict[str, _InFlight] = {}
        self._service_seen = False

    def submit(self, run: ContainerRun) -> None:
        """Queue ``run``; :meth:`pump` sends it. A run id already submitted is ignored."""
        if run.run_id in self.answers:
            return
        self.answers[run.run_id] = Answer()
        self._queue.append(run)

    def pump(self) -> None:
        """Take the answers that came, re-send late requests, send queued runs into the window.

        Raises:
            TimeoutError: the service did not appear within ``service_timeout_s``.
        """
        self._collect()
        if self._queue and not self._service_seen:
            if not self.client.wait_for_service(timeout_sec=self.service_timeout_s):
                raise TimeoutError(
                    f"service {self.client.service_name} did not appear in "
                    f"{self.service_timeout_s:g} s; {len(self._queue)} runs not submitted"
                )
            self._service_seen = True
        while self._queue and len(self._in_flight) < self.window:
            run = self._queue.popleft()
            self.answers[run.run_id].attempts += 1
            request = SubmitRun.Request(run=convert.run_to_msg(run))
            self._in_flight[run.run_id] = _InFlight(
                run, self.client.call_async(request), self.clock()
            )

    def _collect(self) -> None:
        now_s = self.clock()
        for run_id, sent in list(self._in_flight.items()):
            answer = self.answers[run_id]
            if sent.future.done():
                del self._in_flight[run_id]
                response = sent.future.result()
                if response is None:  # cancelled: no answer
                    self._no_answer(sent, answer)
                else:
                    answer.message = response.message
                    answer.outcome = Outcome.ACCEPTED if response.accepted else Outcome.REJECTED
            elif now_s - sent.sent_s > self.answer_timeout_s:
                del self._in_flight[run_id]
                self.client.remove_pending_request(sent.future)
                self._no_answer(sent, answer)

    def _no_answer(self, sent: _InFlight, answer: Answer) -> None:
        if answer.attempts < self.max_attempts:
            self._queue.appendleft(sent.run)  # again, before the runs queued after it
        else:
            answer.outcome = Outcome.UNANSWERED
            answer.message = f"no answer to {answer.attempts} requests"

    def idle(self) -> bool:
        """Nothing queued and nothing in flight."""
        return not self._queue and not self._in_flight

    def counts(self) -> Counter[Outcome]:
        """How many runs stand at each outcome."""
        return Counter(a.outcome for a in self.answers.values())

    def summary(self) -> str:
        """``"23 accepted, 0 rejected, 0 unanswered"`` (and how many still wait, if any)."""
        counts = self.counts()
        settled = (Outcome.ACCEPTED, Outcome.REJECTED, Outcome.UNANSWERED)
        text = ", ".join(f"{counts[o]} {o.value}" for o in settled)
        if counts[Outcome.PENDING]:
            text += f", {counts[Outcome.PENDING]} still waiting for an answer"
        return text

    def refusals(self) -> list[str]:
        """``"<run id> <outcome>: <message>"`` for every run rejected or unanswered, sorted."""
        return [
            f"{run_id} {a.outcome.value}: {a.message}"
            for run_id, a in sorted(self.answers.items())
            if a.outcome in (Outcome.REJECTED, Outcome.UNANSWERED)
        ]
