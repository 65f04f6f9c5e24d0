"""Bank details are checked (python-stdnum, and the French RIB key it skips) and shown masked."""

from __future__ import annotations

import pytest

from grants.bank_details import (
    bic_error,
    checked_bank_details,
    compact_iban,
    iban_error,
    masked_iban,
    rib_key_is_valid,
)
from grants.errors import DomainError
from tests.factories import french_iban

VALID = "FR7630006000011234567890189"


def test_a_french_iban_typed_with_spaces_is_valid_and_kept_compact(app):
    assert compact_iban("fr76 3000 6000 0112 3456 7890 189") == VALID
    assert iban_error("FR76 3000 6000 0112 3456 7890 189") is None
    assert iban_error("DE89 3704 0044 0532 0130 00") is None  # another country's format


@pytest.mark.parametrize(("iban", "words"), [
    ("FR7630006000011234567890188", "clé de contrôle"),  # one digit off: mod 97 fails
    ("FR763000600001123456789018", "27 caractères"),
    ("FR12", "15 à 34 caractères"),
    ("7630006000011234567890189", "15 à 34 caractères"),  # no country code
])
def test_malformed_ibans_are_refused_with_the_reason(app, iban, words):
    assert words in iban_error(iban)


def test_the_rib_key_is_checked_where_the_library_does_not(app):
    wrong_key = french_iban(1, rib_key=0)  # valid mod 97, wrong RIB key
    from stdnum import iban as stdnum_iban
    assert stdnum_iban.is_valid(wrong_key)
    assert not rib_key_is_valid(wrong_key)
    assert "clé RIB" in iban_error(wrong_key)
    assert rib_key_is_valid(french_iban(1)) and iban_error(french_iban(1)) is None


def test_bic_checks(app):
    assert bic_error("BNPAFRPP") is None and bic_error("bnpa fr pp xxx") is None
    assert "8 ou 11" in bic_error("BNPAFRP")


def test_a_bic_needs_an_iban_and_both_come_back_compact(app):
    assert checked_bank_details(" fr76 3000 6000 0112 3456 7890 189 ", "bnpafrpp") == (VALID, "BNPAFRPP")
    assert checked_bank_details("", "") == (None, None)
    with pytest.raises(DomainError) as refused:
        checked_bank_details("", "BNPAFRPP")
    assert refused.value.field == "iban"
    with pytest.raises(DomainError) as refused:
        checked_bank_details(VALID, "BNPAFRP")
    assert refused.value.field == "bic"


def test_the_mask_shows_the_country_and_the_last_four_characters():
    assert masked_iban(VALID) == "FR76 •••• •••• •••• •••• •••0 189"
    assert masked_iban("DE89370400440532013000") == "DE89 •••• •••• •••• ••30 00"
    assert masked_iban(None) == ""
