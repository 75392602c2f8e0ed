"""Shared plumbing of the node processes: spin one node until shutdown, log link status."""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node

from corridor_core.errors import CorridorError


def log_link_status(node: Node, connected: bool, text: str) -> None:
    """Log a link coming up (info) or going down (warning).

    rclpy forbids one call site logging at two severities, hence two calls.
    """
    if connected:
        node.get_logger().info(text)
    else:
        node.get_logger().warning(text)


def spin(make_node: Callable[[], Node], name: str, args: list[str] | None = None) -> int:
    """Init rclpy, build the node, spin until Ctrl-C / SIGINT, clean up; returns an exit code.

    A CorridorError while building the node (a bad map or fleet file, say) is printed as one
    line naming the input and exits 2.
    """
    rclpy.init(args=args)
    try:
        node = make_node()
    except CorridorError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        rclpy.try_shutdown()
        return 2
    # Start-up objects (map, plan tables, rclpy, paho) never die: keep them out of the cyclic
    # collector, whose full passes over them otherwise stall every thread for milliseconds.
    gc.freeze()
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0
