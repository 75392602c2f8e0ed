"""Test-session isolation: local-only DDS and a ROS domain id no other run on this machine holds.

Imported by pytest before any test module, so the environment is set before rclpy starts.
"""

import os

from corridor_nodes.ros_env import allocate_domain_id

os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
_DOMAIN_ID, _DOMAIN_LOCK = allocate_domain_id()
os.environ["ROS_DOMAIN_ID"] = str(_DOMAIN_ID)
