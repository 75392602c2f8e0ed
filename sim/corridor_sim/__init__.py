"""Corridor simulation: the discrete-event corridor simulator and its gymnasium environment,
the checkpoint emulator (OPC UA server) and emulated VDA 5050 trucks (MQTT).

Importing this package registers the gymnasium environment ``corridor/Corridor-v0``, so
``gymnasium.make("corridor_sim:corridor/Corridor-v0")`` works (gymnasium 1.x does not load
entry-point plugins by itself).
"""

import gymnasium

ENV_ID = "corridor/Corridor-v0"

if ENV_ID not in gymnasium.registry:
    gymnasium.register(id=ENV_ID, entry_point="corridor_sim.gym_env:CorridorEnv")
