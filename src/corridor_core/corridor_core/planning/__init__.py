"""Planning core: conflict-free space-time routing, dispatch and re-planning.

- :mod:`.windows`: agreement windows as open intervals on the planner's clock (seconds).
- :mod:`.reservations`: the reservation table of every shared resource.
- :mod:`.router`: timed routes that respect every reservation and window.
- :mod:`.dispatch`: which truck carries which run, in which order.
- :mod:`.planner`: the planner state, its events and incremental re-planning.
- :mod:`.checker`: an independent check of a plan's safety invariants.
"""
