"""Container seal identifiers (ISO 17712 mechanical seals, ISO 18185 e-seals).

A seal id is an issuer/manufacturer code of 2 to 4 letters and a serial of 5 to 12 digits,
optionally separated by a space or dash: ``CNS 0012345`` normalises to ``CNS0012345``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from corridor_core.errors import IdentityError

_SEAL = re.compile(r"^(?P<issuer>[A-Z]{2,4})(?P<serial>\d{5,12})$")


@dataclass(frozen=True)
class Seal:
    """A validated seal id."""

    issuer: str
    serial: str

    @property
    def normalized(self) -> str:
        """Issuer and serial with no separator."""
        return f"{self.issuer}{self.serial}"


def parse_seal(raw: str) -> Seal:
    """Normalise and validate a seal id.

    Raises:
        IdentityError: naming the id and the rule it breaks.
    """
    text = re.sub(r"[\s\-]", "", raw).upper()
    match = _SEAL.match(text)
    if not match:
        raise IdentityError(
            f"seal id {raw!r} must be 2-4 issuer letters and 5-12 digits (e.g. CNS0012345)"
        )
    return Seal(match["issuer"], match["serial"])
