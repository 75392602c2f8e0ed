"""End to end: a truck that refuses ``trigger`` does not stop the corridor.

The whole stack in separate processes (real broker, OPC UA server, ROS nodes, emulated trucks),
the stress workload at x50, and one emulated truck that answers every ``trigger`` with FAILED
(``--fault T01:refuse_trigger``): its waitForTrigger keeps it at its checkpoint gate. The
controller must fail that run with the truck's refusal, cancel its order, give it no further
run, and keep the other trucks delivering.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from corridor_links.recorder import read_records

from .corridor_cli import run_corridor

pytestmark = pytest.mark.e2e


def test_a_truck_refusing_trigger_fails_its_run_and_the_others_deliver(tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    done = run_corridor(
        # 50 minutes: T01 may first drive empty and reach a gate with a load only later
        "run", "--preset", "stress", "--minutes", "50", "--seed", "4",
        "--record", str(rec), "--run-dir", str(tmp_path / "run"),
        "--fault", "T01:refuse_trigger",
    )  # fmt: skip
    failed = [line for line in done.stdout.splitlines() if "refused trigger" in line]
    assert failed and "FAILED" in failed[0], done.stdout[-3000:]
    refused_at, refused_order, cancelled = None, "", False
    later_orders, drops_after = [], 0
    for r in read_records(rec / "mqtt.jsonl"):
        parts, body = r["topic"].split("/"), r["payload"]
        if len(parts) < 5 or not isinstance(body, dict):
            continue
        serial, name = parts[3], parts[4]
        if name == "state" and serial == "T01" and refused_at is None:
            for a in body.get("actionStates", []):
                if ":trigger:" in a.get("actionId", "") and a.get("actionStatus") == "FAILED":
                    refused_at, refused_order = r["t"], body["orderId"]
        elif refused_at is not None and name == "instantActions" and serial == "T01":
            cancelled |= any(a["actionType"] == "cancelOrder" for a in body["actions"])
        elif refused_at is not None and name == "order" and serial == "T01":
            if body["orderId"] != refused_order and not body["orderId"].endswith("-empty"):
                later_orders.append(body["orderId"])
        elif refused_at is not None and name == "state" and serial != "T01":
            drops_after += sum(
                1
                for a in body.get("actionStates", [])
                if a.get("actionId", "").endswith(":drop") and a.get("actionStatus") == "FINISHED"
            )
    assert refused_at is not None, "T01 never refused a trigger"
    assert cancelled, "the refused order was not cancelled"
    assert not later_orders, f"T01 was given runs after refusing: {later_orders}"
    assert drops_after > 0, "nobody delivered after the refusal"
