"""What the API accepts: the award body and the list parameters, checked field by field.

Amounts are JSON strings with a dot and at most two decimals (``"1500.00"``, ``"1500"``, ``"0.5"``)
or JSON integers (whole euros). JSON numbers with a fraction are refused: a binary float cannot carry
cents exactly, and a finance system should not have its 0.1 + 0.2 rounded for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from flask_babel import gettext as _

from grants.calls.models import BudgetSection
from grants.form_fields import MAX_AMOUNT, MAX_NUMBER_LENGTH

REASON_MAX_LENGTH = 2000
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
_AMOUNT = re.compile(r"[0-9]+(\.[0-9]+)?")
_COUNT = re.compile(r"[0-9]{1,10}")
MAX_OFFSET = 10**9


class InvalidRequest(Exception):
    """The request is malformed; ``fields`` maps each faulty field (or "body") to its message."""

    def __init__(self, fields: dict[str, str]):
        super().__init__(fields)
        self.fields = fields


@dataclass(frozen=True)
class AwardRequest:
    amount: Decimal
    section: BudgetSection
    reason: str
    force_reason: str = ""  # set only with "force": true


def parse_amount(value) -> Decimal:
    """A positive amount in euros with at most two decimals; ValueError with the reason otherwise."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(_("Le montant s'écrit comme une chaîne, par exemple \"1500.00\"."))
    text = str(value)
    if text.startswith("-"):
        raise ValueError(_("Le montant doit être supérieur à zéro."))
    if len(text) > MAX_NUMBER_LENGTH or not _AMOUNT.fullmatch(text):
        raise ValueError(_("Montant illisible : des chiffres et un point décimal, par exemple \"1500.00\"."))
    amount = Decimal(text)
    if amount.as_tuple().exponent < -2:
        raise ValueError(_("Le montant a au plus deux décimales (des centimes)."))
    if amount <= 0:
        raise ValueError(_("Le montant doit être supérieur à zéro."))
    if amount > MAX_AMOUNT:
        raise ValueError(_("Le montant est trop élevé."))
    return amount.quantize(Decimal("0.01"))


def parse_award(body) -> AwardRequest:
    """``{"amount": "1500.00", "section": "fonctionnement", "reason": "…"}``; reason is optional.
    ``"force": true`` with a ``"force_reason"`` awards before the reviews are all in."""
    if not isinstance(body, dict):
        raise InvalidRequest({"body": _("Le corps de la requête doit être un objet JSON (Content-Type: application/json).")})
    fields: dict[str, str] = {}
    for key in sorted(set(body) - {"amount", "section", "reason", "force", "force_reason"}):
        fields[key] = _("Champ inconnu.")
    amount = section = None
    if "amount" not in body:
        fields["amount"] = _("Le montant est obligatoire.")
    else:
        try:
            amount = parse_amount(body["amount"])
        except ValueError as error:
            fields["amount"] = str(error)
    sections = ", ".join(s.value for s in BudgetSection)
    if "section" not in body:
        fields["section"] = _("La section budgétaire est obligatoire (%(sections)s).", sections=sections)
    else:
        try:
            section = BudgetSection(body["section"]) if isinstance(body["section"], str) else None
        except ValueError:
            section = None
        if section is None:
            fields["section"] = _("Section budgétaire inconnue : %(sections)s.", sections=sections)
    reason = body.get("reason", "")
    if not isinstance(reason, str):
        fields["reason"] = _("Le motif est une chaîne de caractères.")
    elif len(reason) > REASON_MAX_LENGTH:
        fields["reason"] = _("Le motif ne doit pas dépasser %(count)d caractères.", count=REASON_MAX_LENGTH)
    force = body.get("force", False)
    force_reason = body.get("force_reason", "")
    if not isinstance(force, bool):
        fields["force"] = _("Un booléen : true ou false.")
    if not isinstance(force_reason, str):
        fields["force_reason"] = _("Le motif est une chaîne de caractères.")
    elif len(force_reason) > REASON_MAX_LENGTH:
        fields["force_reason"] = _("Le motif ne doit pas dépasser %(count)d caractères.", count=REASON_MAX_LENGTH)
    elif force is True and not force_reason.strip():
        fields["force_reason"] = _("Avec « force », dites pourquoi vous décidez avant les évaluations.")
    elif force is not True and force_reason.strip():
        fields["force_reason"] = _("Ce motif n'a de sens qu'avec « force » : true.")
    if fields:
        raise InvalidRequest(fields)
    return AwardRequest(amount=amount, section=section, reason=reason.strip(), force_reason=force_reason.strip())


def parse_page(args) -> tuple[int, int]:
    """``limit`` (1–200, default 50) and ``offset`` (0 or more) from the query string."""
    fields = {}
    values = {}
    for name, default, low, high in (("limit", DEFAULT_LIMIT, 1, MAX_LIMIT), ("offset", 0, 0, MAX_OFFSET)):
        raw = args.get(name)
        if raw is None:
            values[name] = default
            continue
        if not _COUNT.fullmatch(raw) or not low <= int(raw) <= high:
            fields[name] = _("Un entier de %(low)d à %(high)d.", low=low, high=high)
        else:
            values[name] = int(raw)
    if fields:
        raise InvalidRequest(fields)
    return values["limit"], values["offset"]


def parse_choice(args, name: str, choices: type) -> object | None:
    """An optional enum value from the query string (``?state=open``)."""
    raw = args.get(name)
    if raw is None:
        return None
    try:
        return choices(raw)
    except ValueError:
        allowed = ", ".join(c.value for c in choices)
        raise InvalidRequest({name: _("Valeur inconnue ; valeurs possibles : %(values)s.", values=allowed)}) from None
