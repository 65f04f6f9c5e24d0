"""SIRET and RNA checks: the error names the rule that failed."""

from __future__ import annotations

import pytest
from stdnum import luhn

from grants.organisations.identifiers import (
    SiretProblem,
    compact_siret,
    normalise_rna,
    rna_is_valid,
    siret_problem,
)


@pytest.mark.parametrize(
    "siret",
    [
        "73282932000074",  # an ordinary SIRET, Luhn over 14 digits
        "732 829 320 00074",  # as printed on an INSEE notice
        "35600000009075",  # a La Poste establishment: digit sum multiple of 5, no Luhn
        "35600000000048",  # La Poste's head office follows Luhn
    ],
)
def test_valid_sirets(siret):
    assert siret_problem(siret) is None


def test_a_wrong_last_digit_fails_the_luhn_check():
    assert siret_problem("73282932000079") is SiretProblem.CHECKSUM


@pytest.mark.parametrize("siret", ["", "7328293200007", "732829320000745", "7328293200007A", "73282932O00074"])
def test_length_and_digits(siret):
    assert siret_problem(siret) is SiretProblem.NOT_14_DIGITS


def test_la_poste_establishments_follow_the_digit_sum_rule():
    assert siret_problem("35600000009076") is SiretProblem.LA_POSTE_RULE
    # Luhn-valid but the digit sum (3+5+6+...+1+5 = 22) is not a multiple of 5: refused.
    body = "3560000000901"
    luhn_valid = body + luhn.calc_check_digit(body)
    assert luhn.is_valid(luhn_valid) and sum(map(int, luhn_valid)) % 5
    assert siret_problem(luhn_valid) is SiretProblem.LA_POSTE_RULE


def test_the_head_office_is_not_checked_by_digit_sum():
    # 35600000000048 has a digit sum of 26: the La Poste rule would refuse it, Luhn accepts it.
    assert sum(map(int, "35600000000048")) % 5 != 0
    assert siret_problem("35600000000048") is None
    # Any other number of the La Poste SIREN is held to the digit-sum rule (sum 27 here).
    assert siret_problem("35600000000049") is SiretProblem.LA_POSTE_RULE


def test_an_invalid_siren_inside_a_luhn_valid_siret():
    siren = "732829321"  # 732829320 with its check digit changed
    assert not luhn.is_valid(siren)
    body = siren + "0007"
    siret = body + luhn.calc_check_digit(body)
    assert luhn.is_valid(siret)
    assert siret_problem(siret) is SiretProblem.SIREN_INVALID


def test_compact_removes_spaces_and_dots():
    assert compact_siret(" 732.829.320 00074 ") == "73282932000074"


def test_rna():
    assert normalise_rna(" w595 012345 ") == "W595012345"
    assert normalise_rna("   ") is None
    assert rna_is_valid("W595012345")
    assert rna_is_valid("W9M1000123")  # older numbers carry a capital letter
    assert not rna_is_valid("595012345")
    assert not rna_is_valid("W59501234")
    assert not rna_is_valid("W59501234x")
