"""The run submitter against a real rclpy ``SubmitRun`` service: answers, rejections, retries.

The service runs on its own executor thread, as a server in another process would, and answers
late on purpose for some runs: a request left unanswered past ``answer_timeout_s`` is sent
again, and a run that never gets an answer in time counts as unanswered, not as submitted.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest
import rclpy
from corridor_interfaces.srv import SubmitRun
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node

from corridor_core.iso6346 import with_check_digit
from corridor_core.runs import ContainerRun, Direction
from corridor_nodes.run_submitter import Outcome, RunSubmitter

SERVICE = "/test/run_submitter/submit_run"
TIMEOUT_S = 1.0  # the submitter's answer timeout
# How late the server answers a slow request: past the timeout, but the retry (queued behind
# it on the one-threaded server) is answered within the timeout of its own.
LATE_S = 1.5


class Server(Node):
    """Accepts runs, refuses ids starting with X; answers S-* late once, U-* late always."""

    def __init__(self) -> None:
        super().__init__("test_submit_server")
        self.seen: Counter[str] = Counter()
        self.create_service(SubmitRun, SERVICE, self._on_submit)

    def _on_submit(
        self, request: SubmitRun.Request, response: SubmitRun.Response
    ) -> SubmitRun.Response:
        run_id = request.run.run_id
        self.seen[run_id] += 1
        if run_id.startswith("U") or (run_id.startswith("S") and self.seen[run_id] == 1):
            time.sleep(LATE_S)
        response.accepted = not run_id.startswith("X")
        response.message = "accepted" if response.accepted else f"run {run_id} refused"
        return response


@pytest.fixture()
def nodes() -> Iterator[tuple[Server, Node]]:
    rclpy.init()
    server = Server()
    executor = SingleThreadedExecutor()
    executor.add_node(server)
    thread = threading.Thread(target=executor.spin, daemon=True)
    thread.start()
    client_node = Node("test_submit_client")
    try:
        yield server, client_node
    finally:
        executor.shutdown()
        thread.join(timeout=5)
        client_node.destroy_node()
        server.destroy_node()
        rclpy.try_shutdown()


def _run(run_id: str, serial: int) -> ContainerRun:
    number = with_check_digit(f"TEXU{serial:06d}")
    return ContainerRun(run_id, number, "Z-CN", "Z-VN", Direction.SOUTHBOUND)


def test_answers_are_checked_and_late_requests_sent_again(nodes: tuple[Server, Node]) -> None:
    server, client_node = nodes
    submitter = RunSubmitter(
        client_node.create_client(SubmitRun, SERVICE),
        window=1,
        answer_timeout_s=TIMEOUT_S,
        max_attempts=2,
        service_timeout_s=10,
    )
    for i, run_id in enumerate(["R-1", "S-2", "X-3", "R-5", "U-4"]):
        submitter.submit(_run(run_id, 100 + i))
    submitter.submit(_run("R-1", 100))  # the same run twice is submitted once
    deadline = time.monotonic() + 20
    while not submitter.idle() and time.monotonic() < deadline:
        submitter.pump()
        rclpy.spin_once(client_node, timeout_sec=0.02)

    answers = submitter.answers
    assert submitter.idle()
    assert {k: (a.outcome, a.attempts) for k, a in answers.items()} == {
        "R-1": (Outcome.ACCEPTED, 1),
        "S-2": (Outcome.ACCEPTED, 2),  # the first answer came too late; the retry got one
        "X-3": (Outcome.REJECTED, 1),
        "R-5": (Outcome.ACCEPTED, 1),
        "U-4": (Outcome.UNANSWERED, 2),
    }
    assert answers["X-3"].message == "run X-3 refused"
    assert submitter.summary() == "3 accepted, 1 rejected, 1 unanswered"
    assert submitter.refusals() == [
        "U-4 unanswered: no answer to 2 requests",
        "X-3 rejected: run X-3 refused",
    ]
    assert server.seen["S-2"] == 2 and server.seen["R-1"] == 1


def test_no_service_is_a_timeout_not_a_silent_loss(nodes: tuple[Server, Node]) -> None:
    _, client_node = nodes
    submitter = RunSubmitter(
        client_node.create_client(SubmitRun, "/test/run_submitter/nobody"), service_timeout_s=0.5
    )
    submitter.submit(_run("R-1", 100))
    with pytest.raises(TimeoutError, match="did not appear"):
        submitter.pump()
    assert (
        submitter.summary() == "0 accepted, 0 rejected, 0 unanswered, 1 still waiting for an answer"
    )
