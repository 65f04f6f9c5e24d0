"""The kinds of file a required document accepts are FileKind's values, and nothing else: the model
refuses others, the migration converted the file extensions stored before, the pages name them."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from grants.calls.models import FileKind, RequiredDocument, file_kinds_label
from grants.database import db
from tests.conftest import MIGRATIONS
from tests.factories import CallFactory, RequiredDocumentFactory

BEFORE = "5e1c0a7d9b42"  # the revision before 9b7e4c2f1a06 (file kinds, one file per document)


@pytest.mark.parametrize("kinds", [["jpg"], ["pdf", "png"], [], ["PDF"]])
def test_the_model_refuses_anything_but_file_kinds(app, kinds):
    with pytest.raises(ValueError):
        RequiredDocument(name="RIB", accepted_types=kinds)


def test_the_model_keeps_the_kinds_in_one_order(app):
    assert RequiredDocument(name="RIB", accepted_types=["office", "pdf"]).accepted_types == ["pdf", "office"]


def test_the_label_names_each_kind_in_order(app):
    assert file_kinds_label(["image", "pdf"]) == "PDF, Images (JPEG, PNG)"
    assert file_kinds_label(list(FileKind)) == "PDF, Images (JPEG, PNG), Documents bureautiques"


def test_the_migration_turns_stored_extensions_into_kinds(app):
    call = CallFactory()
    documents = [RequiredDocumentFactory(call=call, position=n) for n in range(4)]
    db.session.commit()
    ids = [d.id for d in documents]
    db.session.remove()
    downgrade(directory=MIGRATIONS, revision=BEFORE)
    stored = [["pdf", "jpg", "png"], ["pdf", "xlsx", "ods"], ["odt", "docx"], ["gif", "exe"]]
    with db.engine.begin() as connection:
        for document_id, types in zip(ids, stored, strict=True):
            connection.execute(sa.text("UPDATE required_documents SET accepted_types = :types WHERE id = :id"),
                               {"types": json.dumps(types), "id": document_id})
    upgrade(directory=MIGRATIONS)
    converted = {d.id: d.accepted_types for d in db.session.scalars(sa.select(RequiredDocument))}
    assert [converted[i] for i in ids] == [["pdf", "image"], ["pdf", "office"], ["office"], ["pdf"]]
