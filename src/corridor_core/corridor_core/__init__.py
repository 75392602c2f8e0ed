"""Corridor's pure core.

Everything the controller decides lives here, free of I/O libraries (no rclpy, paho, asyncua
or cv2; a test enforces it), so the ROS nodes and the simulator drive the same code.
"""
