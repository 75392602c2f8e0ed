"""Corridor's adapters: the MQTT broker and VDA 5050 link (paho), the OPC UA checkpoint client.

Adapters decode on their library's thread and only enqueue; the node that owns the core drains
the queue on its own executor (never call the core from a paho or asyncua callback).
"""
