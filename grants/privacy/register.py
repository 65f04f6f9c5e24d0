"""The record of processing activities (GDPR article 30) and the privacy notice, both generated from
the inventory and the retention settings: what the notice says is what the code keeps."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext

from grants.privacy.inventory import (
    ACCOUNT,
    ARCHIVES,
    BUNDLE,
    CATEGORY_LABELS,
    INVENTORY,
    PROCESSINGS,
    SETTINGS,
    Processing,
)
from grants.spreadsheet_cells import csv_text


def retention_text(key: str) -> str:
    if key == ACCOUNT:
        return _("tant que le compte est ouvert ; effacé ou pseudonymisé à sa fermeture")
    if key == ARCHIVES:
        days = current_app.config["PRIVACY_RETENTION_DAYS"]
        return _("avec le dossier : pièces supprimées %(refused)s après un refus, %(awarded)s après une "
                 "subvention ; chiffres et décisions conservés (archives publiques)",
                 refused=duration(days["refused_applications"]), awarded=duration(days["awarded_applications"]))
    if key == SETTINGS:
        return "—"
    if key == BUNDLE:
        return _("copie pour la commission, supprimée à l'expiration de son lien (%(duration)s)",
                 duration=duration(max(1, current_app.config["BUNDLE_LIFETIME_SECONDS"] // 86400)))
    return duration(current_app.config["PRIVACY_RETENTION_DAYS"][key])


def duration(days: int) -> str:
    if days >= 365 and days % 365 == 0:
        return ngettext("%(num)d an", "%(num)d ans", days // 365)
    return ngettext("%(num)d jour", "%(num)d jours", days)


@dataclass(frozen=True)
class Activity:
    key: str
    processing: Processing
    tables: list[str]
    categories: list[str]
    retentions: list[str]


def activities() -> list[Activity]:
    found = []
    for key, processing in PROCESSINGS.items():
        tables = [name for name, entry in INVENTORY.items() if entry.processing == key]
        kinds = {kind for name in tables for kind in INVENTORY[name].personal_columns().values()}
        categories = [str(label) for kind, label in CATEGORY_LABELS.items() if kind in kinds]
        retentions = []
        for name in tables:
            text = f"{name} : {retention_text(INVENTORY[name].retention)}"
            retentions.append(text)
        found.append(Activity(key, processing, tables, categories, retentions))
    return found


def register_csv() -> str:
    header = [_("Traitement"), _("Finalité"), _("Base légale"), _("Personnes concernées"),
              _("Catégories de données"), _("Destinataires"), _("Tables"), _("Durées de conservation"),
              _("Responsable"), _("Délégué à la protection des données")]
    grantor = current_app.config.get("GRANTOR_NAME") or ""
    dpo = current_app.config["PRIVACY_DPO_CONTACT"]
    rows = [[str(a.processing.name), str(a.processing.purpose), str(a.processing.basis), str(a.processing.subjects),
             " ; ".join(a.categories), str(a.processing.recipients), ", ".join(a.tables), " ; ".join(a.retentions),
             grantor, dpo] for a in activities()]
    return csv_text(header, rows, delimiter=";", byte_order_mark=True)
