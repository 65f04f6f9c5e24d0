"""French identifiers of an organisation: SIRET (with the rule that failed) and RNA.

python-stdnum decides whether a SIRET is valid; this module also says *why* it is not, because
"invalid SIRET" alone sends people to retype fourteen digits at random. The checks follow
``stdnum.fr.siret.validate`` in the same order:

1. fourteen digits (spaces and dots are accepted and removed);
2. La Poste (SIREN 356000000) establishments: the digit sum is a multiple of 5, except the head
   office 35600000000048, which like every other SIRET passes the Luhn check over all 14 digits;
3. the first nine digits form a valid SIREN (Luhn again).
"""

from __future__ import annotations

import re
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from stdnum import luhn
from stdnum.exceptions import ValidationError
from stdnum.fr import siren as stdnum_siren
from stdnum.fr import siret as stdnum_siret

LA_POSTE_SIREN = "356000000"
LA_POSTE_HEAD_OFFICE = "35600000000048"
RNA_PATTERN = re.compile(r"^W[0-9A-Z]{9}$")


class SiretProblem(StrEnum):
    NOT_14_DIGITS = "not_14_digits"
    CHECKSUM = "checksum"  # Luhn over the 14 digits
    LA_POSTE_RULE = "la_poste_rule"  # digit sum not a multiple of 5
    SIREN_INVALID = "siren_invalid"  # the first 9 digits fail their own Luhn check


SIRET_MESSAGES = {
    SiretProblem.NOT_14_DIGITS: _l("Le SIRET doit comporter exactement 14 chiffres (les espaces sont acceptés)."),
    SiretProblem.CHECKSUM: _l(
        "Ce SIRET n'est pas valide : sa clé de contrôle (algorithme de Luhn) ne correspond pas. "
        "Vérifiez chaque chiffre, une inversion est vite arrivée."
    ),
    SiretProblem.LA_POSTE_RULE: _l(
        "Ce SIRET d'un établissement de La Poste n'est pas valide : la somme de ses chiffres doit être "
        "un multiple de 5."
    ),
    SiretProblem.SIREN_INVALID: _l(
        "Les 9 premiers chiffres (le SIREN) ne forment pas un numéro SIREN valide : vérifiez-les "
        "sur votre avis de situation INSEE."
    ),
}


def compact_siret(value: str | None) -> str:
    """The SIRET without its separators: ``"732 829 320 00074"`` → ``"73282932000074"``."""
    return stdnum_siret.compact(value or "")


def siret_problem(value: str | None) -> SiretProblem | None:
    """Which check the SIRET fails, or None when it is valid."""
    number = compact_siret(value)
    if len(number) != 14 or not number.isdigit():
        return SiretProblem.NOT_14_DIGITS
    if number.startswith(LA_POSTE_SIREN) and number != LA_POSTE_HEAD_OFFICE:
        if sum(int(digit) for digit in number) % 5:
            return SiretProblem.LA_POSTE_RULE
    elif not luhn.is_valid(number):
        return SiretProblem.CHECKSUM
    if not stdnum_siren.is_valid(number[:9]):
        return SiretProblem.SIREN_INVALID
    try:
        stdnum_siret.validate(number)  # the library has the last word if it ever adds a rule
    except ValidationError:
        return SiretProblem.CHECKSUM
    return None


def siret_error(value: str | None) -> str | None:
    """The French message naming the failed check, or None for a valid SIRET."""
    problem = siret_problem(value)
    return str(SIRET_MESSAGES[problem]) if problem else None


def normalise_rna(value: str | None) -> str | None:
    """An RNA number upper-cased without spaces; None when left empty (it is optional)."""
    compact = re.sub(r"\s+", "", value or "").upper()
    return compact or None


def rna_is_valid(value: str | None) -> bool:
    """``W`` followed by nine digits or capital letters. The RNA has no checksum."""
    return bool(RNA_PATTERN.match(value or ""))
