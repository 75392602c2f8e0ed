"""ROS names and QoS shared by the nodes, the CLI and the tests."""

from __future__ import annotations

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

RUN_STATUS = "/corridor/runs/status"
VEHICLE_STATE = "/corridor/vehicles/state"
PLATE_READS = "/corridor/checkpoint/plate_reads"
MANIFESTS = "/corridor/checkpoint/manifests"
CLEARANCE = "/corridor/clearance"
SUBMIT_RUN = "/corridor/submit_run"
CANCEL_RUN = "/corridor/cancel_run"
CLEAR_VEHICLE = "/corridor/vehicles/clear"

# Reliable and latched (transient local) so a late subscriber still gets recent events.
EVENTS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST,
    depth=200,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.TRANSIENT_LOCAL,
)
