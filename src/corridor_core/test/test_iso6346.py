"""ISO 6346 check digits, validation and OCR-confusion corrections."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corridor_core import iso6346
from corridor_core.errors import IdentityError

KNOWN_GOOD = ["CSQU3054383", "TEXU3070079", "MSKU9070323", "TGHU7654320", "MSCU1234566"]


@pytest.mark.parametrize("number", KNOWN_GOOD)
def test_known_good_numbers_validate(number: str) -> None:
    assert iso6346.validate(number).valid


def test_check_digit_examples_from_the_standard() -> None:
    assert iso6346.check_digit("CSQU305438") == 3
    assert iso6346.check_digit("TEXU307007") == 9


def test_letter_values_skip_multiples_of_eleven() -> None:
    values = iso6346.LETTER_VALUES
    assert values["A"] == 10 and values["B"] == 12 and values["K"] == 21
    assert values["L"] == 23 and values["V"] == 34 and values["Z"] == 38
    assert not any(v % 11 == 0 for v in values.values())


def _weighted_sum(first_ten: str) -> int:
    return sum(
        (iso6346.LETTER_VALUES[c] if c.isalpha() else int(c)) << i for i, c in enumerate(first_ten)
    )


@pytest.mark.parametrize("number", KNOWN_GOOD)
def test_every_detectable_single_character_corruption_is_detected(number: str) -> None:
    """Every single-character corruption is caught, except the standard's two blind spots.

    ISO 6346 cannot see (a) a letter swapped for one whose value differs by a multiple of 11
    (C=13 and M=24), nor (b) a change that moves the weighted sum between residues 0 and 10
    (both give check digit 0). Every undetected corruption must be one of those.
    """
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    undetected = []
    for i, original in enumerate(number):
        for char in alphabet:
            if char == original:
                continue
            corrupted = number[:i] + char + number[i + 1 :]
            if iso6346.validate(corrupted).valid:
                undetected.append(corrupted)
                same_residue = _weighted_sum(corrupted[:10]) % 11 == _weighted_sum(number[:10]) % 11
                aliased = {_weighted_sum(corrupted[:10]) % 11, _weighted_sum(number[:10]) % 11} == {
                    0,
                    10,
                }
                assert same_residue or aliased, corrupted
    assert len(undetected) <= 24, undetected  # a few of the ~385 corruptions of each number


def test_bad_check_digit_names_the_expected_digit() -> None:
    check = iso6346.validate("CSQU3054384")
    assert not check.valid
    assert check.expected_check_digit == 3
    assert "should be 3" in check.reason


def test_format_errors_are_reported() -> None:
    assert "not of the form" in iso6346.validate("CSQ3054383").reason
    assert not iso6346.validate("CSQX3054383").valid  # category must be U, J or Z
    with pytest.raises(IdentityError):
        iso6346.check_digit("12345")


def test_normalise_drops_spaces_and_dashes() -> None:
    assert iso6346.validate("csqu 305438-3").valid


def test_correction_proposed_for_one_confusable_swap() -> None:
    assert iso6346.propose_correction("CSQU3O54383") == "CSQU3054383"  # letter O read for 0


def test_no_correction_for_valid_or_hopeless_numbers() -> None:
    assert iso6346.propose_correction("CSQU3054383") is None
    assert iso6346.propose_correction("CSQU3054384") is None  # no confusable swap fixes it


@pytest.mark.parametrize("number", KNOWN_GOOD)
def test_every_ocr_confusable_swap_is_detected(number: str) -> None:
    for i, char in enumerate(number):
        if char in iso6346.CONFUSABLE:
            swapped = number[:i] + iso6346.CONFUSABLE[char] + number[i + 1 :]
            assert not iso6346.validate(swapped).valid, swapped


def _valid_neighbours(number: str) -> set[str]:
    out = set()
    for i, char in enumerate(number):
        if char in iso6346.CONFUSABLE:
            candidate = number[:i] + iso6346.CONFUSABLE[char] + number[i + 1 :]
            if iso6346.validate(candidate).valid:
                out.add(candidate)
    return out


@given(st.sampled_from(KNOWN_GOOD), st.integers(0, 10), st.sampled_from(sorted(iso6346.CONFUSABLE)))
def test_corrections_are_proposed_only_when_unique(number: str, pos: int, char: str) -> None:
    corrupted = number[:pos] + char + number[pos + 1 :]
    neighbours = _valid_neighbours(corrupted)
    proposal = iso6346.propose_correction(corrupted)
    if iso6346.validate(corrupted).valid or len(neighbours) != 1:
        assert proposal is None
    else:
        assert proposal == next(iter(neighbours))
