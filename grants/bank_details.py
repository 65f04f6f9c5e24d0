"""Bank details of a payee (IBAN, BIC): checked, stored compact, shown masked.

python-stdnum checks the IBAN's structure per country and its mod-97 check digits, and the BIC's
form. It skips the French RIB key (the two last digits of a French BBAN, over bank, branch and
account), which catches an IBAN built from a wrong RIB: converters compute valid mod-97 check digits
over whatever account number they are given. The key is checked here for French-format IBANs.

Only the edit field shows the full IBAN: every page, export and audit row shows :func:`masked_iban`.
"""

from __future__ import annotations

from flask_babel import gettext as _
from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban
from stdnum.exceptions import ValidationError

from grants.errors import DomainError

IBAN_MAX_LENGTH = 34  # ISO 13616
# IBANs whose BBAN is a French RIB (bank 5, branch 5, account 11, key 2): France and Monaco.
RIB_COUNTRIES = ("FR", "MC")
_RIB_LETTERS = {letter: str(digit) for digits, digit in (
    ("AJ", 1), ("BKS", 2), ("CLT", 3), ("DMU", 4), ("ENV", 5), ("FOW", 6), ("GPX", 7), ("HQY", 8), ("IRZ", 9),
) for letter in digits}


def compact_iban(value: str | None) -> str:
    """``"fr76 3000 6000 …"`` → ``"FR763000…"``: upper case without spaces or dashes."""
    return stdnum_iban.compact(value or "")


def compact_bic(value: str | None) -> str:
    """The BIC upper-cased without spaces."""
    return stdnum_bic.compact(value or "")


def rib_key(bank: str, branch: str, account: str) -> int:
    """The French RIB key: 97 − ((89·bank + 15·branch + 3·account) mod 97), letters as digits."""
    bank, branch, account = ("".join(_RIB_LETTERS.get(char, char) for char in part) for part in (bank, branch, account))
    return 97 - (89 * int(bank) + 15 * int(branch) + 3 * int(account)) % 97


def rib_key_is_valid(iban: str) -> bool:
    """Whether a French-format IBAN's last two digits are the RIB key of its bank, branch and account."""
    bban = iban[4:]
    if len(bban) != 23 or not bban.isalnum() or not bban[21:].isdigit():
        return False
    return rib_key(bban[:5], bban[5:10], bban[10:21]) == int(bban[21:])


def iban_from_rib(bank: str, branch: str, account: str) -> str:
    """The IBAN of a French RIB (bank 5, branch 5, account 11 characters): its key, then the
    mod-97 check digits."""
    bban = f"{bank}{branch}{account}{rib_key(bank, branch, account):02d}"
    return "FR" + stdnum_iban.calc_check_digits("FR00" + bban) + bban


def iban_error(value: str | None) -> str | None:
    """The message explaining why the IBAN is refused, or None when it is valid."""
    number = compact_iban(value)
    if not 15 <= len(number) <= IBAN_MAX_LENGTH or not number.isalnum() or not number[:2].isalpha():
        return _("Un IBAN commence par le code du pays (FR…) et compte de 15 à 34 caractères.")
    try:
        stdnum_iban.validate(number)
    except ValidationError:
        if number.startswith("FR") and len(number) != 27:
            return _("Un IBAN français compte 27 caractères (FR76 suivi de 23 chiffres ou lettres).")
        return _("Cet IBAN n'est pas valide : sa clé de contrôle ne correspond pas. Recopiez-le depuis votre RIB.")
    if number[:2] in RIB_COUNTRIES and not rib_key_is_valid(number):
        return _("Cet IBAN n'est pas valide : la clé RIB (ses deux derniers chiffres) ne correspond pas "
                      "au numéro de compte. Recopiez-le depuis votre RIB.")
    return None


def bic_error(value: str | None) -> str | None:
    """The message explaining why the BIC is refused, or None when it is valid."""
    try:
        stdnum_bic.validate(compact_bic(value))
    except ValidationError:
        return _("Un BIC compte 8 ou 11 lettres et chiffres (ex. BNPAFRPP ou BNPAFRPPXXX).")
    return None


def checked_bank_details(iban: str | None, bic: str | None) -> tuple[str | None, str | None]:
    """The bank details compact, or a DomainError on the field at fault. Keeps: an IBAN that passes
    every check, a BIC only with an IBAN (SEPA payments need the IBAN alone; the BIC is optional)."""
    iban, bic = compact_iban(iban) or None, compact_bic(bic) or None
    if iban and (message := iban_error(iban)):
        raise DomainError(message, field="iban")
    if bic and not iban:
        raise DomainError(_("Indiquez l'IBAN du compte de ce BIC."), field="iban")
    if bic and (message := bic_error(bic)):
        raise DomainError(message, field="bic")
    return iban, bic


def masked_iban(iban: str | None) -> str:
    """``FR7630006000011234567890189`` → ``FR76 •••• •••• •••• •••• •••0 189``: the country and
    check digits, and the last four characters, enough to recognise an account without exposing it."""
    if not iban:
        return ""
    shown = iban[:4] + "•" * max(len(iban) - 8, 0) + iban[max(len(iban) - 4, 4):]
    return " ".join(shown[start:start + 4] for start in range(0, len(shown), 4))
