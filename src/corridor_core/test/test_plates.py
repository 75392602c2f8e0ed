"""Vietnamese and Chinese plates: normal forms and rejections."""

import pytest

from corridor_core.errors import IdentityError
from corridor_core.plates import Country, parse_plate, same_plate


@pytest.mark.parametrize(
    ("raw", "country", "normal"),
    [
        ("12C-123.45", Country.VN, "12C-123.45"),
        ("12c12345", Country.VN, "12C-123.45"),
        ("29LD 1234", Country.VN, "29LD-1234"),
        ("桂F·D3101", Country.CN, "桂F·D3101"),
        ("桂FD3101", Country.CN, "桂F·D3101"),
        ("桂F.12345", Country.CN, "桂F·12345"),
        ("粤Ｂ１２３４５", Country.CN, "粤B·12345"),  # full-width characters
        ("桂A12345D", Country.CN, "桂A·12345D"),  # large new-energy plate
    ],
)
def test_valid_plates_normalise(raw: str, country: Country, normal: str) -> None:
    plate = parse_plate(raw)
    assert plate.country is country
    assert plate.normalized == normal


@pytest.mark.parametrize("raw", ["", "ABC-123", "12I-123.45", "桂I12345", "桂F1234", "1C-123.45"])
def test_invalid_plates_are_rejected_with_the_plate_named(raw: str) -> None:
    with pytest.raises(IdentityError) as info:
        parse_plate(raw)
    assert raw == "" or repr(raw) in str(info.value)


def test_same_plate_compares_normal_forms_and_never_matches_garbage() -> None:
    assert same_plate("桂F·D3101", "桂FD3101")
    assert not same_plate("桂F·D3101", "桂F·D3102")
    assert not same_plate("garbage", "garbage")
