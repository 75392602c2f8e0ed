"""The project's exception hierarchy. Adapters raise only these."""

from __future__ import annotations


class CorridorError(Exception):
    """Base of every error Corridor raises on purpose."""


class ConfigError(CorridorError):
    """A configuration file (map, fleet, agreement) breaks a rule.

    The message names the file, the path inside it and the rule, e.g.
    ``maps/x.yaml: segments[3].length_m must be > 0``.
    """

    def __init__(self, source: str, path: str, rule: str) -> None:
        self.source = source
        self.path = path
        self.rule = rule
        where = f"{source}: {path}" if path else source
        super().__init__(f"{where} {rule}" if path else f"{where}: {rule}")


class IdentityError(CorridorError):
    """A container number, plate or seal id is malformed."""


class ProtocolError(CorridorError):
    """A message on the wire (VDA 5050 JSON, OPC UA record) is malformed or breaks the protocol."""
