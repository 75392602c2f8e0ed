"""ISO 6346 container numbers: format, check digit, and OCR-confusion corrections.

A container number is 3 owner letters, 1 category letter (U, J or Z), 6 serial digits and a check
digit: ``CSQU3054383``. Letters take the values A=10, B=12 ... Z=38, skipping multiples of 11;
the i-th of the first ten characters is weighted 2**i; the check digit is (sum mod 11) mod 10.

The check digit catches every single-digit error in the serial except when the sum moves
between residues 0 and 10 (both map to 0), and misses letter swaps whose values differ by 11
(e.g. C=13 and M=24): a failed check is proof of a misread, a passed one is not proof of none.

>>> check_digit("CSQU305438")
3
>>> validate("TEXU3070079").valid
True
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

from corridor_core.errors import IdentityError

_FORMAT = re.compile(r"^[A-Z]{3}[UJZ]\d{6}\d$")
_PREFIX = re.compile(r"^[A-Z]{3}[UJZ]\d{6}$")


def _letter_values() -> dict[str, int]:
    values: dict[str, int] = {}
    value = 10
    for letter in string.ascii_uppercase:
        if value % 11 == 0:
            value += 1
        values[letter] = value
        value += 1
    return values


LETTER_VALUES: dict[str, int] = _letter_values()

# Characters OCR confuses, both ways. Only swaps that keep the format can be proposed.
CONFUSABLE: dict[str, str] = {
    "O": "0",
    "0": "O",
    "I": "1",
    "1": "I",
    "B": "8",
    "8": "B",
    "S": "5",
    "5": "S",
    "Z": "2",
    "2": "Z",
}


@dataclass(frozen=True)
class ContainerCheck:
    """Outcome of checking one container number.

    Attributes:
        number: the input, upper-cased with spaces removed.
        valid: True when the format is right and the check digit matches.
        reason: why it is invalid; empty when valid.
        expected_check_digit: the check digit the first ten characters call for, or None when
            they are not of the ISO 6346 form.
    """

    number: str
    valid: bool
    reason: str
    expected_check_digit: int | None


def normalise(raw: str) -> str:
    """Upper-case and drop spaces, dashes and slashes (``"csqu 305438-3"`` → ``CSQU3054383``)."""
    return re.sub(r"[\s\-/]", "", raw).upper()


def check_digit(first_ten: str) -> int:
    """Return the ISO 6346 check digit of the owner code, category and serial (10 characters).

    Raises:
        IdentityError: when ``first_ten`` is not 3 letters, U/J/Z and 6 digits.
    """
    if not _PREFIX.match(first_ten):
        raise IdentityError(f"container prefix {first_ten!r} must be 3 letters, U/J/Z and 6 digits")
    total = 0
    for i, char in enumerate(first_ten):
        value = LETTER_VALUES[char] if char.isalpha() else int(char)
        total += value << i
    return (total % 11) % 10


def validate(raw: str) -> ContainerCheck:
    """Check a container number's format and check digit; never raises."""
    number = normalise(raw)
    if not _FORMAT.match(number):
        return ContainerCheck(
            number,
            False,
            f"container number {number!r} is not of the form AAAU1234567 "
            "(3 owner letters, category U/J/Z, 6 digits, check digit)",
            check_digit(number[:10]) if _PREFIX.match(number[:10]) else None,
        )
    expected = check_digit(number[:10])
    if int(number[10]) != expected:
        return ContainerCheck(
            number,
            False,
            f"container number {number!r} fails its ISO 6346 check digit "
            f"(is {number[10]}, should be {expected})",
            expected,
        )
    return ContainerCheck(number, True, "", expected)


def with_check_digit(first_ten: str) -> str:
    """Return the full 11-character number for a 10-character prefix."""
    prefix = normalise(first_ten)
    return f"{prefix}{check_digit(prefix)}"


def propose_correction(raw: str) -> str | None:
    """Propose the one valid number that a single OCR-confusable swap makes of ``raw``.

    Tries every single-character swap in :data:`CONFUSABLE` (O/0, I/1, B/8, S/5, Z/2). Returns
    the corrected number when exactly one swap yields a valid number, else None (including when
    ``raw`` is valid already: there is nothing to correct).
    """
    number = normalise(raw)
    if validate(number).valid or len(number) != 11:
        return None
    candidates = {
        number[:i] + CONFUSABLE[c] + number[i + 1 :]
        for i, c in enumerate(number)
        if c in CONFUSABLE
    }
    valid = sorted(c for c in candidates if validate(c).valid)
    return valid[0] if len(valid) == 1 else None
