"""Seal identifiers."""

import pytest

from corridor_core.errors import IdentityError
from corridor_core.seals import parse_seal


@pytest.mark.parametrize(("raw", "normal"), [("CNS0012345", "CNS0012345"),
                                              ("cns 0012345", "CNS0012345"),
                                              ("VN-123456789012", "VN123456789012")])  # fmt: skip
def test_valid_seals(raw: str, normal: str) -> None:
    assert parse_seal(raw).normalized == normal


@pytest.mark.parametrize(
    "raw", ["", "C12345", "CNSXY12345", "CNS1234", "CNS1234567890123", "12345CN"]
)
def test_invalid_seals_name_the_id(raw: str) -> None:
    with pytest.raises(IdentityError, match="seal id"):
        parse_seal(raw)
