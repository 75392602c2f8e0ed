"""Vehicle registration plates of Vietnam and China: normalise, classify and validate.

Cross-border trucks keep their home plates, so one lane accepts both grammars; the first
character tells the country (a CJK province abbreviation means China, two digits Vietnam).

Normal forms: Vietnam ``12C-123.45`` (or ``12C-1234`` for old 4-digit serials), China
``桂F·12345`` (province, office letter, middle dot, 5 or 6 characters).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import Enum

from corridor_core.errors import IdentityError

CN_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_CN_LETTER = "A-HJ-NP-Z"
_CN_STD = re.compile(
    rf"^[{CN_PROVINCES}使领][{_CN_LETTER}][{_CN_LETTER}0-9]{{4}}[{_CN_LETTER}0-9挂学警港澳]$"
)
_CN_NEV = re.compile(
    rf"^[{CN_PROVINCES}][{_CN_LETTER}](?:[DF][{_CN_LETTER}0-9]\d{{4}}|\d{{5}}[DF])$"
)
_VN = re.compile(r"^(?P<prov>\d{2})(?P<series>[A-HK-NPR-VX-ZĐ]{1,2})(?P<serial>\d{4,5})$")
_SEPARATORS = re.compile(r"[\s\-.·•・_]")


class Country(Enum):
    """Issuing country of a plate."""

    VN = "VN"
    CN = "CN"


@dataclass(frozen=True)
class Plate:
    """A validated plate in its normal form."""

    country: Country
    normalized: str


def _clean(raw: str) -> str:
    # NFKC folds full-width letters and digits (common in CN systems) to ASCII.
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", raw)).upper()


def parse_plate(raw: str) -> Plate:
    """Normalise and validate a plate read.

    Raises:
        IdentityError: naming the plate and the rule it breaks.
    """
    text = _clean(raw)
    if not text:
        raise IdentityError("plate is empty")
    if text[0] in CN_PROVINCES or text[0] in "使领":
        if _CN_STD.match(text) or _CN_NEV.match(text):
            return Plate(Country.CN, f"{text[:2]}·{text[2:]}")
        raise IdentityError(
            f"plate {raw!r} is not a valid Chinese plate "
            "(province, office letter A-Z without I/O, then 5 characters or 6 for new energy)"
        )
    match = _VN.match(text)
    if match:
        serial = match["serial"]
        serial = f"{serial[:3]}.{serial[3:]}" if len(serial) == 5 else serial
        return Plate(Country.VN, f"{match['prov']}{match['series']}-{serial}")
    raise IdentityError(
        f"plate {raw!r} is neither a Vietnamese plate (12C-123.45) nor a Chinese plate (桂F·12345)"
    )


def same_plate(a: str, b: str) -> bool:
    """True when two plate strings denote the same plate (compared in normal form).

    A plate that is not valid never matches anything, not even the same garbled text.
    """
    try:
        return parse_plate(a) == parse_plate(b)
    except IdentityError:
        return False
