"""Every column of the database is classified, and every table that holds data about a person is
reached by the export (or says why not)."""

from __future__ import annotations

import csv
import io

from grants.database import db
from grants.privacy.inventory import INVENTORY, PROCESSINGS, Category, Export, unclassified_columns
from grants.privacy.register import register_csv

# Tables with personal data that the export of a person does not walk, and why.
NOT_EXPORTED = {
    "organisations": "a legal person's own data (its contact and bank details), not a member's",
    "reviews": "a reviewer's text about a dossier: exported with the reviewer's assignment, not to the applicant",
    "criterion_scores": "the same, per criterion",
}


def test_every_column_of_the_metadata_is_classified(app):
    # A failure names the columns: add each to grants/privacy/inventory.py with what it holds.
    assert unclassified_columns(db.metadata) == []


def test_a_column_pointing_at_a_user_is_a_person_link(app):
    """A foreign key to users.id links its row to a person: the export follows exactly those."""
    wrong = []
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            points_at_users = any(fk.column.table.name == "users" for fk in column.foreign_keys)
            if points_at_users and INVENTORY[table.name].columns[column.name] != Category.PERSON:
                wrong.append(f"{table.name}.{column.name}")
    assert wrong == []


def test_every_table_about_a_person_is_reached_by_the_export(app):
    unreached = []
    for name, entry in INVENTORY.items():
        if not entry.personal_columns() or name in NOT_EXPORTED:
            continue
        if entry.export == Export.NONE:
            unreached.append(f"{name}: holds personal data and is not exported")
    assert unreached == []
    assert set(NOT_EXPORTED) <= set(INVENTORY)


def test_every_personal_table_belongs_to_a_processing_of_the_record(app):
    missing = [name for name, entry in INVENTORY.items()
               if entry.personal_columns() and entry.processing not in PROCESSINGS]
    assert missing == []


def test_the_record_of_processing_lists_every_processing_and_personal_table(app):
    with app.test_request_context():
        text = register_csv()
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert rows[0][:3] == ["Traitement", "Finalité", "Base légale"]
    assert len(rows) == 1 + len(PROCESSINGS)
    listed = {table.strip() for row in rows[1:] for table in row[6].split(",")}
    assert {name for name, entry in INVENTORY.items() if entry.personal_columns()} <= listed
    assert all("6.1" in row[2] or "art." in row[2] for row in rows[1:])
